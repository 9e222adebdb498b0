"""The SDK reads what the relay really sends, and the relay takes what the SDK sends.

A submission goes in through ``phanhoi.Client`` to the relay on loopback; the relay's
outbox worker forwards it to a central system built on ``phanhoi.IntakeReceiver``;
status goes back with ``phanhoi.EventSender``; the citizen's lookup, rating and data
request go through the client again. Every body on the way is checked against the
SDK's types, and the JSON files the SDK's unit tests use (tests/sdk/fixtures/relay/)
must have the shape of what the relay sent here. ``PHANHOI_UPDATE_FIXTURES=1`` rewrites
them from this run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import phanhoi
import pytest
import requests
import sqlalchemy as sa
from PIL import Image
from phanhoi import (
    Attachment,
    AttachmentIntegrityError,
    Client,
    ConsentGiven,
    EventSender,
    Location,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionDataRequest,
    SubmissionRated,
    SubmissionReceipt,
    SubmissionStatus,
    SubmissionStatusChanged,
    Submitter,
    generate_secret,
)
from phanhoi.events import parse_event

from .conftest import Central, db, outbox, reference

FIXTURES = Path(__file__).resolve().parents[1] / "sdk" / "fixtures" / "relay"
CODE = re.compile(r"^PH-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{5}$")
PHONE = "0912345678"


def shape(value: Any) -> Any:
    """Keys and JSON types, not values: ids and times differ from run to run."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "null" if value is None else type(value).__name__


def same_as_fixture(name: str, real: Any) -> None:
    path = FIXTURES / f"{name}.json"
    if os.environ.get("PHANHOI_UPDATE_FIXTURES"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(real, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    fixture = json.loads(path.read_text(encoding="utf-8"))
    assert shape(fixture) == shape(real), f"{path.name} is not what the relay sends: update it"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


class Recording(requests.Session):
    """A session that keeps the bodies it sent (to compare what the SDK sends)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("data"):
            self.sent.append(kwargs["data"])
        return super().request(method, url, *args, **kwargs)


def submission(app: Any, site: Any, **overrides: Any) -> SubmissionCreate:
    consent = reference.consent_for(site.name)
    fields: dict[str, Any] = {
        "category": "moi-truong",
        "title": "Rác thải tồn đọng ở chợ",
        "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi hôi thối.",
        "location": Location(address="Cổng chợ Vườn Hoa", lat=19.8, lon=105.77),
        "submitter": Submitter(name="Lê Văn A", phone=PHONE, email="le.van.a@example.vn"),
        "consent": ConsentGiven(version=consent.version, accepted=True),
        "source_url": "https://baothanhhoa.example/bai-viet",
        "src": "print",
    }
    fields.update(overrides)
    return SubmissionCreate(**fields)


def submit(relay: str, site: Any, app: Any, **options: Any) -> SubmissionReceipt:
    with Client(relay, site[0].key, site[1]) as client:
        return client.submit(submission(app, site[0]), **options)


def test_a_forwarded_submission_parses_with_every_field_the_relay_sends(
    app: Any, site: Any, relay: str, central: Central, deliver: Any
) -> None:
    receipt = submit(relay, site, app, files=[("cho.png", png(), "image/png")])
    assert CODE.match(receipt.tracking_code) and receipt.status == "received"
    assert receipt.status_url and receipt.status_url.startswith(relay)
    assert receipt.deadline is not None and receipt.deadline.tzinfo is not None
    same_as_fixture("receipt", receipt.raw)

    assert deliver() == 1
    [message] = central.messages
    assert message.path == "/intake/v1/submissions" and not message.duplicate
    event = message.event
    assert isinstance(event, SubmissionCreated)
    assert event.tracking_code == receipt.tracking_code and event.submission_id == receipt.id

    consent = reference.consent_for(site[0].name)
    assert event.consent is not None
    assert event.consent.accepted is True
    assert event.consent.version == consent.version
    assert event.consent.text_sha256 == hashlib.sha256(consent.text.encode()).hexdigest()
    assert event.consent.matches(consent.text) and not event.consent.matches(consent.text + ".")
    assert event.consent.recipient == consent.recipient
    assert event.consent.accepted_at is not None and event.submitted_at is not None
    assert event.deadline is not None and event.deadline > event.submitted_at
    assert event.source_url == "https://baothanhhoa.example/bai-viet"
    assert (event.src, event.via) == ("print", "api")
    assert event.submitter.email == "le.van.a@example.vn" and event.submitter.phone == "+84912345678"
    assert event.site is not None and event.site.key == site[0].key

    [attachment] = event.attachments
    assert isinstance(attachment, Attachment)
    assert attachment.filename.endswith(".png") and attachment.content_type == "image/png"
    content = attachment.download()  # the relay's signed link, checked against sha256
    assert hashlib.sha256(content).hexdigest() == attachment.sha256 and len(content) == attachment.size
    with pytest.raises(AttachmentIntegrityError):
        attachment.verify(content[:-1] + bytes([content[-1] ^ 1]))
    with pytest.raises(AttachmentIntegrityError):
        attachment.verify(content + b"x")

    same_as_fixture("submission_created", json.loads(message.body))


def test_status_events_lookups_ratings_and_data_requests_round_trip(
    app: Any, site: Any, relay: str, central: Central, deliver: Any
) -> None:
    receipt = submit(relay, site, app)
    deliver()
    session = Recording()
    with EventSender(relay, app.config["CENTRAL_EVENTS_SECRET"], session=session) as sender:
        sender.send_status(receipt.id, "TH-2026-000001", "in_progress", sequence=1,
                           note="Đã giao UBND phường Hạc Thành")
        delivery = sender.send_status(
            receipt.id, "TH-2026-000001", "answered", sequence=2,
            answer="Đã thu gom rác trong ngày.", agency="UBND phường Hạc Thành")
    assert delivery.status_code == 200 and delivery.body["applied"] is True
    sent = json.loads(session.sent[-1])
    status_event = parse_event(sent, msg_id=delivery.msg_id, timestamp=0)
    assert isinstance(status_event, SubmissionStatusChanged) and status_event.sequence == 2
    same_as_fixture("status_event", sent)

    with Client(relay, site[0].key) as client:
        found = client.status(receipt.tracking_code, PHONE)
        assert isinstance(found, SubmissionStatus)
        assert found.status == "answered" and found.can_rate
        assert [h.status for h in found.history] == ["received", "forwarded", "in_progress", "answered"]
        assert found.history[2].note == "Đã giao UBND phường Hạc Thành"
        assert found.answer is not None and found.answer.agency == "UBND phường Hạc Thành"
        assert found.deadline is not None and found.submitted_at is not None
        assert found.status_label == found.raw["status_label"]
        assert (found.consent_withdrawn, found.redacted) == (False, False)
        same_as_fixture("lookup", found.raw)

        rated = client.rate(receipt.tracking_code, PHONE, True, "Cảm ơn")
        assert SubmissionStatus.from_dict(rated).rating is not None
        same_as_fixture("rating_answer", rated)
        answer = client.data_request(receipt.tracking_code, PHONE, "withdraw_consent")
        assert answer["kind"] == "withdraw_consent" and "2 ngày làm việc" in answer["message"]
        same_as_fixture("data_request_answer", answer)

    deliver()
    [rating] = central.of_type("submission.rated")
    assert rating.path == "/intake/v1/events"
    assert isinstance(rating.event, SubmissionRated)
    assert rating.event.satisfied is True and rating.event.comment == "Cảm ơn"
    assert rating.event.central_id == "TH-2026-000001" and rating.event.rated_at is not None
    same_as_fixture("submission_rated", json.loads(rating.body))
    [request] = central.of_type("submission.data_request")
    assert request.path == "/intake/v1/events"
    assert isinstance(request.event, SubmissionDataRequest)
    assert request.event.kind == "withdraw_consent" and request.event.tracking_code == receipt.tracking_code
    same_as_fixture("submission_data_request", json.loads(request.body))


def test_the_sdk_can_end_the_notice_consent_as_the_api_allows(
    app: Any, site: Any, relay: str, central: Central, deliver: Any
) -> None:
    """``withdraw_notify`` is a kind the relay takes (README, data-request): the SDK sends it,
    and nothing goes to the central system."""
    receipt = submit(relay, site, app)
    deliver()
    with Client(relay, site[0].key) as client:
        answer = client.data_request(receipt.tracking_code, PHONE, "withdraw_notify")
    assert answer["kind"] == "withdraw_notify" and answer["tracking_code"] == receipt.tracking_code
    deliver()
    assert central.of_type("submission.data_request") == []


def test_retried_rating_and_data_request_are_applied_once(
    app: Any, site: Any, relay: str, central: Central, deliver: Any
) -> None:
    receipt = submit(relay, site, app)
    deliver()
    with EventSender(relay, app.config["CENTRAL_EVENTS_SECRET"]) as sender:
        sender.send_status(receipt.id, None, "answered", sequence=1, answer="Đã xử lý.")
    with Client(relay, site[0].key) as client:
        # As when the first answer was lost and the call is made again with its key.
        first = client.rate(receipt.tracking_code, PHONE, False, idempotency_key="r-1")
        again = client.rate(receipt.tracking_code, PHONE, False, idempotency_key="r-1")
        assert again["rating"] == first["rating"]
        one = client.data_request(receipt.tracking_code, PHONE, "delete", idempotency_key="d-1")
        two = client.data_request(receipt.tracking_code, PHONE, "delete", idempotency_key="d-1")
        assert one == two
    deliver()
    assert len(central.of_type("submission.rated")) == 1
    assert len(central.of_type("submission.data_request")) == 1


def test_a_message_whose_storing_failed_is_taken_when_the_relay_retries_it(
    app: Any, site: Any, relay: str, central: Central, deliver: Any
) -> None:
    central.fail = 1  # the central system's database refuses the first write
    submit(relay, site, app)
    deliver()
    [row] = outbox.list_rows(db.get_engine(app))
    assert row["state"] == "pending" and central.stored == []
    outbox.retry_rows(db.get_engine(app), [row["id"]])  # due now rather than after the backoff
    deliver()
    assert [m.duplicate for m in central.messages] == [False, False]
    assert central.stored == [central.messages[0].event.id]
    [row] = outbox.list_rows(db.get_engine(app))
    assert row["state"] == "delivered"


def test_a_wrong_secret_pauses_the_destination_instead_of_killing_the_message(
    app: Any, site: Any, relay: str, central: Central, deliver: Any
) -> None:
    right = central.secret
    central.secret = generate_secret()  # the central system was given another secret
    submit(relay, site, app)
    deliver()
    assert central.answers == [401]
    [row] = outbox.list_rows(db.get_engine(app))
    assert row["state"] == "pending"
    [destination] = outbox.list_destinations(db.get_engine(app))
    assert destination["state"] == "paused"
    central.secret = right
    outbox.resume(db.get_engine(app))
    deliver()
    [row] = outbox.list_rows(db.get_engine(app))
    assert row["state"] == "delivered" and central.stored


def test_every_answer_carries_a_request_id(app: Any, relay: str, site: Any) -> None:
    from phanhoi.errors import NotFoundError

    with Client(relay, site[0].key) as client, pytest.raises(NotFoundError) as caught:
        client.status("PH-0000-00000", PHONE)
    assert caught.value.request_id and re.fullmatch(r"[0-9a-f]{32}", caught.value.request_id)
    given = requests.get(relay + "/healthz", headers={"X-Request-Id": "lb-1234abcd"}, timeout=5)
    assert given.headers["X-Request-Id"] == "lb-1234abcd"
    forged = requests.get(relay + "/healthz", headers={"X-Request-Id": "a b\tc"}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-Id"])


@pytest.fixture
def notices(app: Any) -> Any:
    """The relay can send notices by SMS: the site config offers it, with its consent text."""
    app.config["SMS_URL"] = "http://127.0.0.1:9/sms"
    return app


def test_a_notice_of_the_answer_is_asked_with_the_sdk_s_own_types(
    notices: Any, site: Any, relay: str
) -> None:
    """``SiteConfig`` reads the channels and the notice's own consent text; ``NotifyRequest``
    on ``SubmissionCreate`` asks for the notice with that consent; the relay records it."""
    from phanhoi import NotifyRequest
    from widget_server.store.notices import notify_requests

    with Client(relay, site[0].key, site[1]) as client:
        config = client.site_config()
        assert config.notify_channels == ["sms"]
        assert config.notify_consent is not None and "số điện thoại" in config.notify_consent.text
        ask = NotifyRequest(by="sms", consent=ConsentGiven(version=config.notify_consent.version, accepted=True))
        receipt = client.submit(submission(notices, site[0], notify=ask))
        with pytest.raises(phanhoi.UnprocessableEntityError) as refused:  # a channel not offered
            client.submit(submission(notices, site[0], notify=NotifyRequest(
                by="email", consent=ConsentGiven(version=config.notify_consent.version, accepted=True))))
    assert "notify" in json.dumps(refused.value.problem.errors)
    with notices.app_context(), db.read() as conn:
        [row] = conn.execute(sa.select(notify_requests.c.channel, notify_requests.c.consent_version)).all()
    assert (row.channel, row.consent_version) == ("sms", config.notify_consent.version)
    assert receipt.tracking_code
