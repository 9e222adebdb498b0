"""Lookup by code + contact, status events from the central system, ratings, data requests."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from phanhoi.webhooks import sign_headers
from tests.helpers import assert_problem
from widget_server import config
from widget_server.store import db


@pytest.fixture
def created(client, site, submission_body):
    _, secret = site
    submission_body["submitter"]["email"] = "le.van.a@example.vn"
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "k"})
    assert r.status_code == 201
    return r.get_json()


def send_event(client, app, data, *, msg_id=None, secret=None):
    body = json.dumps({"type": "submission.status_changed",
                       "timestamp": dt.datetime.now(dt.UTC).isoformat(), "data": data}).encode()
    secret = secret or config.secret_list(app.config["CENTRAL_EVENTS_SECRET"])[0]
    headers = sign_headers(body, secret, msg_id=msg_id)
    return client.post("/api/v1/central/events", data=body,
                       headers={**headers, "Content-Type": "application/json"})


def event(created, status, sequence, **extra):
    return {"submission_id": created["id"], "central_id": "TH-2026-0001", "status": status,
            "note": None, "answer": None, "agency": None, "deadline": None,
            "sequence": sequence, "updated_at": dt.datetime.now(dt.UTC).isoformat(), **extra}


def lookup(client, code, contact):
    return client.post("/api/v1/submissions/" + code + "/lookup", json={"contact": contact})


@pytest.mark.parametrize("contact", ["0912345678", "+84 912 345 678", "0912.345.678",
                                     "le.van.a@example.vn", "LE.VAN.A@EXAMPLE.VN"])
def test_lookup_with_the_contact_given(client, created, contact):
    r = lookup(client, created["tracking_code"], contact)
    assert r.status_code == 200
    body = r.get_json()
    assert body["tracking_code"] == created["tracking_code"]
    assert body["status"] == "received" and body["status_label"] == "Đã nhận phản ánh"
    assert [h["status"] for h in body["history"]] == ["received"]
    assert body["answer"] is None and body["overdue"] is False
    assert r.headers["Cache-Control"] == "no-store"


def test_lookup_accepts_a_code_typed_loosely(client, created):
    code = created["tracking_code"].lower().replace("-", " ")
    assert lookup(client, code, "0912345678").status_code == 200


def test_wrong_code_and_wrong_contact_look_the_same(client, created):
    wrong_contact = lookup(client, created["tracking_code"], "0987654321")
    # A well-formed code of no submission (a mistyped one gets its own answer: test_codes.py).
    from widget_server.intake import codes

    wrong_code = lookup(client, codes.generate(), "0912345678")
    a = assert_problem(wrong_contact, 404, "submission-not-found")
    b = assert_problem(wrong_code, 404, "submission-not-found")
    assert {k: v for k, v in a.items() if k != "instance"} == \
        {k: v for k, v in b.items() if k != "instance"}


def test_lookup_needs_a_contact(client, created):
    problem = assert_problem(client.post("/api/v1/submissions/" + created["tracking_code"] + "/lookup", json={}), 422)
    assert "contact" in problem["errors"]


def test_an_unknown_data_request_kind_names_the_kinds_there_are(client, created):
    problem = assert_problem(client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                                         json={"contact": "0912345678", "kind": "erase"}), 422)
    [message] = problem["errors"]["kind"]
    assert "withdraw_consent" in message and "delete" in message and "withdraw_notify" in message


def test_status_events_update_status_history_and_answer(app, client, created):
    assert send_event(client, app, event(created, "accepted", 1)).status_code == 200
    assert send_event(client, app, event(created, "in_progress", 2, note="Đã giao UBND phường")).status_code == 200
    r = send_event(client, app, event(created, "answered", 3, answer="Đã thu gom rác trong ngày 28/11.",
                                       agency="UBND phường Hạc Thành"))
    assert r.get_json() == {"received": True, "duplicate": False, "applied": True}
    body = lookup(client, created["tracking_code"], "0912345678").get_json()
    assert body["status"] == "answered"
    assert [h["status"] for h in body["history"]] == ["received", "accepted", "in_progress", "answered"]
    assert body["history"][2]["note"] == "Đã giao UBND phường"
    assert body["answer"]["text"] == "Đã thu gom rác trong ngày 28/11."
    assert body["answer"]["agency"] == "UBND phường Hạc Thành"
    assert body["can_rate"] is True


def test_duplicate_event_ids_are_dropped(app, client, created):
    first = send_event(client, app, event(created, "accepted", 1), msg_id="msg_same")
    again = send_event(client, app, event(created, "rejected", 2), msg_id="msg_same")
    assert first.get_json()["applied"] is True
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert lookup(client, created["tracking_code"], "0912345678").get_json()["status"] == "accepted"


def test_older_sequence_does_not_overwrite_newer(app, client, created):
    send_event(client, app, event(created, "in_progress", 5))
    r = send_event(client, app, event(created, "accepted", 4))
    assert r.status_code == 200 and r.get_json()["applied"] is False
    body = lookup(client, created["tracking_code"], "0912345678").get_json()
    assert body["status"] == "in_progress"
    assert [h["status"] for h in body["history"]] == ["received", "in_progress"]


def test_central_deadline_replaces_the_default(app, client, created):
    deadline = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(microsecond=0)
    send_event(client, app, event(created, "accepted", 1, deadline=deadline.isoformat()))
    body = lookup(client, created["tracking_code"], "0912345678").get_json()
    assert dt.datetime.fromisoformat(body["deadline"]) == deadline
    assert body["overdue"] is True


@pytest.mark.parametrize("field, value", [
    ("deadline", "0001-01-01T00:00:00+14:00"),  # before year 1 in UTC
    ("updated_at", "9999-12-31T23:00:00-12:00"),  # after year 9999 in UTC
    ("deadline", "9999-12-31T23:59:59+00:00"),  # no overdue count could add to it
])
def test_event_dates_outside_the_calendar_are_refused(app, client, created, field, value):
    problem = assert_problem(send_event(client, app, event(created, "accepted", 1, **{field: value})), 422)
    assert "data." + field in problem["errors"]
    assert lookup(client, created["tracking_code"], "0912345678").get_json()["status"] == "received"


@pytest.mark.parametrize("tamper", ["body", "secret", "old", "missing"])
def test_bad_signatures_are_refused(app, client, created, tamper, whsec):
    data = event(created, "accepted", 1)
    body = json.dumps({"type": "submission.status_changed", "data": data}).encode()
    secret = config.secret_list(app.config["CENTRAL_EVENTS_SECRET"])[0]
    ts = None
    if tamper == "old":
        ts = int(dt.datetime.now(dt.UTC).timestamp()) - 3600
    headers = sign_headers(body, whsec() if tamper == "secret" else secret, timestamp=ts)
    if tamper == "body":
        body = body.replace(b"accepted", b"rejected")
    if tamper == "missing":
        del headers["webhook-signature"]
    r = client.post("/api/v1/central/events", data=body,
                    headers={**headers, "Content-Type": "application/json"})
    assert_problem(r, 401, "invalid-signature")
    assert lookup(client, created["tracking_code"], "0912345678").get_json()["status"] == "received"


def test_event_for_an_unknown_submission_is_404(app, client, created):
    data = event(created, "accepted", 1)
    data["submission_id"] = "00000000-0000-0000-0000-000000000000"
    assert_problem(send_event(client, app, data), 404)


def test_event_with_an_unknown_status_is_422(app, client, created):
    assert_problem(send_event(client, app, event(created, "lost", 1)), 422)


def rate(client, code, **body):
    return client.post(f"/api/v1/submissions/{code}/rating", json=body)


def test_rating_only_after_an_answer_and_once(app, client, created):
    code = created["tracking_code"]
    r = rate(client, code, contact="0912345678", satisfied=True)
    assert_problem(r, 409, "rating-not-allowed")
    send_event(client, app, event(created, "answered", 1, answer="Đã xử lý."))
    r = rate(client, code, contact="0912345678", satisfied=False, comment="Chưa triệt để")
    assert r.status_code == 200
    assert r.get_json()["rating"]["satisfied"] is False and r.get_json()["can_rate"] is False
    assert_problem(rate(client, code, contact="0912345678", satisfied=True), 409)
    with db.read() as conn:
        rated = conn.execute(sa.select(db.outbox).where(db.outbox.c.event_type == "submission.rated")).one()
    assert rated.payload["data"]["satisfied"] is False
    assert rated.payload["data"]["tracking_code"] == code


def test_rating_with_a_wrong_contact_is_404(app, client, created):
    send_event(client, app, event(created, "answered", 1, answer="Đã xử lý."))
    assert_problem(rate(client, created["tracking_code"], contact="0987654321", satisfied=True), 404)


def _forwarded(created):
    """As when the worker has delivered the submission to the central system."""
    with db.write() as conn:
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == created["id"])
                     .values(forwarded_at=db.utcnow(), status="forwarded"))
        conn.execute(sa.update(db.outbox).where(db.outbox.c.event_type == "submission.created")
                     .values(state="delivered", delivered_at=db.utcnow()))


@pytest.mark.parametrize("kind", ["withdraw_consent", "delete"])
def test_data_requests_are_recorded_and_forwarded(client, created, kind):
    _forwarded(created)
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "le.van.a@example.vn", "kind": kind})
    assert r.status_code == 202
    assert "2 ngày làm việc" in r.get_json()["message"]
    with db.read() as conn:
        ev = conn.execute(sa.select(db.outbox).where(
            db.outbox.c.event_type == "submission.data_request")).one()
    assert ev.payload["data"]["kind"] == kind


@pytest.mark.parametrize("kind", ["withdraw_consent", "delete"])
def test_a_data_request_before_the_forward_does_not_promise_the_province_s_answer(client, created, kind):
    """Asked before the submission left the relay, the request cancels the forward: nothing goes to
    the central system, so the citizen is not told it was notified and will answer in 2 days."""
    url = f"/api/v1/submissions/{created['tracking_code']}/data-request"
    body = {"contact": "le.van.a@example.vn", "kind": kind}
    r = client.post(url, json=body, headers={"Idempotency-Key": "d-1"})
    assert r.status_code == 202
    message = r.get_json()["message"]
    assert "chưa được chuyển tới hệ thống tỉnh" in message and "2 ngày làm việc" not in message
    with db.read() as conn:
        states = {row.event_type: row.state for row in conn.execute(sa.select(db.outbox)).all()}
    assert states == {"submission.created": "cancelled", "submission.data_request": "cancelled"}
    again = client.post(url, json=body, headers={"Idempotency-Key": "d-1"})
    assert again.get_json()["message"] == message  # a retry gets the same answer


def test_sequences_start_at_one(app, client, created):
    assert_problem(send_event(client, app, event(created, "accepted", 0)), 422)
    assert send_event(client, app, event(created, "accepted", 1)).get_json()["applied"] is True
    again = send_event(client, app, event(created, "in_progress", 1))
    assert again.get_json()["applied"] is False


def test_lookup_takes_the_contact_in_the_body_and_the_get_form_is_gone(client, created):
    """A contact in a URL ends up in the logs of every proxy in front of the relay."""
    code = created["tracking_code"]
    r = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": "0912345678"})
    assert r.status_code == 200 and r.get_json()["tracking_code"] == code
    assert r.headers["Cache-Control"] == "no-store"
    r = client.get(f"/api/v1/submissions/{code}", query_string={"contact": "0912345678"})
    body = assert_problem(r, 410, "lookup-by-post")
    assert code not in r.get_data(as_text=True).replace(body["instance"], "")
    assert "POST" in body["detail"] and "/lookup" in body["detail"]
    assert_problem(client.post(f"/api/v1/submissions/{code}/lookup", data="contact=0912345678",
                               content_type="application/x-www-form-urlencoded"), 415)
