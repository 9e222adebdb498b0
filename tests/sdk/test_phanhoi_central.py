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
from phanhoi.errors import (
    APIConnectionError,
    AuthenticationError,
    WebhookPayloadError,
    WebhookVerificationError,
)
from phanhoi.events import SubmissionCreated, SubmissionStatusChanged
from phanhoi.webhooks import generate_secret, sign_headers, verify

from tests.sdk import relay_fixtures

RELAY = "https://relay.test"
EVENTS_URL = RELAY + "/api/v1/central/events"
SECRET = generate_secret()

CREATED = relay_fixtures.body("submission_created")
CREATED_DATA = relay_fixtures.load("submission_created")["data"]


def test_seen_ids_bounded() -> None:
    seen = SeenIds(max_size=2)
    seen.add("a")
    assert "a" in seen
    seen.add("b")
    seen.add("c")
    assert "a" not in seen and len(seen) == 2


def test_receive_flags_a_duplicate_only_after_it_was_stored() -> None:
    receiver = IntakeReceiver(SECRET, seen=SeenIds())
    with receiver.receive(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_1")) as msg:
        assert isinstance(msg.event, SubmissionCreated) and msg.duplicate is False
        assert msg.event.tracking_code == CREATED_DATA["tracking_code"]
    # A retry of the same message: fresh timestamp and signature, same id.
    with receiver.receive(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_1")) as msg:
        assert msg.event.id == "evt_1" and msg.duplicate is True
    with receiver.receive(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_2")) as msg:
        assert msg.duplicate is False


def test_a_message_whose_storing_failed_is_not_remembered() -> None:
    seen = SeenIds()
    receiver = IntakeReceiver(SECRET, seen=seen)
    with pytest.raises(RuntimeError):
        with receiver.receive(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_1")) as msg:
            assert not msg.duplicate
            raise RuntimeError("the database is full")
    assert "evt_1" not in seen
    with receiver.receive(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_1")) as msg:
        assert msg.duplicate is False  # the relay's retry is processed, not skipped
    assert "evt_1" in seen


def test_verify_remembers_nothing_and_a_set_is_a_store() -> None:
    store: set[str] = set()
    receiver = IntakeReceiver(SECRET, seen=store)
    event = receiver.verify(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_1"))
    assert event.id == "evt_1" and store == set()
    with receiver.receive(CREATED, sign_headers(CREATED, SECRET, msg_id="evt_1")):
        pass
    assert store == {"evt_1"}


def test_handle_with_a_transactional_callback_and_rotation() -> None:
    store: set[str] = set()

    def mark_seen(msg_id: str) -> bool:
        if msg_id in store:
            return False
        store.add(msg_id)
        return True

    old, new = generate_secret(), generate_secret()
    receiver = IntakeReceiver(f"{new}, {old}", mark_seen=mark_seen)  # the relay's setting format
    receiver.handle(CREATED, sign_headers(CREATED, old, msg_id="m1"))
    _, duplicate = receiver.handle(CREATED, sign_headers(CREATED, new, msg_id="m1"))
    assert duplicate is True and store == {"m1"}
    with pytest.raises(TypeError):
        IntakeReceiver(SECRET).handle(CREATED, sign_headers(CREATED, SECRET))
    with pytest.raises(TypeError, match="seen=SeenIds"):
        IntakeReceiver(SECRET, mark_seen=SeenIds())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        with IntakeReceiver(SECRET).receive(CREATED, sign_headers(CREATED, SECRET)):
            pass


def test_a_forgery_answers_401_and_is_not_remembered() -> None:
    seen = SeenIds()
    receiver = IntakeReceiver(SECRET, seen=seen)
    forged = sign_headers(CREATED, generate_secret(), msg_id="evt_forged")
    with pytest.raises(WebhookVerificationError) as caught:
        with receiver.receive(CREATED, forged):
            pass
    assert caught.value.status_code == 401 and "evt_forged" not in seen
    old = sign_headers(CREATED, SECRET, msg_id="evt_old", timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError) as caught:
        receiver.verify(CREATED, old)
    assert caught.value.status_code == 401
    receiver.verify(CREATED, old, now=int(time.time()) - 3600)


def test_an_authentic_but_unreadable_body_answers_400() -> None:
    body = b'{"type":"submission.created","data":{"tracking_code":"PH-0000-00000"}}'
    with pytest.raises(WebhookPayloadError) as caught:
        IntakeReceiver(SECRET).verify(body, sign_headers(body, SECRET))
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    "secret",
    ["", "whsec_", "whsec_***", "whsec_" + "QUJD", [], f"{generate_secret()},whsec_***"],
)
def test_unusable_secrets_are_refused_when_the_receiver_is_made(secret: str | list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        IntakeReceiver(secret)
    assert "***" not in str(caught.value)
    with pytest.raises(ValueError):
        EventSender(RELAY, secret)


def test_comma_separated_secrets_are_accepted_as_the_relay_writes_them() -> None:
    a, b = generate_secret(), generate_secret()
    receiver = IntakeReceiver(f"{a},{b}")
    receiver.verify(CREATED, sign_headers(CREATED, b))
    assert "whsec" not in repr(receiver)


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
