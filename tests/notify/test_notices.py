"""Asking for a notice: the separate consent, what is stored, when a notice is queued, withdrawal."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from tests.helpers import assert_problem
from widget_server.delivery import queue
from widget_server.intake import retention, status_events
from widget_server.notify import consent
from widget_server.store import db
from widget_server.store.notices import notify_requests

ANSWER = "Đã thu gom rác tại cổng chợ; gọi 0237 3852 000 nếu còn tồn đọng."


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMTP_URL": "smtp://127.0.0.1:2525", "SMS_URL": "http://127.0.0.1:9/messages"}


def _submit(client, site, body, **notify):
    if notify:
        body = {**body, "notify": notify}
    return client.post("/api/v1/submissions", json=body, headers={
        "Authorization": f"Bearer {site[1]}", "Idempotency-Key": os.urandom(8).hex()})


def _asked(site, by="email", version=None):
    return {"by": by, "consent": {"version": version or consent.consent_for(site[0].name).version,
                                  "accepted": True}}


def _with_email(body):
    return {**body, "submitter": {**body["submitter"], "email": "Cong.Dan@Example.vn"}}


def _event(created, status, sequence):
    return status_events.apply_status_event(os.urandom(8).hex(), {
        "submission_id": created["id"], "status": status, "sequence": sequence,
        "answer": ANSWER if status == "answered" else None, "note": None})


def _notices(app):
    with db.read() as conn:
        return conn.execute(sa.select(db.outbox).where(db.outbox.c.destination.like("notify-%"))
                            .order_by(db.outbox.c.created_at)).all()


def _request(created):
    with db.read() as conn:
        return conn.execute(sa.select(notify_requests).where(
            notify_requests.c.submission_id == created["id"])).one_or_none()


def test_the_site_config_offers_the_channels_and_the_consent(client, site):
    cfg = client.get(f"/api/v1/sites/{site[0].key}/config").get_json()
    assert cfg["notify_channels"] == ["email", "sms"]
    assert cfg["notify_consent"]["version"] != cfg["consent"]["version"]
    assert "Báo Thanh Hóa" in cfg["notify_consent"]["text"]
    assert "không kèm nội dung trả lời" in cfg["notify_consent"]["text"]


def test_without_a_mail_server_or_gateway_nothing_is_offered(app, client, site, submission_body):
    app.config.update(SMTP_URL=None, SMS_URL=None)
    cfg = client.get(f"/api/v1/sites/{site[0].key}/config").get_json()
    assert cfg["notify_channels"] == [] and cfg["notify_consent"] is None
    r = _submit(client, site, _with_email(submission_body), by="email",
                consent={"version": "2026-11.x", "accepted": True})
    body = assert_problem(r, 422)
    assert "notify.by" in body["errors"]


def test_asked_by_email_stores_the_request_and_its_own_consent(app, client, site, submission_body):
    r = _submit(client, site, _with_email(submission_body), **_asked(site))
    assert r.status_code == 201, r.get_data(as_text=True)
    row = _request(r.get_json())
    assert (row.channel, row.contact) == ("email", "Cong.Dan@example.vn")
    assert row.consent_version == consent.consent_for(site[0].name).version
    assert row.erased_at is None and row.final_notice_id is None


def test_not_asked_stores_nothing(client, site, submission_body):
    created = _submit(client, site, submission_body).get_json()
    assert _request(created) is None
    _event(created, "answered", 1)
    assert _notices(None) == []


@pytest.mark.parametrize(("notify", "field"), [
    ({"by": "email"}, "submitter.email"),  # no email given
    ({"by": "fax"}, "notify.by"),
    ({"by": "sms", "version": "2020-01.old"}, "notify.consent.version"),
    ({"by": "sms", "accepted": False}, "notify.consent.accepted"),
])
def test_bad_requests_are_refused_and_change_nothing(app, client, site, submission_body, notify, field):
    asked = _asked(site, notify["by"] if notify["by"] != "fax" else "sms", notify.get("version"))
    asked["by"] = notify["by"]
    asked["consent"]["accepted"] = notify.get("accepted", True)
    body = assert_problem(_submit(client, site, submission_body, **asked), 422)
    assert field in body["errors"], body["errors"]
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one() == 0


def test_sms_needs_a_mobile_number(client, site, submission_body):
    landline = {**submission_body, "submitter": {**submission_body["submitter"], "phone": "0237 3852 000"}}
    body = assert_problem(_submit(client, site, landline, **_asked(site, "sms")), 422)
    assert body["errors"]["submitter.phone"] == [
        "Số này không nhận được tin nhắn SMS. Vui lòng nhập số di động, hoặc chọn báo qua email."]
    assert _submit(client, site, landline).status_code == 201  # without the notice, a landline is fine


def test_one_notice_is_queued_when_answered_without_personal_data(app, client, site, submission_body):
    created = _submit(client, site, _with_email(submission_body), **_asked(site)).get_json()
    _event(created, "accepted", 1)  # NOTIFY_ON_ACCEPTED is off
    assert _notices(app) == []
    _event(created, "answered", 2)
    _event(created, "answered", 3)  # the answer amended: no second notice
    _event(created, "published", 4)
    [notice] = _notices(app)
    assert notice.destination == "notify-email" and notice.event_type == "notice.send"
    assert notice.payload["data"] == {"submission_id": created["id"], "tracking_code": created["tracking_code"],
                                      "status": "answered", "kind": "final"}
    assert _request(created).final_notice_id == notice.id
    [listed] = [r for r in queue.list_rows(db.get_engine()) if r["destination"] == "notify-email"]
    assert listed["tracking_code"] == created["tracking_code"]


def test_a_deactivated_sites_citizens_are_still_told_and_their_link_works(app, client, site, submission_body):
    from widget_server.intake import sites
    from widget_server.notify import notices

    body = {**_with_email(submission_body), "source_url": "https://baothanhhoa.example/bai-viet"}
    created = _submit(client, site, body, **_asked(site)).get_json()
    sites.update_site(site[0].key, active=False)
    _event(created, "answered", 1)
    [notice] = _notices(app)
    message = notices.prepare(db.get_engine(), created["id"], notice.payload["data"])
    assert message is not None and message["to"] == "Cong.Dan@example.vn"
    # The relay's status page, not the article's (the site may no longer carry the banner).
    [link] = {u for u in re.findall(r"https?://[^\s<>\"]+", message["text"]) if created["tracking_code"] in u}
    assert link.startswith(app.config["PUBLIC_URL"]) and "baothanhhoa.example" not in message["text"]
    assert client.get(link.removeprefix(app.config["PUBLIC_URL"])).status_code == 200


@pytest.mark.parametrize("status", ["rejected", "published"])
def test_a_rejection_or_a_publication_ends_the_wait_too(client, site, submission_body, status):
    created = _submit(client, site, submission_body, **_asked(site, "sms")).get_json()
    _event(created, status, 1)
    [notice] = _notices(None)
    assert notice.destination == "notify-sms" and notice.payload["data"]["status"] == status


def test_accepted_is_told_too_when_the_relay_is_set_so(app, client, site, submission_body):
    app.config["NOTIFY_ON_ACCEPTED"] = True
    created = _submit(client, site, submission_body, **_asked(site, "sms")).get_json()
    _event(created, "accepted", 1)
    _event(created, "in_progress", 2)
    _event(created, "answered", 3)
    assert [n.payload["data"]["kind"] for n in _notices(app)] == ["accepted", "final"]


def test_a_notice_neither_waits_for_nor_holds_up_the_central_systems_events(app, client, site, submission_body):
    created = _submit(client, site, submission_body, **_asked(site, "sms")).get_json()
    _event(created, "answered", 1)
    engine = db.get_engine()
    claimed = queue.claim(engine, "w", queue.Policy())
    # The forward to the central system is still pending: the notice goes anyway.
    assert sorted(c.destination for c in claimed) == ["central", "notify-sms"]


def test_withdrawal_erases_the_contact_cancels_the_notice_and_is_not_forwarded(app, client, site, submission_body):
    created = _submit(client, site, submission_body, **_asked(site, "sms")).get_json()
    _event(created, "answered", 1)
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0912 345 678", "kind": "withdraw_notify"})
    assert r.status_code in (200, 201, 202), r.get_data(as_text=True)
    row = _request(created)
    assert row.contact is None and row.withdrawn_at is not None
    [notice] = _notices(app)
    assert notice.state == "cancelled"
    with db.read() as conn:
        kinds = conn.execute(sa.select(db.outbox.c.event_type)).scalars().all()
    assert "submission.data_request" not in kinds


def test_withdrawal_needs_the_contact(client, site, submission_body):
    created = _submit(client, site, submission_body, **_asked(site, "sms")).get_json()
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0987654321", "kind": "withdraw_notify"})
    assert_problem(r, 404)
    assert _request(created).contact == "+84912345678"


def test_redaction_takes_the_notice_contact_and_its_pending_notices(app, client, site, submission_body):
    created = _submit(client, site, submission_body, **_asked(site, "sms")).get_json()
    _event(created, "answered", 1)
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0912345678", "kind": "delete"})
    assert r.status_code < 300
    row = _request(created)
    assert row.contact is None and row.erased_at is not None and row.withdrawn_at is None
    assert [n.state for n in _notices(app)] == ["cancelled"]
    assert retention.run().redacted == []  # done already
