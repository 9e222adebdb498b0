"""Figures the province reports on (SIPAS): received, handled, in progress, late, on time, satisfied.

Aggregates only: no personal data, no submission text. A site reads its own figures
with its secret key (the console and ``phanhoi-widget stats`` need none); they are
counted from one covering index and kept ``STATS_CACHE_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from typing import Any

import sqlalchemy as sa
from flask import current_app

from widget_server.errors import InvalidError
from widget_server.store import db
from widget_server.vocab import ANSWERED, FIRST_DAY, IN_PROGRESS, LAST_DAY, VN_TIME


def compute(site_id: int | None = None, since: dt.datetime | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """The figures, counted by the database; only answered rows come back, for the median."""
    now = now or db.utcnow()
    s = db.submissions.c
    scope = []
    if site_id is not None:
        scope.append(s.site_id == site_id)
    if since is not None:
        scope.append(s.submitted_at >= since)
    channel = sa.func.coalesce(s.src, sa.case((s.via == "api", "api"), else_="web"))  # as the reach funnel
    with db.read() as conn:
        groups = conn.execute(
            sa.select(s.status, s.category, channel, sa.func.count())
            .where(*scope).group_by(s.status, s.category, channel)).all()
        overdue, rated, satisfied = conn.execute(
            sa.select(
                sa.func.count().filter(s.status.in_(IN_PROGRESS), s.deadline < now),
                sa.func.count(s.rated_at),
                sa.func.count().filter(s.rated_at.is_not(None), s.rating_satisfied.is_(True)),
            ).where(*scope)).one()
        answered_rows = conn.execute(
            sa.select(s.submitted_at, s.answered_at, s.deadline)
            .where(*scope, s.status.in_(ANSWERED))).all()

    by_status: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for status, category, via, n in groups:
        by_status[status] = by_status.get(status, 0) + n
        by_category[category] = by_category.get(category, 0) + n
        by_channel[via] = by_channel.get(via, 0) + n
    on_time = 0
    days_to_answer: list[float] = []
    for r in answered_rows:
        finished = r.answered_at or now
        on_time += r.deadline is None or finished <= r.deadline
        days_to_answer.append((finished - r.submitted_at).total_seconds() / 86400)
    answered = len(answered_rows)
    return {
        "since": since.isoformat() if since else None,
        "total": sum(by_status.values()),
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


def cached(site_id: int | None, since: dt.datetime | None, max_age: float) -> dict[str, Any]:
    """:func:`compute`, counted at most once per ``max_age`` seconds per site and start day.

    Counting a busy site's rows costs seconds; a partner's dashboard asks every few. The
    figures are kept per process (they are aggregates: no personal data is held).
    """
    if max_age <= 0:
        return compute(site_id, since)
    cache, lock = current_app.extensions.setdefault("phanhoi_stats_cache", ({}, threading.Lock()))
    key = (site_id, since)
    now = time.monotonic()
    with lock:
        hit = cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
    figures = compute(site_id, since)
    with lock:
        if len(cache) > 1000:
            cache.clear()
        cache[key] = (now + max_age, figures)
    return figures


def parse_day(value: str | None, field: str = "day") -> dt.date | None:
    """A day given as ``YYYY-MM-DD``, ``FIRST_DAY`` to ``LAST_DAY``; InvalidError naming ``field``
    otherwise (``9999-12-31`` was a 500)."""
    if not value:
        return None
    message = (f"Ngày không hợp lệ (YYYY-MM-DD, từ {FIRST_DAY} đến {LAST_DAY}). / "
               f"Not a date (YYYY-MM-DD, {FIRST_DAY} to {LAST_DAY}).")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidError(message, errors={field: [message]}) from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidError(message, errors={field: [message]})
    return day


def parse_since(value: str | None) -> dt.datetime | None:
    day = parse_day(value, "since")
    if day is None:
        return None
    # 00:00 in Vietnam, as the reach funnel's and the results API's days.
    return dt.datetime(day.year, day.month, day.day, tzinfo=VN_TIME).astimezone(dt.UTC)
