"""Figures the province reports on (SIPAS): received, handled, in progress, late, on time, satisfied.

Aggregates only: no personal data, no submission text. Public per site, so a
newspaper can show "N phản ánh đã được trả lời" beside its banner.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request

from . import db, sites
from .problems import Problem
from .submissions import ANSWERED

bp = Blueprint("stats", __name__, url_prefix="/api/v1")

IN_PROGRESS = {"received", "forwarded", "accepted", "in_progress"}


def compute(site_id: int | None = None, since: dt.datetime | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or db.utcnow()
    s = db.submissions
    query = sa.select(s.c.status, s.c.deadline, s.c.submitted_at, s.c.answered_at, s.c.category,
                      s.c.src, s.c.via, s.c.rating_satisfied, s.c.rated_at)
    if site_id is not None:
        query = query.where(s.c.site_id == site_id)
    if since is not None:
        query = query.where(s.c.submitted_at >= since)
    with db.read() as conn:
        rows = conn.execute(query).all()

    by_status: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    answered = on_time = overdue = rated = satisfied = 0
    days_to_answer: list[float] = []
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
        by_category[r.category] = by_category.get(r.category, 0) + 1
        channel = r.src or r.via
        by_channel[channel] = by_channel.get(channel, 0) + 1
        if r.status in ANSWERED:
            answered += 1
            finished = r.answered_at or now
            if r.deadline is None or finished <= r.deadline:
                on_time += 1
            days_to_answer.append((finished - r.submitted_at).total_seconds() / 86400)
        elif r.status in IN_PROGRESS and r.deadline is not None and now > r.deadline:
            overdue += 1
        if r.rated_at is not None:
            rated += 1
            satisfied += bool(r.rating_satisfied)
    return {
        "since": since.isoformat() if since else None,
        "total": len(rows),
        "by_status": by_status,
        "answered": answered,
        "in_progress": sum(by_status.get(k, 0) for k in IN_PROGRESS),
        "rejected": by_status.get("rejected", 0),
        "overdue": overdue,
        "on_time_rate": round(on_time / answered, 4) if answered else None,
        "median_days_to_answer": round(statistics.median(days_to_answer), 2) if days_to_answer else None,
        "rated": rated,
        "satisfaction_rate": round(satisfied / rated, 4) if rated else None,
        "by_category": by_category,
        "by_channel": by_channel,
    }


def parse_since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("since must be a date, YYYY-MM-DD") from exc
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@bp.get("/sites/<site_key>/stats")
def site_stats(site_key: str) -> Response:
    """Aggregate figures for a site: received, answered, overdue, on-time and satisfaction rates."""
    site = sites.get_site(site_key)
    if site is None:
        raise Problem(404, "Không tìm thấy trang đối tác này.", type="site-not-found")
    try:
        since = parse_since(request.args.get("since"))
    except ValueError as exc:
        raise Problem(422, "Ngày không hợp lệ (YYYY-MM-DD).", type="validation-error",
                      errors={"since": ["Ngày không hợp lệ (YYYY-MM-DD)."]}) from exc
    resp = jsonify(compute(site.id, since))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
