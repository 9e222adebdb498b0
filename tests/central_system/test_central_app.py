"""The reference central system on its own: intake, duplicates, reference data,
operator pages (escaping, CSRF) and the status events it sends to the relay."""

from __future__ import annotations

import json
import re

import pytest
import responses
from phanhoi.webhooks import sign_headers
from standardwebhooks.webhooks import Webhook

import central_system

RELAY = "http://relay.test"
RELAY_EVENTS = RELAY + "/api/v1/central/events"


def created_body(relay_id="sub-1", title="Rác thải tồn đọng ở chợ", **extra):
    return {
        "type": "submission.created",
        "timestamp": "2026-01-05T08:00:00+00:00",
        "data": {
            "id": relay_id, "tracking_code": "PA7K2M9Q", "category": "moi-truong", "agency": None,
            "title": title, "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ.",
            "location": {"address": "Cổng chợ Vườn Hoa"},
            "submitter": {"name": "Lê Văn A", "phone": "+84912345678", "email": None},
            "confidential": True, "consent": {"version": "v1"},
            "site": {"key": "site_1", "name": "Báo Thanh Hóa"},
            "submitted_at": "2026-01-05T08:00:00+00:00",
            "deadline": "2026-01-22T08:00:00+00:00", "attachments": [], **extra,
        },
    }


def post_signed(client, path, document, secret, msg_id=None):
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = sign_headers(body, secret, msg_id=msg_id)
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def count(central, table):
    import sqlite3

    conn = sqlite3.connect(central.config["DATABASE"])
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_intake_verifies_and_drops_duplicates(client, central, secrets_):
    first = post_signed(client, "/intake/v1/submissions", created_body(), secrets_["intake"],
                        msg_id="msg_a")
    assert first.status_code == 201
    central_id = first.get_json()["central_id"]
    assert first.get_json()["status"] == "received"
    again = post_signed(client, "/intake/v1/submissions", created_body(), secrets_["intake"],
                        msg_id="msg_a")
    assert again.status_code == 200
    assert again.get_json() == {"central_id": central_id, "status": "received", "duplicate": True}
    # The same submission under a new id (an operator replay on the relay) is still one.
    replay = post_signed(client, "/intake/v1/submissions", created_body(), secrets_["intake"],
                         msg_id="msg_b")
    assert replay.get_json()["central_id"] == central_id
    assert count(central, "submissions") == 1


@pytest.mark.parametrize("secret", [None, "whsec_" + "QUJD" * 8])
def test_intake_rejects_bad_signatures(client, central, secrets_, secret):
    body = json.dumps(created_body()).encode()
    headers = sign_headers(body, secret) if secret else {}
    r = client.post("/intake/v1/submissions", data=body,
                    headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert count(central, "submissions") == 0


def test_intake_accepts_the_official_library(client, central, secrets_):
    import datetime as dt

    body = json.dumps(created_body())
    now = dt.datetime.now(dt.UTC)
    signature = Webhook(secrets_["intake"]).sign("msg_official", now, body)
    r = client.post("/intake/v1/submissions", data=body.encode(), headers={
        "webhook-id": "msg_official", "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature, "Content-Type": "application/json"})
    assert r.status_code == 201


def test_intake_validates_the_shape(client, secrets_):
    wrong_type = post_signed(client, "/intake/v1/submissions",
                             {"type": "submission.rated", "data": {}}, secrets_["intake"])
    assert wrong_type.status_code == 400  # authentic, but not a readable submission.rated
    no_data = post_signed(client, "/intake/v1/submissions", {"type": "submission.created"},
                          secrets_["intake"])
    assert no_data.status_code == 400


def test_events_are_stored_once(client, central, secrets_):
    post_signed(client, "/intake/v1/submissions", created_body(), secrets_["intake"])
    rated = {"type": "submission.rated", "timestamp": "2026-01-09T00:00:00+00:00",
             "data": {"submission_id": "sub-1", "satisfied": False, "comment": "Chưa xử lý"}}
    for _ in range(2):
        r = post_signed(client, "/intake/v1/events", rated, secrets_["intake"], msg_id="msg_r")
        assert r.status_code in (200, 201) and r.get_json()["central_id"].startswith("TH-")
    assert count(central, "relay_events") == 1
    bad = client.post("/intake/v1/events", json=rated)
    assert bad.status_code == 401


def test_reference_data(client):
    body = client.get("/intake/v1/reference").get_json()
    assert {"code": "moi-truong", "name": "Môi trường"} in body["categories"]
    assert all(set(a) == {"code", "name"} for a in body["agencies"])


def test_operator_pages_escape_everything(client, secrets_):
    hostile = '<script>alert("x")</script>'
    post_signed(client, "/intake/v1/submissions", created_body(title=hostile), secrets_["intake"])
    listing = client.get("/")
    assert listing.status_code == 200
    assert hostile not in listing.get_data(as_text=True)
    assert "&lt;script&gt;" in listing.get_data(as_text=True)
    assert "default-src 'none'" in listing.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in listing.headers["Content-Security-Policy"]
    central_id = re.search(r"/submissions/(TH-[0-9-]+)", listing.get_data(as_text=True)).group(1)
    detail = client.get(f"/submissions/{central_id}").get_data(as_text=True)
    assert hostile not in detail and "Tiếp nhận" in detail and "Không tiếp nhận" in detail
    assert "<link" in detail and "http" not in detail.split("<main>")[0].replace(
        'name="viewport"', "")
    assert client.get("/submissions/TH-0000-000000").status_code == 404
    with client.get("/static/central.css") as css:
        assert css.status_code == 200


def _token(client, central_id):
    page = client.get(f"/submissions/{central_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _intake(client, secrets_):
    r = post_signed(client, "/intake/v1/submissions", created_body(), secrets_["intake"])
    return r.get_json()["central_id"]


def test_forms_need_a_csrf_token_of_this_session(client, central, secrets_):
    central_id = _intake(client, secrets_)
    url = f"/submissions/{central_id}/actions"
    assert client.post(url, data={"action": "accept"}).status_code == 400
    assert client.post(url, data={"action": "accept", "csrf_token": "forged"}).status_code == 400
    token = _token(client, central_id)
    other = central.test_client()  # another browser: a token from this one is useless there
    assert other.post(url, data={"action": "accept", "csrf_token": token}).status_code == 400


@responses.activate
def test_actions_send_signed_status_events(client, secrets_):
    responses.add(responses.POST, RELAY_EVENTS, json={"received": True, "duplicate": False,
                                                      "applied": True})
    central_id = _intake(client, secrets_)
    url = f"/submissions/{central_id}/actions"
    r = client.post(url, data={"action": "reject", "csrf_token": _token(client, central_id)})
    assert r.status_code == 303 and len(responses.calls) == 0  # a reason is required

    client.post(url, data={"action": "accept", "note": "Giao Sở Xây dựng",
                           "csrf_token": _token(client, central_id)})
    client.post(url, data={"action": "answer", "answer": "Đã thu gom.", "agency": "so-xd",
                           "csrf_token": _token(client, central_id)})
    token = _token(client, central_id)
    # "Công khai kết quả" needs the public text, edited; then the result follows the status.
    client.post(url, data={"action": "publish", "csrf_token": token})
    assert len(responses.calls) == 2
    client.post(url, data={"action": "publish", "csrf_token": token, "public_title": "Rác ở chợ",
                           "public_answer": "Đã thu gom."})
    sent = []
    for call in responses.calls:
        headers = dict(call.request.headers)
        assert headers["Idempotency-Key"] == headers["webhook-id"]
        sent.append(Webhook(secrets_["events"]).verify(call.request.body, headers))
    assert [e["type"] for e in sent] == ["submission.status_changed"] * 3 + ["result.published"]
    assert sent[3]["data"]["title"] == "Rác ở chợ" and sent[3]["data"]["result_id"] == central_id
    assert "name" not in sent[3]["data"] and "phone" not in sent[3]["data"]
    sent = sent[:3]
    assert [(e["data"]["status"], e["data"]["sequence"]) for e in sent] == [
        ("accepted", 1), ("answered", 2), ("published", 3)]
    answered = sent[1]["data"]
    assert answered["submission_id"] == "sub-1" and answered["central_id"] == central_id
    assert answered["answer"] == "Đã thu gom." and answered["agency"] == "Sở Xây dựng"
    assert answered["deadline"] == "2026-01-22T08:00:00+00:00"
    assert sent[2]["data"]["answer"] == "Đã thu gom."
    # Not allowed from "published": nothing is sent.
    client.post(url, data={"action": "accept", "csrf_token": token})
    assert len(responses.calls) == 4


@responses.activate
def test_unsent_events_are_resent_with_the_same_id(client, secrets_):
    responses.add(responses.POST, RELAY_EVENTS, status=503)
    central_id = _intake(client, secrets_)
    r = client.post(f"/submissions/{central_id}/actions", follow_redirects=True,
                    data={"action": "accept", "csrf_token": _token(client, central_id)})
    assert "chưa gửi được" in r.get_data(as_text=True)
    assert "Gửi lại" in r.get_data(as_text=True)
    responses.replace(responses.POST, RELAY_EVENTS, json={"received": True})
    r = client.post(f"/submissions/{central_id}/resend", follow_redirects=True,
                    data={"csrf_token": _token(client, central_id)})
    assert "Đã gửi lại" in r.get_data(as_text=True)
    first, second = (c.request.headers["webhook-id"] for c in responses.calls)
    assert first == second


def test_needs_a_secret_key(tmp_path):
    with pytest.raises(RuntimeError):
        central_system.create_app({"DATABASE": str(tmp_path / "x.sqlite3")})


def test_a_refused_message_is_not_remembered(client, secrets_):
    first = post_signed(client, "/intake/v1/submissions", created_body(title=""), secrets_["intake"],
                        msg_id="msg_fixable")
    assert first.status_code == 422
    fixed = post_signed(client, "/intake/v1/submissions", created_body(), secrets_["intake"],
                        msg_id="msg_fixable")
    assert fixed.status_code == 201
