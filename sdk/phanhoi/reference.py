"""Thanh Hóa's default categories (lĩnh vực) and receiving agencies, in one place.

The relay offers these until the central system publishes its own lists
(``GET {central}/intake/v1/reference``, then ``phanhoi-widget reference sync``); the
reference central system publishes exactly these, so the widget and the operator's
page always name things the same way. Codes are stable identifiers; names follow the
2025 reorganisation (e.g. "Thuế tỉnh Thanh Hóa", no longer "Cục Thuế").
"""

from __future__ import annotations

__all__ = ["AGENCIES", "CATEGORIES", "UNKNOWN_AGENCY"]

#: Categories seen in Thanh Hóa's press and in HCMC 1022 (docs/domain.md).
CATEGORIES: tuple[dict[str, str], ...] = (
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
)

#: Receiving agencies, by their names since the 2025 reorganisation (two-tier local government).
AGENCIES: tuple[dict[str, str], ...] = (
    {"code": "ubnd-tinh", "name": "UBND tỉnh Thanh Hóa"},
    {"code": "cong-an-tinh", "name": "Công an tỉnh Thanh Hóa"},
    {"code": "thue-tinh", "name": "Thuế tỉnh Thanh Hóa"},
    {"code": "so-tnmt", "name": "Sở Nông nghiệp và Môi trường"},
    {"code": "so-xd", "name": "Sở Xây dựng"},
    {"code": "so-yte", "name": "Sở Y tế"},
    {"code": "so-gddt", "name": "Sở Giáo dục và Đào tạo"},
    {"code": "ubnd-xa", "name": "UBND xã, phường nơi xảy ra vụ việc"},
)

#: What a citizen picks when they do not know the agency: the provincial system decides.
UNKNOWN_AGENCY: dict[str, str] = {"code": "", "name": "Chưa rõ cơ quan"}
