"""Categories and agencies the reference central system handles (published at
``GET /intake/v1/reference``; the relay uses them in place of its defaults)."""

CATEGORIES = [
    {"code": "moi-truong", "name": "Môi trường"},
    {"code": "an-toan-thuc-pham", "name": "An toàn thực phẩm"},
    {"code": "ha-tang-ky-thuat", "name": "Hạ tầng kỹ thuật"},
    {"code": "giao-thong", "name": "Giao thông"},
    {"code": "trat-tu-do-thi", "name": "Trật tự đô thị"},
    {"code": "doanh-nghiep", "name": "Vướng mắc của doanh nghiệp"},
    {"code": "thu-tuc-hanh-chinh",
     "name": "Chậm trễ, gây phiền hà, sách nhiễu của cán bộ trong giải quyết thủ tục hành chính"},
    {"code": "khac", "name": "Lĩnh vực khác"},
]

AGENCIES = [
    {"code": "ubnd-tinh", "name": "UBND tỉnh Thanh Hóa"},
    {"code": "cong-an-tinh", "name": "Công an tỉnh"},
    {"code": "thue-tinh", "name": "Thuế tỉnh (Cục Thuế)"},
    {"code": "so-tnmt", "name": "Sở Nông nghiệp và Môi trường"},
    {"code": "so-xd", "name": "Sở Xây dựng"},
    {"code": "ubnd-xa", "name": "UBND xã, phường nơi xảy ra vụ việc"},
]

AGENCY_NAMES = {a["code"]: a["name"] for a in AGENCIES}
CATEGORY_NAMES = {c["code"]: c["name"] for c in CATEGORIES}
