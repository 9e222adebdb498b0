"""The funnel: impressions → opens → submissions → answered → answered on time → satisfied.

Per site, channel and day (Vietnam time, UTC+7). Impressions and opens come from the
beacon counters; the rest from the submissions made that day (a cohort: of the submissions
sent on a day, how many were answered, answered on time, rated satisfied). A submission's
channel is its ``src`` (tv, print, qr…), else ``api`` for a partner's server, else ``web``.
Aggregates only: no personal data, no text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from widget_server.reach import beacons
from widget_server.store import db
from widget_server.vocab import ANSWERED, VN_TIME

STEPS = ("impressions", "opens", "submissions", "answered", "answered_on_time", "satisfied")
FIGURES = (*STEPS, "results_views", "rated")
EVENT_FIGURE = {"impression": "impressions", "open": "opens", "results_view": "results_views"}
#: A period's longest span: a figure for every day is drawn and listed.
MAX_DAYS = 3 * 366


def vn_day(when: dt.datetime) -> str:
    return when.astimezone(VN_TIME).date().isoformat()


def day_start(day: dt.date) -> dt.datetime:
    """00:00 in Vietnam on ``day``, as an aware UTC datetime."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=VN_TIME).astimezone(dt.UTC)


def compute(site_ids: list[int] | None = None, since: dt.date | None = None,
            until: dt.date | None = None, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Rows per (day, site, channel), totals, and the figures per day for trends.

    ``site_ids`` None means every site; ``until`` is inclusive; the default period is the last
    30 days.
    """
    from flask import current_app

    beacons.flush(current_app)  # what this process holds, so a page shows the latest counts
    now = now or db.utcnow()
    until = until or now.astimezone(VN_TIME).date()
    since = since or until - dt.timedelta(days=29)
    check_period(since, until)
    start, end = day_start(since), day_start(until + dt.timedelta(days=1))
    keys = _site_keys(site_ids)
    rows: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for site_id, channel, event, hour, n in beacons.counters(site_ids, start, end):
        rows[(vn_day(hour), keys.get(site_id, "?"), channel)][EVENT_FIGURE[event]] += n
    s = db.submissions.c
    channel_of = sa.func.coalesce(s.src, sa.case((s.via == "api", "api"), else_="web"))
    query = sa.select(s.site_id, channel_of, s.submitted_at, s.status, s.answered_at, s.deadline,
                      s.rating_satisfied, s.rated_at).where(s.submitted_at >= start, s.submitted_at < end)
    if site_ids is not None:
        query = query.where(s.site_id.in_(site_ids))
    with db.read() as conn:
        for site_id, ch, submitted, status, answered_at, deadline, satisfied, rated_at in conn.execute(query):
            row = rows[(vn_day(submitted), keys.get(site_id, "?"), ch)]
            row["submissions"] += 1
            if status in ANSWERED:
                row["answered"] += 1
                row["answered_on_time"] += deadline is None or (answered_at or now) <= deadline
            if rated_at is not None:
                row["rated"] += 1
                row["satisfied"] += bool(satisfied)
    ordered = [{"day": d, "site": k, "channel": c, **v} for (d, k, c), v in sorted(rows.items())]
    return {"since": since.isoformat(), "until": until.isoformat(), "rows": ordered,
            "totals": _sum(ordered), "by_day": _by_day(ordered, since, until),
            "by_channel": _by(ordered, "channel"), "by_site": _by(ordered, "site")}


def _site_keys(site_ids: list[int] | None) -> dict[int, str]:
    query = sa.select(db.sites.c.id, db.sites.c.site_key)
    if site_ids is not None:
        query = query.where(db.sites.c.id.in_(site_ids))
    with db.read() as conn:
        return {i: k for i, k in conn.execute(query).all()}


def _sum(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = {f: sum(r[f] for r in rows) for f in FIGURES}
    total["on_time_rate"] = round(total["answered_on_time"] / total["answered"], 4) if total["answered"] else None
    total["satisfaction_rate"] = round(total["satisfied"] / total["rated"], 4) if total["rated"] else None
    total["open_rate"] = round(total["opens"] / total["impressions"], 4) if total["impressions"] else None
    return total


def _by(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    return [{key: name, **_sum(group)} for name, group in sorted(groups.items())]


def _by_day(rows: list[dict[str, Any]], since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """Every day of the period, empty days included (a chart needs them)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["day"]].append(r)
    days = []
    day = since
    while day <= until:
        days.append({"day": day.isoformat(), **_sum(groups.get(day.isoformat(), []))})
        day += dt.timedelta(days=1)
    return days


def parse_day(value: str | None) -> dt.date | None:
    """A day of a period (``stats.parse_day``: ``FIRST_DAY`` to ``LAST_DAY``, else InvalidError)."""
    from widget_server.intake import stats

    return stats.parse_day(value)


def check_period(since: dt.date | None, until: dt.date | None, *, now: dt.datetime | None = None) -> None:
    """InvalidError for a period longer than ``MAX_DAYS`` (a page of every day since 1900 was
    14 MB); ``until`` defaults to today, as in :func:`compute`."""
    from widget_server.errors import InvalidError

    until = until or (now or db.utcnow()).astimezone(VN_TIME).date()
    if since is not None and (until - since).days >= MAX_DAYS:
        raise InvalidError("Khoảng thời gian dài nhất là 3 năm. / A period is at most 3 years.",
                           errors={"day": ["period"]})
