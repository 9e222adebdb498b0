"""The consent to be told of the answer, and the channels a relay offers.

Law 91/2025/QH15 and Decree 356/2025/NĐ-CP want consent per purpose: being told of
the answer is a purpose of its own, so it has its own text and version, apart from
the consent to forward the submission. It is never pre-ticked, it names who sends the
notice (the relay, for the site: the central system is not told of it) and how long
the contact is kept, and it is withdrawn on the track page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

CONSENT_TEXT = (
    "Tôi đồng ý để {site} dùng {contact} tôi đã nhập chỉ để báo cho tôi một tin khi phản ánh "
    "này có kết quả (mã theo dõi và đường dẫn tra cứu, không kèm nội dung trả lời). Thông tin "
    "này không chuyển cho ai khác, được xóa ngay khi đã báo, và chậm nhất sau {days} ngày kể "
    "từ khi hệ thống tỉnh tiếp nhận; tôi có thể rút lại đồng ý này bằng mã theo dõi."
)
CONTACT_WORDS = {("email",): "địa chỉ email", ("sms",): "số điện thoại",
                 ("email", "sms"): "địa chỉ email hoặc số điện thoại"}


@dataclass(frozen=True)
class NotifyConsent:
    version: str
    text: str

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def channels(config: Mapping[str, Any] | None = None) -> list[str]:
    """The channels this relay can send on: email with a mail server, SMS with a gateway."""
    config = config if config is not None else current_app.config
    offered = []
    if config.get("SMTP_URL"):
        offered.append("email")
    if config.get("SMS_URL"):
        offered.append("sms")
    return offered


def consent_for(site_name: str) -> NotifyConsent | None:
    """The notice consent for a site, or None where the relay cannot send notices."""
    offered = tuple(channels())
    if not offered:
        return None
    text = CONSENT_TEXT.format(site=site_name, contact=CONTACT_WORDS[offered],
                               days=current_app.config["PII_RETENTION_DAYS"])
    version = "2026-11." + hashlib.sha256(text.encode()).hexdigest()[:10]
    return NotifyConsent(version=version, text=text)


def public_config(site: Any) -> dict[str, Any]:
    """``notify_channels`` and ``notify_consent`` of the site config (empty and null: no notices)."""
    consent = consent_for(site.name)
    return {
        "notify_channels": channels(),
        "notify_consent": {"version": consent.version, "text": consent.text} if consent else None,
    }
