"""Open311 GeoReport v2, read-only, over published results (https://wiki.open311.org/GeoReport_v2).

Services are the categories (lĩnh vực); requests are published results, all of them
``closed`` with the published answer as ``status_notes``. No personal data ever: no
address beyond the commune's name, no coordinates, no media. The spec's defaults
hold: without dates, the last 90 days; a date range spans at most 90 days; at most
1,000 requests, the most recent first; ``service_request_id`` overrides every other filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from widget_server.errors import InvalidError
from widget_server.results.listing import Names
from widget_server.store import db
from widget_server.store.published import results
from widget_server.vocab import FIRST_DAY, LAST_DAY

MAX_REQUESTS = 1000
WINDOW = dt.timedelta(days=90)
PARAMS = ("service_request_id", "service_code", "start_date", "end_date", "status", "jurisdiction_id")
STATUSES = ("open", "closed")


def services() -> list[dict[str, Any]]:
    names = Names.current()
    return [{"service_code": code, "service_name": name, "description": name, "metadata": False,
             "type": "realtime", "keywords": "", "group": "phản ánh, kiến nghị"}
            for code, name in names.categories.items()]


def _w3c(raw: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        if not FIRST_DAY <= value.date() <= LAST_DAY:  # the 90 days either side must be dates too
            raise ValueError(raw)
    except (ValueError, OverflowError) as exc:
        raise InvalidError(f"{name}: ngày giờ W3C, ví dụ 2026-01-01T00:00:00Z, từ năm {FIRST_DAY.year} "
                           f"đến năm {LAST_DAY.year}.", code="invalid-filter",
                           errors={name: ["W3C datetime"]}) from exc
    return value


def _list(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(",") if p.strip()][:100]


def requests(args: Mapping[str, str], now: dt.datetime | None = None) -> list[dict[str, Any]]:
    unknown = sorted(set(args) - set(PARAMS))
    if unknown:
        raise InvalidError("Tham số không có trong GeoReport v2: " + ", ".join(PARAMS), code="unknown-filter",
                           errors={k[:40]: ["unknown"] for k in unknown[:10]}, allowed=list(PARAMS))
    c = results.c
    requested = sa.func.coalesce(c.received_at, c.sort_at)
    where: list[Any] = [c.withdrawn_at.is_(None)]
    ids = _list(args.get("service_request_id"))
    if ids:
        where.append(c.id.in_(ids))  # overrides every other argument (GeoReport v2)
    else:
        codes = _list(args.get("service_code"))
        if codes:
            where.append(c.category.in_(codes))
        wanted = _list(args.get("status"))
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise InvalidError("status: open, closed.", code="invalid-filter",
                               errors={"status": ["open, closed"]}, allowed=list(STATUSES))
        if wanted and "closed" not in wanted:
            return []  # a published result is closed
        now = now or db.utcnow()
        given_start = _w3c(args["start_date"], "start_date") if args.get("start_date") else None
        end = _w3c(args["end_date"], "end_date") if args.get("end_date") else None
        if given_start is not None:
            start = given_start
            end = end or start + WINDOW
        else:
            start = (end or now) - WINDOW  # the spec's default: the most recent 90 days
        if end is not None and end < start:
            raise InvalidError("end_date: không trước start_date. / Not before start_date.",
                               code="invalid-filter", errors={"end_date": ["not before start_date"]})
        if end is not None and end - start > WINDOW:
            raise InvalidError("Khoảng ngày tối đa 90 ngày (GeoReport v2).", code="invalid-filter",
                               errors={"end_date": ["at most 90 days after start_date"]})
        where.append(requested >= start)
        if end is not None:
            where.append(requested <= end)
    with db.read() as conn:
        rows = conn.execute(sa.select(results).where(*where)
                            .order_by(requested.desc(), c.id.desc()).limit(MAX_REQUESTS)).all()
    names = Names.current()
    return [_request(r, names) for r in rows]


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _request(row: Any, names: Names) -> dict[str, Any]:
    commune = names.choice("communes", row.commune_code)
    agency = names.choice("agencies", row.agency)
    description = row.title + (f"\n\n{row.question}" if row.question else "")
    return {
        "service_request_id": row.id,
        "status": "closed",
        "status_notes": row.answer,
        "service_name": (names.choice("categories", row.category) or {}).get("name"),
        "service_code": row.category,
        "description": description,
        "agency_responsible": agency["name"] if agency else None,
        "service_notice": None,
        "requested_datetime": _iso(row.received_at or row.sort_at),
        "updated_datetime": _iso(row.updated_at),
        "expected_datetime": _iso(row.deadline),
        # The commune's name only: a citizen's street address is personal data.
        "address": commune["name"] if commune else None,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
