"""Reference data: categories (lĩnh vực), receiving agencies, communes, consent text.

Categories and agencies are data, not code (docs/domain.md): the defaults below are
what Thanh Hóa's press and HCMC 1022 list; a site may offer a subset, and a
central system that publishes its own list replaces them
(``GET {central}/intake/v1/reference``, fetched by ``phanhoi-widget reference sync``
and kept in the database).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from flask import current_app
from phanhoi import reference as phanhoi_reference

from widget_server.intake import hooks, text

# One source for the relay and the reference central system: the SDK's (phanhoi.reference).
DEFAULT_CATEGORIES: list[dict[str, str]] = [dict(c) for c in phanhoi_reference.CATEGORIES]
DEFAULT_AGENCIES: list[dict[str, str]] = [dict(a) for a in phanhoi_reference.AGENCIES]
UNKNOWN_AGENCY = dict(phanhoi_reference.UNKNOWN_AGENCY)

RECIPIENT = "Hệ thống Phản hồi Thanh Hóa (phanhoi.thanhhoa.gov.vn)"

# Law 91/2025/QH15 and Decree 356/2025/NĐ-CP: explicit, informed, per purpose,
# naming the recipient; the version (a hash of the text) is stored with each submission.
CONSENT_TEXT = (
    "Tôi đồng ý để {site} chuyển họ tên, số điện thoại, email, địa chỉ và nội dung "
    "phản ánh này tới {recipient} và cơ quan có thẩm quyền, chỉ để tiếp nhận, xử lý, "
    "trả lời và liên hệ với tôi về phản ánh, kiến nghị này. Dữ liệu cá nhân được xóa "
    "khỏi máy chủ chuyển tiếp sau {days} ngày kể từ khi hệ thống tỉnh tiếp nhận; tôi có "
    "thể rút lại đồng ý hoặc yêu cầu xóa dữ liệu bằng mã theo dõi."
)

LIMITS = {"title_min": 5, "title_max": 200, "content_min": 20, "content_max": 5000,
          "name_max": 100, "address_max": 300}

REQUIRED_FIELDS = ["category", "title", "content", "submitter.name", "submitter.phone|submitter.email",
                   "consent"]


@dataclass(frozen=True)
class Consent:
    version: str
    text: str
    recipient: str

    @cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def consent_for(site_name: str) -> Consent:
    """The consent text a site's form shows, its version and its hash: made once per site name
    and retention setting (every submission names them twice)."""
    return _consent(site_name, current_app.config["PII_RETENTION_DAYS"])


@lru_cache(maxsize=256)
def _consent(site_name: str, days: Any) -> Consent:
    text = CONSENT_TEXT.format(site=site_name, recipient=RECIPIENT, days=days)
    version = "2026-01." + hashlib.sha256(text.encode()).hexdigest()[:10]
    return Consent(version=version, text=text, recipient=RECIPIENT)


@lru_cache(maxsize=64)
def communes(province_code: int) -> tuple[dict[str, str], ...]:
    """Post-1 July 2025 communes and wards of a province (vietnam-provinces, official codes)."""
    from vietnam_provinces import ProvinceCode, Ward

    wards = Ward.iter_by_province(ProvinceCode(province_code))
    # In Vietnamese order (Đ after D, Tân before Trúc), not by code point.
    return tuple(
        sorted(({"code": str(int(w.code)), "name": w.name} for w in wards),
               key=lambda c: text.vi_sort_key(c["name"]))
    )


@lru_cache(maxsize=64)
def province_name(province_code: int) -> str:
    from vietnam_provinces import Province, ProvinceCode

    return Province.from_code(ProvinceCode(province_code)).name


def _subset(all_items: list[dict[str, str]], codes: list[str] | None) -> list[dict[str, str]]:
    wanted = set(codes or ())
    # A site's choice that names nothing in the current list (the central system's codes changed
    # since: ``reference sync`` names such sites) restricts nothing: its form keeps a choice.
    return [item for item in all_items if item["code"] in wanted] or list(all_items)


def categories_for(site: Any) -> list[dict[str, str]]:
    return _subset(current_categories(), site.categories)


def agencies_for(site: Any) -> list[dict[str, str]]:
    return _subset(current_agencies(), site.agencies)


def listed_codes(kind: str) -> list[str]:
    """The codes of the current list of ``kind`` ("categories", "agencies"), in its order."""
    return [item["code"] for item in (current_categories() if kind == "categories" else current_agencies())]


def unknown_codes(kind: str, codes: list[str]) -> list[str]:
    """The codes in ``codes`` that the current list of ``kind`` lacks."""
    known = set(listed_codes(kind))
    return [code for code in codes if code not in known]


def current_categories() -> list[dict[str, str]]:
    return _synced("categories") or DEFAULT_CATEGORIES


def current_agencies() -> list[dict[str, str]]:
    return _synced("agencies") or DEFAULT_AGENCIES


CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ReferenceError(ValueError):
    """The central system's reference lists are missing or malformed."""


def _synced(kind: str) -> list[dict[str, str]] | None:
    """The central system's own list, when ``reference sync`` stored one (cached per process
    while the ``reference`` counter stands: a sync on any host is seen within a second)."""
    from widget_server.store import versions

    return versions.cache("reference_lists", "reference").get(kind, lambda: _load_synced(kind))


def _load_synced(kind: str) -> list[dict[str, str]] | None:
    import sqlalchemy as sa

    from widget_server.store import db

    with db.read() as conn:
        items = conn.execute(
            sa.select(db.reference_lists.c.entries).where(db.reference_lists.c.kind == kind)
        ).scalar_one_or_none()
    return [dict(i) for i in items] if items else None


def _clean_list(items: Any, kind: str) -> list[dict[str, str]]:
    if not isinstance(items, list) or not items or len(items) > 500:
        raise ReferenceError(f"{kind}: expected a non-empty list of at most 500 items")
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise ReferenceError(f"{kind}: every item needs code and name")
        code, name = str(item.get("code") or ""), text.clean(str(item.get("name") or ""))
        if not CODE_PATTERN.match(code) or not name or len(name) > 200 or code in seen:
            raise ReferenceError(f"{kind}: bad or repeated item {code!r}")
        seen.add(code)
        out.append({"code": code, "name": name})
    return out


def sync(central_url: str, *, session: Any = None, timeout: float = 10.0) -> dict[str, int]:
    """Fetch ``GET {central}/intake/v1/reference`` and keep its categories and agencies.

    A central system that publishes its own lists wins over the defaults (docs/domain.md);
    a malformed answer changes nothing.
    """
    import requests
    import sqlalchemy as sa

    from widget_server.store import db

    http = session or requests.Session()
    try:
        resp = http.get(central_url.rstrip("/") + "/intake/v1/reference", timeout=timeout,
                        headers={"Accept": "application/json"})
        resp.raise_for_status()
        data = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise ReferenceError(f"could not fetch the reference lists: {exc}") from exc
    if not isinstance(data, dict):
        raise ReferenceError("expected a JSON object with categories and agencies")
    lists = {kind: _clean_list(data.get(kind), kind) for kind in ("categories", "agencies")}
    now = db.utcnow()
    with db.write() as conn:
        for kind, items in lists.items():
            conn.execute(sa.delete(db.reference_lists).where(db.reference_lists.c.kind == kind))
            conn.execute(sa.insert(db.reference_lists).values(kind=kind, entries=items, updated_at=now))
    return {kind: len(items) for kind, items in lists.items()}


def public_config(site: Any) -> dict[str, Any]:
    """What ``GET /api/v1/sites/{key}/config`` answers and the form pages render from.

    Made once per version of the sites and reference lists in each process; callers read it,
    never change it (it is shared).
    """
    from widget_server.store import versions

    return versions.cache("site_config", "sites", "reference").get(site.key, lambda: _public_config(site))


def _public_config(site: Any) -> dict[str, Any]:
    consent = consent_for(site.name)
    return {
        "site_key": site.key,
        "name": site.name,
        "locale": site.locale,
        "theme": site.theme,
        "province": {"code": site.province_code, "name": province_name(site.province_code)},
        "categories": categories_for(site),
        "agencies": agencies_for(site),
        "unknown_agency": UNKNOWN_AGENCY,
        "communes": list(communes(site.province_code)),
        "required_fields": REQUIRED_FIELDS,
        "consent": {"version": consent.version, "text": consent.text,
                    "recipient": consent.recipient},
        "limits": {**LIMITS,
                   "max_attachments": current_app.config["MAX_ATTACHMENTS"],
                   "max_attachment_bytes": current_app.config["MAX_ATTACHMENT_BYTES"]},
        "min_fill_seconds": current_app.config["MIN_FILL_SECONDS"],
        "altcha": bool(site.altcha),
        "deadline_days": current_app.config["DEADLINE_DAYS"],
        **{k: v for part in hooks.current().config for k, v in part(site).items()},
    }
