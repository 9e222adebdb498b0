"""Vietnamese (first) and English labels for statuses, shared by the API and the pages."""

from __future__ import annotations

STATUS_LABELS: dict[str, dict[str, str]] = {
    "received": {"vi": "Đã tiếp nhận", "en": "Received"},
    "forwarded": {"vi": "Đã chuyển Hệ thống Phản hồi của tỉnh", "en": "Forwarded to the province"},
    "accepted": {"vi": "Được tiếp nhận xử lý", "en": "Accepted for handling"},
    "rejected": {"vi": "Không tiếp nhận", "en": "Not accepted"},
    "in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "answered": {"vi": "Đã trả lời", "en": "Answered"},
    "published": {"vi": "Đã công khai kết quả", "en": "Result published"},
    "overdue": {"vi": "Quá hạn", "en": "Overdue"},
}


def status_label(status: str, lang: str = "vi") -> str:
    labels = STATUS_LABELS.get(status)
    if not labels:
        return status
    return labels.get(lang, labels["vi"])
