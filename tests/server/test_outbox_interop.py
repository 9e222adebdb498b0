"""Both directions interoperate with the official ``standardwebhooks`` package."""

from __future__ import annotations

import datetime as dt
import json

import responses
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.helpers import assert_problem
from widget_server.intake import submissions
from widget_server.delivery.destinations import Event
from widget_server.delivery.destinations.central import CentralDestination


def _signed_by_official(secret, msg_id, document):
    body = json.dumps(document, ensure_ascii=False)
    now = dt.datetime.now(dt.UTC)
    return body.encode(), {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        "Content-Type": "application/json",
    }


def test_relay_accepts_events_signed_by_the_official_package(app, client, site, submission_body):
    created = submissions.create_submission(site[0], submission_body, via="api")
    document = {"type": "submission.status_changed", "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                "data": {"submission_id": created["id"], "central_id": "TH-2026-000001",
                         "status": "answered", "note": None, "answer": "Đã xử lý xong.",
                         "agency": "UBND xã", "deadline": None, "sequence": 3,
                         "updated_at": dt.datetime.now(dt.UTC).isoformat()}}
    secret = app.config["CENTRAL_EVENTS_SECRET"]
    body, headers = _signed_by_official(secret, "msg_official_1", document)
    r = client.post("/api/v1/central/events", data=body, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"received": True, "duplicate": False, "applied": True}
    again = client.post("/api/v1/central/events", data=body, headers=headers)
    assert again.get_json()["duplicate"] is True
    status = client.post(f"/api/v1/submissions/{created['tracking_code']}/lookup", json={"contact": "0912345678"})
    assert status.get_json()["answer"]["text"] == "Đã xử lý xong."

    forged_body, forged = _signed_by_official(secret.replace("whsec_", "whsec_AAAA"), "msg_2",
                                              document)
    assert_problem(client.post("/api/v1/central/events", data=forged_body, headers=forged), 401)


@responses.activate
def test_relay_signatures_verify_with_the_official_package(whsec):
    secret = whsec()
    responses.add(responses.POST, "http://c.test/intake/v1/events", json={"central_id": "TH-1"})
    destination = CentralDestination("http://c.test/", secret)
    result = destination.deliver(Event(id="msg_x", type="submission.data_request",
                                       data={"kind": "delete", "note": "Hóa đơn"}))
    assert result.ok and result.remote_id == "TH-1"
    request = responses.calls[0].request
    payload = Webhook(secret).verify(request.body, dict(request.headers))
    assert payload["data"] == {"kind": "delete", "note": "Hóa đơn"}
    tampered = request.body.replace("Hóa".encode(), b"Hoa")
    try:
        Webhook(secret).verify(tampered, dict(request.headers))
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("a tampered body verified")
    destination.close()
