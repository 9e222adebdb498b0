"""Input shapes match docs/protocol.md exactly; answers parse leniently and keep raw JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from phanhoi.models import (
    STATUS_LABELS_VI,
    STATUSES,
    ConsentGiven,
    Location,
    SiteConfig,
    SubmissionCreate,
    SubmissionReceipt,
    SubmissionStatus,
    Submitter,
    parse_datetime,
    status_label,
)


def test_submission_shape_matches_design() -> None:
    submission = SubmissionCreate(
        category="moi-truong",
        title="Rác thải tồn đọng ở chợ",
        content="…",
        location=Location(commune_code="16000", address="Chợ", lat=19.80, lon=105.77),
        submitter=Submitter(name="Lê Văn A", phone="0912345678"),
        consent=ConsentGiven(version="v1", accepted=True),
        source_url="https://news.example/bai-viet",
    )
    assert submission.to_dict() == {
        "category": "moi-truong",
        "agency": None,
        "title": "Rác thải tồn đọng ở chợ",
        "content": "…",
        "location": {"commune_code": "16000", "address": "Chợ", "lat": 19.80, "lon": 105.77},
        "submitter": {"name": "Lê Văn A", "phone": "0912345678", "email": None},
        "confidential": True,
        "consent": {"version": "v1", "accepted": True},
        "source_url": "https://news.example/bai-viet",
    }


def test_confidential_by_default_and_no_location() -> None:
    s = SubmissionCreate("c", "t", "x", Submitter("A", email="a@b.vn"), ConsentGiven("v", True))
    assert s.confidential is True
    assert s.to_dict()["location"] is None


def test_consent_accepted_at_only_when_set() -> None:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    assert ConsentGiven("v", True, when).to_dict() == {
        "version": "v",
        "accepted": True,
        "accepted_at": "2025-03-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2025-03-01T08:00:00Z", datetime(2025, 3, 1, 8, tzinfo=UTC)),
        ("2025-03-01T15:00:00+07:00", datetime(2025, 3, 1, 8, tzinfo=UTC)),
        ("2025-03-01T08:00:00", datetime(2025, 3, 1, 8, tzinfo=UTC)),
        ("2025-03-01", datetime(2025, 3, 1, tzinfo=UTC)),
        (date(2025, 3, 1), datetime(2025, 3, 1, tzinfo=UTC)),
    ],
)
def test_parse_datetime(value: object, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


def test_parse_datetime_keeps_offset_and_rejects_garbage() -> None:
    parsed = parse_datetime("2025-03-01T15:00:00+07:00")
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=7)
    with pytest.raises(ValueError):
        parse_datetime("yesterday")
    with pytest.raises(TypeError):
        parse_datetime(12)


def test_status_labels_cover_every_status() -> None:
    assert set(STATUS_LABELS_VI) == set(STATUSES)
    assert status_label("received") == "Đã nhận phản ánh"
    assert status_label("forwarded") == "Đã chuyển tới hệ thống của tỉnh"
    assert status_label("published") == "Đã công khai kết quả"
    assert status_label("something_new") == "something_new"


def test_site_config_tolerates_missing_fields() -> None:
    config = SiteConfig.from_dict({"name": "Báo", "categories": [{"code": "a", "name": "A"}, 3]})
    assert config.locale == "vi"
    assert [c.code for c in config.categories] == ["a"]
    assert config.agencies == [] and config.required_fields == []
    assert config.consent.version == ""


def test_receipt_and_status_keep_raw() -> None:
    receipt = SubmissionReceipt.from_dict({"id": "1", "tracking_code": "C", "new": 1})
    assert receipt.raw["new"] == 1 and receipt.status == "received" and receipt.status_url is None
    status = SubmissionStatus.from_dict({"tracking_code": "C", "status": "in_progress"})
    assert status.history == [] and status.answer is None and status.overdue is False
    assert status.status_label == "Đang xử lý"
