"""Typed events parsed from webhook bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from phanhoi.errors import WebhookPayloadError
from phanhoi.events import (
    Event,
    SubmissionCreated,
    SubmissionDataRequest,
    SubmissionRated,
    SubmissionStatusChanged,
    parse_event,
)
from phanhoi.models import Attachment, ConsentRecord, Location, SiteRef, Submitter

from tests.sdk import relay_fixtures

TS = 1_740_790_800  # 2025-03-01T01:00:00Z


def body(event_type: str, data: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"type": event_type, "data": data, **extra}, ensure_ascii=False).encode()


def test_submission_created() -> None:
    """The relay's own ``submission.created`` (recorded by tests/contract)."""
    sent = relay_fixtures.load("submission_created")
    data = sent["data"]
    event = parse_event(relay_fixtures.body("submission_created"), msg_id="evt_1", timestamp=TS)
    assert isinstance(event, SubmissionCreated)
    assert event.id == "evt_1" and event.type == "submission.created"
    assert event.timestamp == datetime.fromisoformat(sent["timestamp"])
    assert event.submission_id == data["id"] and event.tracking_code == data["tracking_code"]
    assert event.location == Location(**data["location"])
    assert event.submitter == Submitter(**data["submitter"])
    assert event.consent == ConsentRecord(
        version=data["consent"]["version"],
        text_sha256=data["consent"]["text_sha256"],
        accepted_at=datetime.fromisoformat(data["consent"]["accepted_at"]),
        recipient=data["consent"]["recipient"],
    )
    assert event.consent.accepted is True  # the relay forwards only consented submissions
    assert event.site == SiteRef(data["site"]["key"], data["site"]["name"])
    assert event.deadline == datetime.fromisoformat(data["deadline"])
    assert (event.source_url, event.src, event.via) == (data["source_url"], data["src"], data["via"])
    [attachment] = event.attachments
    assert attachment == Attachment(**data["attachments"][0])
    assert event.data == data


def test_a_consent_record_without_a_version_is_not_consent() -> None:
    data = dict(relay_fixtures.load("submission_created")["data"], consent={"version": ""})
    event = parse_event(body("submission.created", data), msg_id="m", timestamp=TS)
    assert isinstance(event, SubmissionCreated)
    assert event.consent is not None and event.consent.accepted is False


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
    rated_data = relay_fixtures.load("submission_rated")["data"]
    rated = parse_event(relay_fixtures.body("submission_rated"), msg_id="m", timestamp=TS)
    assert isinstance(rated, SubmissionRated)
    assert rated.satisfied is rated_data["satisfied"] and rated.comment == rated_data["comment"]
    assert rated.central_id == rated_data["central_id"]
    assert rated.rated_at == datetime.fromisoformat(rated_data["rated_at"])
    asked = relay_fixtures.load("submission_data_request")["data"]
    request = parse_event(relay_fixtures.body("submission_data_request"), msg_id="m", timestamp=TS)
    assert isinstance(request, SubmissionDataRequest)
    assert request.kind == asked["kind"] and request.tracking_code == asked["tracking_code"]
    assert request.requested_at == datetime.fromisoformat(asked["requested_at"])


def test_status_event_as_the_sdk_sends_it() -> None:
    sent = relay_fixtures.load("status_event")["data"]
    event = parse_event(relay_fixtures.body("status_event"), msg_id="m", timestamp=TS)
    assert isinstance(event, SubmissionStatusChanged)
    assert (event.status, event.sequence, event.answer) == (sent["status"], sent["sequence"], sent["answer"])


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
    with pytest.raises(WebhookPayloadError, match="malformed"):
        parse_event(body(event_type, data), msg_id="m", timestamp=TS)


def test_events_are_frozen() -> None:
    event = parse_event(body("x", {}), msg_id="m", timestamp=TS)
    with pytest.raises(AttributeError):
        event.type = "y"  # type: ignore[misc]


def test_a_body_nested_past_the_stack_is_a_payload_error_not_a_crash() -> None:
    deep = '{"type": "submission.created", "data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(WebhookPayloadError):
        parse_event(deep, msg_id="m", timestamp=TS)
