"""Reference data: categories (lĩnh vực), receiving agencies, communes, consent text.

Categories and agencies are data, not code (DOMAIN.md): the defaults below are
what Thanh Hóa's press and HCMC 1022 list; a site may offer a subset, and a
central system that publishes its own list replaces them
(``GET {central}/intake/v1/reference``, fetched by ``phanhoi-widget reference sync``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app

DEFAULT_CATEGORIES: list[dict[str, str]] = [
    {"code": "moi-truong", "name": "Môi trường"},
    {"code": "an-toan-thuc-pham", "name": "An toàn thực phẩm"},
    {"code": "ha-tang-ky-thuat", "name": "Hạ tầng kỹ thuật"},
    {"code": "giao-thong", "name": "Giao thông"},
    {"code": "trat-tu-do-thi", "name": "Trật tự đô thị"},
    {"code": "cap-thoat-nuoc", "name": "Cấp, thoát nước"},
    {"code": "chieu-sang-cay-xanh", "name": "Chiếu sáng, cây xanh"},
    {"code": "dien-luc-vien-thong", "name": "Điện lực, viễn thông"},
    {"code": "dat-dai-xay-dung", "name": "Đất đai, xây dựng"},
    {"code": "y-te-giao-duc", "name": "Y tế, giáo dục"},
    {"code": "an-ninh-trat-tu", "name": "An ninh, trật tự"},
    {"code": "thue", "name": "Thuế"},
    {"code": "doanh-nghiep", "name": "Vướng mắc của doanh nghiệp"},
    {
        "code": "thu-tuc-hanh-chinh",
        "name": "Chậm trễ, gây phiền hà, sách nhiễu của cán bộ trong giải quyết thủ tục hành chính",
    },
    {"code": "khac", "name": "Lĩnh vực khác"},
]

DEFAULT_AGENCIES: list[dict[str, str]] = [
    {"code": "ubnd-tinh", "name": "UBND tỉnh Thanh Hóa"},
    {"code": "cong-an-tinh", "name": "Công an tỉnh"},
    {"code": "thue-tinh", "name": "Thuế tỉnh (Cục Thuế)"},
    {"code": "so-tnmt", "name": "Sở Nông nghiệp và Môi trường"},
    {"code": "so-xd", "name": "Sở Xây dựng"},
    {"code": "so-yte", "name": "Sở Y tế"},
    {"code": "so-gddt", "name": "Sở Giáo dục và Đào tạo"},
    {"code": "ubnd-xa", "name": "UBND xã, phường nơi xảy ra vụ việc"},
]

UNKNOWN_AGENCY = {"code": "", "name": "Chưa rõ cơ quan"}

RECIPIENT = "Hệ thống Phản hồi Thanh Hóa (phanhoi.thanhhoa.gov.vn)"

# Law 91/2025/QH15 and Decree 356/2025/NĐ-CP: explicit, informed, per purpose,
# naming the recipient; the version (a hash of the text) is stored with each submission.
CONSENT_TEXT = (
    "Tôi đồng ý để {site} chuyển họ tên, số điện thoại, email, địa chỉ và nội dung "
    "phản ánh này tới {recipient} và cơ quan có thẩm quyền, chỉ để tiếp nhận, xử lý, "
    "trả lời và liên hệ với tôi về phản ánh, kiến nghị này. Dữ liệu cá nhân được xoá "
    "khỏi máy chủ chuyển tiếp sau {days} ngày kể từ khi hệ thống tỉnh tiếp nhận; tôi có "
    "thể rút lại đồng ý hoặc yêu cầu xoá dữ liệu bằng mã theo dõi."
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

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def consent_for(site_name: str) -> Consent:
    days = current_app.config["PII_RETENTION_DAYS"]
    text = CONSENT_TEXT.format(site=site_name, recipient=RECIPIENT, days=days)
    version = "2026-01." + hashlib.sha256(text.encode()).hexdigest()[:10]
    return Consent(version=version, text=text, recipient=RECIPIENT)


@lru_cache(maxsize=64)
def communes(province_code: int) -> tuple[dict[str, str], ...]:
    """Post-1 July 2025 communes and wards of a province (vietnam-provinces, official codes)."""
    from vietnam_provinces import ProvinceCode, Ward

    wards = Ward.iter_by_province(ProvinceCode(province_code))
    return tuple(
        sorted(({"code": str(int(w.code)), "name": w.name} for w in wards),
               key=lambda c: c["name"])
    )


@lru_cache(maxsize=64)
def province_name(province_code: int) -> str:
    from vietnam_provinces import Province, ProvinceCode

    return Province.from_code(ProvinceCode(province_code)).name


def _subset(all_items: list[dict[str, str]], codes: list[str] | None) -> list[dict[str, str]]:
    if not codes:
        return list(all_items)
    wanted = set(codes)
    return [item for item in all_items if item["code"] in wanted]


def categories_for(site: Any) -> list[dict[str, str]]:
    return _subset(current_categories(), site.categories)


def agencies_for(site: Any) -> list[dict[str, str]]:
    return _subset(current_agencies(), site.agencies)


def current_categories() -> list[dict[str, str]]:
    return _synced("categories") or DEFAULT_CATEGORIES


def current_agencies() -> list[dict[str, str]]:
    return _synced("agencies") or DEFAULT_AGENCIES


def _synced(kind: str) -> list[dict[str, str]] | None:
    """The central system's own list, when `reference sync` stored one in the instance folder."""
    import os

    path = os.path.join(current_app.instance_path, "reference.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    items = data.get(kind)
    if isinstance(items, list) and all(isinstance(i, dict) and "code" in i and "name" in i
                                       for i in items):
        return [{"code": str(i["code"]), "name": str(i["name"])} for i in items]
    return None


def public_config(site: Any) -> dict[str, Any]:
    """What ``GET /api/v1/sites/{key}/config`` answers and the form pages render from."""
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
    }
