"""Typed events parsed from webhook bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from phanhoi.errors import WebhookVerificationError
from phanhoi.events import (
    Event,
    SubmissionCreated,
    SubmissionDataRequest,
    SubmissionRated,
    SubmissionStatusChanged,
    parse_event,
)
from phanhoi.models import ConsentGiven, Location, SiteRef, Submitter

TS = 1_740_790_800  # 2025-03-01T01:00:00Z


def body(event_type: str, data: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"type": event_type, "data": data, **extra}, ensure_ascii=False).encode()


def test_submission_created() -> None:
    event = parse_event(
        body(
            "submission.created",
            {
                "id": "sub_01",
                "tracking_code": "TH7K-Q2MX",
                "category": "moi-truong",
                "agency": None,
                "title": "Rác",
                "content": "Nội dung",
                "location": {"commune_code": "16000", "address": "Chợ", "lat": 19.8, "lon": 105.7},
                "submitter": {"name": "Lê Văn A", "phone": "+84912345678", "email": None},
                "confidential": True,
                "consent": {
                    "version": "v1",
                    "accepted": True,
                    "accepted_at": "2025-03-01T01:00:00Z",
                },
                "site": {"key": "site_1", "name": "Báo Thanh Hóa"},
                "submitted_at": "2025-03-01T01:00:00Z",
                "attachments": [{"filename": "a.jpg", "size": 10}],
            },
            timestamp="2025-03-01T01:00:05Z",
        ),
        msg_id="evt_1",
        timestamp=TS,
    )
    assert isinstance(event, SubmissionCreated)
    assert event.id == "evt_1" and event.type == "submission.created"
    assert event.timestamp == datetime(2025, 3, 1, 1, 0, 5, tzinfo=UTC)
    assert event.submission_id == "sub_01"
    assert event.location == Location("16000", "Chợ", 19.8, 105.7)
    assert event.submitter == Submitter("Lê Văn A", "+84912345678", None)
    assert event.consent == ConsentGiven("v1", True, datetime(2025, 3, 1, 1, tzinfo=UTC))
    assert event.site == SiteRef("site_1", "Báo Thanh Hóa")
    assert event.attachments == ({"filename": "a.jpg", "size": 10},)
    assert event.data["tracking_code"] == "TH7K-Q2MX"


def test_status_changed_accepts_answer_object() -> None:
    event = parse_event(
        body(
            "submission.status_changed",
            {
                "submission_id": "sub_01",
                "central_id": 123,
                "status": "answered",
                "answer": {"text": "Đã xử lý", "agency": "UBND"},
                "sequence": 5,
            },
        ),
        msg_id="m",
        timestamp=TS,
    )
    assert isinstance(event, SubmissionStatusChanged)
    assert event.central_id == "123" and event.answer == "Đã xử lý" and event.sequence == 5
    assert event.timestamp == datetime.fromtimestamp(TS, tz=UTC)  # header fallback
    assert event.deadline is None and event.note is None


def test_rated_and_data_request() -> None:
    rated = parse_event(
        body(
            "submission.rated",
            {
                "submission_id": "s",
                "central_id": "c",
                "tracking_code": "T",
                "satisfied": True,
                "comment": None,
                "rated_at": "2025-03-06T00:00:00Z",
            },
        ),
        msg_id="m",
        timestamp=TS,
    )
    assert isinstance(rated, SubmissionRated) and rated.satisfied is True
    request = parse_event(
        body(
            "submission.data_request",
            {
                "submission_id": "s",
                "central_id": None,
                "tracking_code": "T",
                "kind": "withdraw_consent",
                "requested_at": "2025-03-07T00:00:00Z",
            },
        ),
        msg_id="m",
        timestamp=TS,
    )
    assert isinstance(request, SubmissionDataRequest)
    assert request.kind == "withdraw_consent" and request.central_id is None
    assert request.requested_at == datetime(2025, 3, 7, tzinfo=UTC)


def test_unknown_type_is_generic_event() -> None:
    event = parse_event(body("submission.future", {"x": 1}), msg_id="m", timestamp=TS)
    assert type(event) is Event and event.type == "submission.future" and event.data == {"x": 1}


def test_bad_timestamp_falls_back_to_header() -> None:
    event = parse_event(body("x", {}, timestamp="not a date"), msg_id="m", timestamp=TS)
    assert event.timestamp == datetime.fromtimestamp(TS, tz=UTC)


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("submission.created", {"tracking_code": "T"}),
        ("submission.created", {"id": None, "tracking_code": "T"}),
        ("submission.status_changed", {"submission_id": "s", "status": "x", "sequence": "1"}),
        ("submission.status_changed", {"submission_id": "s", "status": "x", "sequence": True}),
        ("submission.rated", {"submission_id": "s", "satisfied": "yes"}),
        ("submission.data_request", {"submission_id": "s"}),
        ("submission.status_changed", {"submission_id": "s", "status": "x", "deadline": "soon"}),
    ],
)
def test_malformed_known_events(event_type: str, data: dict[str, object]) -> None:
    with pytest.raises(WebhookVerificationError, match="malformed"):
        parse_event(body(event_type, data), msg_id="m", timestamp=TS)


def test_events_are_frozen() -> None:
    event = parse_event(body("x", {}), msg_id="m", timestamp=TS)
    with pytest.raises(AttributeError):
        event.type = "y"  # type: ignore[misc]
