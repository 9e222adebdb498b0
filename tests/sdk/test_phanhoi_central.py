"""IntakeReceiver (verify + duplicates) and EventSender (signed, retried events)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import requests
import responses
import standardwebhooks
from phanhoi.central import Delivery, EventSender, IntakeReceiver, SeenIds
from phanhoi.errors import APIConnectionError, AuthenticationError, WebhookVerificationError
from phanhoi.events import SubmissionCreated, SubmissionStatusChanged
from phanhoi.webhooks import generate_secret, sign_headers, verify

RELAY = "https://relay.test"
EVENTS_URL = RELAY + "/api/v1/central/events"
SECRET = generate_secret()

CREATED = json.dumps(
    {
        "type": "submission.created",
        "timestamp": "2025-03-01T01:00:00Z",
        "data": {
            "id": "sub_01",
            "tracking_code": "TH7K-Q2MX",
            "category": "moi-truong",
            "agency": None,
            "title": "Rác thải tồn đọng ở chợ",
            "content": "…",
            "location": {"commune_code": "16000", "address": None, "lat": None, "lon": None},
            "submitter": {"name": "Lê Văn A", "phone": "+84912345678", "email": None},
            "confidential": True,
            "consent": {"version": "2025-07", "accepted": True},
            "site": {"key": "site_1", "name": "Báo Thanh Hóa"},
            "submitted_at": "2025-03-01T01:00:00Z",
            "attachments": [],
        },
    },
    ensure_ascii=False,
).encode()


def test_seen_ids_bounded() -> None:
    seen = SeenIds(max_size=2)
    assert seen("a") is True
    assert seen("a") is False
    assert seen("b") is True and seen("c") is True
    assert "a" not in seen and len(seen) == 2
    assert seen("a") is True


def test_receiver_accepts_then_flags_duplicate() -> None:
    seen = SeenIds()
    receiver = IntakeReceiver(SECRET, mark_seen=seen)
    headers = sign_headers(CREATED, SECRET, msg_id="evt_1")
    event, duplicate = receiver.handle(CREATED, headers)
    assert isinstance(event, SubmissionCreated)
    assert event.tracking_code == "TH7K-Q2MX" and duplicate is False
    # A retry of the same message: fresh timestamp and signature, same id.
    retry = sign_headers(CREATED, SECRET, msg_id="evt_1")
    event2, duplicate2 = receiver.handle(CREATED, retry)
    assert event2.id == "evt_1" and duplicate2 is True
    _, other = receiver.handle(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_2"))
    assert other is False


def test_receiver_with_caller_store_and_rotation() -> None:
    store: set[str] = set()

    def mark_seen(msg_id: str) -> bool:
        if msg_id in store:
            return False
        store.add(msg_id)
        return True

    old, new = generate_secret(), generate_secret()
    receiver = IntakeReceiver([new, old], mark_seen=mark_seen)
    receiver.handle(CREATED, sign_headers(CREATED, old, msg_id="m1"))
    receiver.handle(CREATED, sign_headers(CREATED, new, msg_id="m2"))
    assert store == {"m1", "m2"}


def test_receiver_rejects_forgery_without_marking() -> None:
    seen = SeenIds()
    receiver = IntakeReceiver(SECRET, mark_seen=seen)
    forged = sign_headers(CREATED, generate_secret(), msg_id="evt_forged")
    with pytest.raises(WebhookVerificationError):
        receiver.handle(CREATED, forged)
    assert "evt_forged" not in seen
    old = sign_headers(CREATED, SECRET, msg_id="evt_old", timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        receiver.handle(CREATED, old)
    receiver.handle(CREATED, old, now=int(time.time()) - 3600)


def test_send_status_body_and_signature(mocked: responses.RequestsMock) -> None:
    mocked.post(EVENTS_URL, json={"ok": True})
    with EventSender(RELAY + "/", SECRET) as sender:
        delivery = sender.send_status(
            "sub_01",
            "TH-2025-001",
            "answered",
            sequence=4,
            note="Đã có kết quả",
            answer="Đã thu gom rác.",
            agency="UBND phường Hạc Thành",
            deadline=date(2025, 3, 18),
            updated_at=datetime(2025, 3, 5, 3, 30),
            msg_id="evt_central_9",
        )
    assert delivery == Delivery("evt_central_9", 200, {"ok": True})
    request = mocked.calls[0].request
    body = request.body
    assert isinstance(body, bytes)
    headers = dict(request.headers)
    assert headers["Idempotency-Key"] == "evt_central_9"
    assert headers["Content-Type"] == "application/json"
    # Verifiable by the reference library and by our own verifier.
    standardwebhooks.Webhook(SECRET).verify(body, headers)
    event = verify(body, headers, SECRET)
    assert isinstance(event, SubmissionStatusChanged)
    assert event.id == "evt_central_9"
    assert event.status == "answered"
    assert event.sequence == 4
    assert event.answer == "Đã thu gom rác."
    vn = timezone(timedelta(hours=7))
    assert event.deadline == datetime(2025, 3, 18, 23, 59, 59, tzinfo=vn)
    assert event.updated_at == datetime(2025, 3, 5, 3, 30, tzinfo=UTC)
    assert json.loads(body)["data"]["deadline"] == "2025-03-18T23:59:59+07:00"


def test_retries_keep_msg_id_with_fresh_signature(
    mocked: responses.RequestsMock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = itertools.count(1_750_000_000, 30)
    monkeypatch.setattr(time, "time", lambda: float(next(clock)))
    mocked.post(EVENTS_URL, body=requests.ConnectionError("reset"))
    mocked.post(EVENTS_URL, status=503, headers={"Retry-After": "2"})
    mocked.post(EVENTS_URL, status=202, body=b"")
    sender = EventSender(RELAY, SECRET)
    delivery = sender.send_status("sub_01", None, "in_progress", sequence=2)
    calls = [c.request for c in mocked.calls]
    assert len(calls) == 3
    assert {r.headers["webhook-id"] for r in calls} == {delivery.msg_id}
    assert {r.headers["Idempotency-Key"] for r in calls} == {delivery.msg_id}
    assert len({r.headers["webhook-timestamp"] for r in calls}) == 3
    assert len({r.headers["webhook-signature"] for r in calls}) == 3
    assert len({r.body for r in calls}) == 1  # the body itself never changes
    for r in calls:
        verify(r.body or b"", dict(r.headers), SECRET, now=int(r.headers["webhook-timestamp"]))
    assert sleeps == pytest.approx([0.1, 2.0])
    assert delivery.status_code == 202 and delivery.body is None


def test_new_msg_id_per_logical_send(mocked: responses.RequestsMock) -> None:
    mocked.post(EVENTS_URL, json={})
    mocked.post(EVENTS_URL, json={})
    sender = EventSender(RELAY, SECRET)
    a = sender.send_status("s", None, "accepted", sequence=1)
    b = sender.send_status("s", None, "accepted", sequence=1)
    assert a.msg_id != b.msg_id and a.msg_id.startswith("msg_")


def test_rotation_signs_with_every_secret(mocked: responses.RequestsMock) -> None:
    mocked.post(EVENTS_URL, json={})
    old, new = generate_secret(), generate_secret()
    EventSender(RELAY, [old, new]).send_status("s", None, "accepted", sequence=1)
    request = mocked.calls[0].request
    assert len(request.headers["webhook-signature"].split()) == 2
    verify(request.body or b"", dict(request.headers), old)


def test_sender_errors(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.post(EVENTS_URL, status=401, json={"title": "bad signature", "status": 401})
    sender = EventSender(RELAY, SECRET, max_retries=1)
    with pytest.raises(AuthenticationError):
        sender.send_status("s", None, "accepted", sequence=1)
    mocked.post(EVENTS_URL, body=requests.ConnectionError("down"))
    mocked.post(EVENTS_URL, body=requests.ConnectionError("down"))
    with pytest.raises(APIConnectionError):
        sender.send_status("s", None, "accepted", sequence=1)


@pytest.mark.parametrize(
    ("status", "sequence"), [("done", 1), ("answered", -1), ("answered", 0), ("answered", True)]
)
def test_send_status_validation(status: str, sequence: int) -> None:
    with pytest.raises(ValueError):
        EventSender(RELAY, SECRET).send_status("s", None, status, sequence=sequence)
