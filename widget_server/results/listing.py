"""The list of published results: filters, search, paging, one result; public fields only."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from widget_server.errors import InvalidError, NotFoundError
from widget_server.intake import reference, sites, text
from widget_server.results.cache import public_cache
from widget_server.store import db
from widget_server.store.published import results
from widget_server.vocab import FIRST_DAY, LAST_DAY, VN_TIME

#: The filters a list takes; anything else is refused with this list (400, ``unknown-filter``).
FILTERS = ("site", "category", "agency", "commune", "q", "since", "until", "page", "per_page")
PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
MAX_QUERY = 100  # characters of free text; longer is refused, not cut
PROVINCE = 38  # Thanh Hóa: the communes a result names (sites carry their own province code)


@dataclass(frozen=True)
class Query:
    site: sites.Site | None = None
    category: str | None = None
    agency: str | None = None
    commune: str | None = None
    q: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def key(self) -> str:
        return repr(replace(self, site=None)) + (self.site.key if self.site else "")


def invalid(name: str, message: str, allowed: list[str] | None = None) -> InvalidError:
    details = {"allowed": allowed} if allowed is not None else {}
    return InvalidError(message, code="invalid-filter", errors={name: [message]}, **details)


def _int(args: Mapping[str, str], name: str, default: int, hi: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= hi:
        raise invalid(name, f"{name}: một số nguyên từ 1 đến {hi}.", [f"1…{hi}"])
    return int(raw)


def day_arg(args: Mapping[str, str], name: str) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == 10 else bad_day(name)
    except ValueError:
        return bad_day(name)
    return day if FIRST_DAY <= day <= LAST_DAY else bad_day(name)


def bad_day(name: str) -> dt.date:
    raise invalid(name, f"{name}: ngày dạng YYYY-MM-DD, từ {FIRST_DAY} đến {LAST_DAY}.", ["YYYY-MM-DD"])


def parse(args: Mapping[str, str], *, site: sites.Site | None = None,
          also: tuple[str, ...] = ()) -> Query:
    """Request arguments → a ``Query``; unknown names and values are refused with the allowed ones.

    ``also`` names arguments a caller handles itself (a page's ``lang``); ``site`` is the
    page's own site, which the ``site`` argument may not contradict.
    """
    unknown = sorted(set(args) - set(FILTERS) - set(also))
    if unknown:
        message = "Không có bộ lọc này. Các bộ lọc: " + ", ".join(FILTERS) + "."
        raise InvalidError(message, code="unknown-filter", errors={k[:40]: [message] for k in unknown[:10]},
                           allowed=list(FILTERS))
    value = {k: (args.get(k) or "").strip() for k in ("site", "category", "agency", "commune")}
    if value["site"]:
        site = sites.get_site(value["site"][:64])
        if site is None:
            raise invalid("site", "Không có trang đối tác với mã này.")
    facets_ = facets()
    for name in ("category", "agency", "commune"):
        allowed = facets_[name]
        if value[name] and value[name] not in allowed:
            raise invalid(name, f"{name}: giá trị không có trong danh sách.", sorted(allowed))
    q = text.clean(args.get("q") or "")
    if len(q) > MAX_QUERY:
        raise invalid("q", f"Từ khóa tối đa {MAX_QUERY} ký tự.")
    since, until = day_arg(args, "since"), day_arg(args, "until")
    if since and until and since > until:
        raise invalid("until", "until: không trước since.")
    return Query(site=site, category=value["category"] or None, agency=value["agency"] or None,
                 commune=value["commune"] or None, q=q or None, since=since, until=until,
                 page=_int(args, "page", 1, MAX_PAGE),
                 per_page=_int(args, "per_page", PER_PAGE, MAX_PER_PAGE))


def _bounds(day: dt.date, *, end: bool) -> dt.datetime:
    # Days are Vietnam's days (UTC+7): "until 2026-11-29" includes that whole day there.
    start = dt.datetime(day.year, day.month, day.day, tzinfo=VN_TIME)
    return (start + dt.timedelta(days=1) if end else start).astimezone(dt.UTC)



_WORD = re.compile(r"[^\W_]+")


def words(value: str) -> list[str]:
    """Folded words (letters and digits): case, tone placement and diacritics do not matter."""
    return _WORD.findall(text.fold(value))


def conditions(query: Query) -> list[Any]:
    c = results.c
    where: list[Any] = [c.withdrawn_at.is_(None)]
    if query.site is not None:
        where.append(c.site_id == query.site.id)
    if query.category:
        where.append(c.category == query.category)
    if query.agency:
        where.append(c.agency == query.agency)
    if query.commune:
        where.append(c.commune_code == query.commune)
    if query.since:
        where.append(c.sort_at >= _bounds(query.since, end=False))
    if query.until:
        where.append(c.sort_at < _bounds(query.until, end=True))
    if query.q and not words(query.q):
        where.append(sa.false())  # only punctuation: no word of any result is made of it
    for word in words(query.q or "")[:10]:
        # Each word matches from the start of a word, with or without diacritics. Searched as
        # data: LIKE's own wildcards are escaped (and never survive ``words`` anyway).
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(c.search_key.like(f"% {escaped}%", escape="\\"))
    return where


def search(query: Query) -> dict[str, Any]:
    """One page of results, newest answer first, with the paging figures."""
    where = conditions(query)
    with db.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(results).where(*where)).scalar_one()
        rows = conn.execute(
            sa.select(results).where(*where)
            .order_by(results.c.sort_at.desc(), results.c.id.desc())
            .limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
        site_names = _site_names(conn, {r.site_id for r in rows})
    names = Names.current()
    return {
        "items": [public(r, names, site_names) for r in rows],
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
        "pages": math.ceil(total / query.per_page) if total else 0,
    }


def get(result_id: str) -> dict[str, Any]:
    with db.read() as conn:
        # No id is longer than 100 characters: a longer one is none, not its first 100's result.
        row = None if len(result_id) > 100 else conn.execute(sa.select(results).where(
            results.c.id == result_id, results.c.withdrawn_at.is_(None))).one_or_none()
        if row is None:
            raise NotFoundError("Không có kết quả công khai với mã này.", code="result-not-found")
        site_names = _site_names(conn, {row.site_id})
    return public(row, Names.current(), site_names)


def _site_names(conn: Any, ids: set[int | None]) -> dict[int, tuple[str, str]]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = conn.execute(sa.select(db.sites.c.id, db.sites.c.site_key, db.sites.c.name)
                        .where(db.sites.c.id.in_(wanted))).all()
    return {r.id: (r.site_key, r.name) for r in rows}


@dataclass(frozen=True)
class Names:
    """Codes → names for categories, agencies and communes (the central system's lists win)."""

    categories: dict[str, str]
    agencies: dict[str, str]
    communes: dict[str, str]

    @classmethod
    def current(cls) -> Names:
        return cls({c["code"]: c["name"] for c in reference.current_categories()},
                   {a["code"]: a["name"] for a in reference.current_agencies()},
                   {c["code"]: c["name"] for c in reference.communes(PROVINCE)})

    def choice(self, kind: str, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        table: dict[str, str] = getattr(self, kind)
        return {"code": code, "name": table.get(code, code)}


def agency_key(value: str | None) -> str | None:
    """An agency as the central system names it → its code when known, else the name itself."""
    if not value:
        return None
    folded = text.fold(value)
    for agency in reference.current_agencies():
        if value == agency["code"] or folded == text.fold(agency["name"]):
            return agency["code"]
    return value


def days_between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 86400, 1)


def public(row: Any, names: Names, site_names: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """A result as every public output shows it: nothing here names or reaches a citizen."""
    on_time = None if row.answered_at is None or row.deadline is None else row.answered_at <= row.deadline
    site = site_names.get(row.site_id) if row.site_id else None
    return {
        "id": row.id,
        "title": row.title,
        "question": row.question,
        "answer": row.answer,
        "category": names.choice("categories", row.category),
        "agency": names.choice("agencies", row.agency),
        "commune": names.choice("communes", row.commune_code),
        "received_at": row.received_at,
        "answered_at": row.answered_at,
        "deadline": row.deadline,
        "on_time": on_time,
        "days_to_answer": days_between(row.received_at, row.answered_at),
        "published_at": row.published_at,
        "updated_at": row.updated_at,
        "url": row.url,
        "site": {"key": site[0], "name": site[1]} if site else None,
    }


def facets() -> dict[str, dict[str, str]]:
    """What each filter accepts, code → name: the known lists and whatever results name."""
    return public_cache().get("facets", _facets)


def present() -> dict[str, dict[str, str]]:
    """The values published results actually have, code → name (a page's short lists)."""
    return public_cache().get("present", _present)


def _present() -> dict[str, dict[str, str]]:
    names = Names.current()
    out: dict[str, dict[str, str]] = {"category": {}, "agency": {}, "commune": {}}
    c = results.c
    with db.read() as conn:
        for name, kind, column in (("category", "categories", c.category), ("agency", "agencies", c.agency),
                                   ("commune", "communes", c.commune_code)):
            for (value,) in conn.execute(sa.select(column).where(
                    column.is_not(None), c.withdrawn_at.is_(None)).distinct()):
                out[name][value] = getattr(names, kind).get(value, value)
    return out


def _facets() -> dict[str, dict[str, str]]:
    names = Names.current()
    known = {"category": dict(names.categories), "agency": dict(names.agencies),
             "commune": dict(names.communes)}
    for name, values in present().items():
        known[name].update(values)
    return known
