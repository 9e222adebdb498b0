"""Who answers, and on time: per agency and per category, over published results.

The basis is said beside the figures ("theo kết quả đã công khai"): only what the
province published counts, so a PAKN still being handled is not in it. On time means
answered no later than the deadline (QĐ 05/2020/QĐ-UBND: 17 days to receive, answer and
publish); results without a deadline or an answer date count as answered but not in
the rate. Satisfaction is known only where the citizen rated the answer on the relay.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from widget_server.errors import InvalidError
from widget_server.intake import sites
from widget_server.results.listing import Names, day_arg, days_between, invalid
from widget_server.store import db
from widget_server.store.published import results
from widget_server.vocab import VN_TIME

BASIS = ("Theo kết quả đã công khai (Based on published results): đúng hạn = trả lời không muộn "
         "hơn hạn xử lý; số ngày = từ khi tiếp nhận đến khi trả lời; mức hài lòng chỉ tính các "
         "phản ánh người dân đã đánh giá.")
DEFAULT_DAYS = 365
FILTERS = ("site", "since", "until")


def parse(args: dict[str, str], *, also: tuple[str, ...] = ()) -> tuple[sites.Site | None, dt.date, dt.date]:
    unknown = sorted(set(args) - set(FILTERS) - set(also))
    if unknown:
        message = "Không có bộ lọc này. Các bộ lọc: " + ", ".join(FILTERS) + "."
        raise InvalidError(message, code="unknown-filter", errors={k[:40]: [message] for k in unknown[:10]},
                           allowed=list(FILTERS))
    site = None
    if (args.get("site") or "").strip():
        site = sites.get_site(args["site"].strip()[:64])
        if site is None:
            raise invalid("site", "Không có trang đối tác với mã này.")
    today = dt.datetime.now(VN_TIME).date()
    until = day_arg(args, "until") or today
    since = day_arg(args, "since") or until - dt.timedelta(days=DEFAULT_DAYS)
    if since > until:
        raise invalid("until", "until: không trước since.")
    return site, since, until


def _group(rows: Sequence[Any]) -> dict[str, Any]:
    timed = [r for r in rows if r.answered_at is not None and r.deadline is not None]
    on_time = sum(1 for r in timed if r.answered_at <= r.deadline)
    days = [d for r in rows if (d := days_between(r.received_at, r.answered_at)) is not None]
    rated = [r.rating_satisfied for r in rows if r.rating_satisfied is not None]
    return {
        "answered": len(rows),
        "with_deadline": len(timed),
        "on_time": on_time,
        "on_time_rate": round(on_time / len(timed), 4) if timed else None,
        "median_days": round(statistics.median(days), 1) if days else None,
        "rated": len(rated),
        "satisfaction_rate": round(sum(rated) / len(rated), 4) if rated else None,
    }


def compute(site: sites.Site | None, since: dt.date, until: dt.date) -> dict[str, Any]:
    c = results.c
    start = dt.datetime(since.year, since.month, since.day, tzinfo=VN_TIME)
    end = dt.datetime(until.year, until.month, until.day, tzinfo=VN_TIME) + dt.timedelta(days=1)
    where = [c.withdrawn_at.is_(None), c.sort_at >= start, c.sort_at < end]
    if site is not None:
        where.append(c.site_id == site.id)
    with db.read() as conn:
        rows = conn.execute(
            sa.select(c.agency, c.category, c.received_at, c.answered_at, c.deadline,
                      db.submissions.c.rating_satisfied)
            .select_from(results.outerjoin(db.submissions, db.submissions.c.id == c.submission_id))
            .where(*where)).all()
    names = Names.current()

    def table(kind: str, attr: str) -> list[dict[str, Any]]:
        groups: dict[str, list[Any]] = {}
        for r in rows:
            groups.setdefault(getattr(r, attr) or "", []).append(r)
        out = []
        for code, members in groups.items():
            choice = names.choice(kind, code) or {"code": "", "name": "Chưa rõ"}
            out.append({**choice, **_group(members)})
        # Ranked by on-time rate (unknown last), then by how many were answered.
        out.sort(key=lambda g: (g["on_time_rate"] is None, -(g["on_time_rate"] or 0), -g["answered"],
                                g["name"]))
        return out

    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "site": site.key if site else None,
        "basis": BASIS,
        "total": _group(rows),
        "agencies": table("agencies", "agency"),
        "categories": table("categories", "category"),
    }
