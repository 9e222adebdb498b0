"""The worker sends notices through a real SMTP server: refusals, retries, the retention window."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.notify.test_notices import _asked, _event, _request, _submit, _with_email
from widget_server.delivery import queue
from widget_server.delivery.worker import Worker
from widget_server.intake import retention
from widget_server.store import db


@pytest.fixture
def app_config(app_config, smtp_server, monkeypatch, tmp_path):
    ca_file = tmp_path / "ca.pem"
    smtp_server.ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the worker's adapter trusts the test CA
    return {**app_config, "SMTP_URL": smtp_server.url()}


def _answered(client, site, submission_body):
    created = _submit(client, site, _with_email(submission_body), **_asked(site)).get_json()
    _event(created, "answered", 1)
    return created


def _notice():
    [row] = [r for r in queue.list_rows(db.get_engine()) if r["destination"] == "notify-email"]
    return row


def test_sent_then_the_contact_is_gone(app, client, site, submission_body, smtp_server):
    created = _answered(client, site, submission_body)
    Worker(app, "w").run_once()
    assert _notice()["state"] == "delivered"
    assert len(smtp_server.inbox.messages) == 1
    assert _request(created).contact is None


def test_a_permanent_refusal_is_dead_at_once_and_listed(app, client, site, submission_body, smtp_server):
    smtp_server.inbox.rcpt_reply = "550 5.1.1 <cong.dan@example.vn>: Recipient address rejected"
    _answered(client, site, submission_body)
    Worker(app, "w").run_once()
    row = _notice()
    assert (row["state"], row["attempts"], row["last_status"]) == ("dead", 1, 550)
    assert row["last_error"].startswith("SMTP 550 5.1.1") and "cong.dan" not in row["last_error"]


def test_a_temporary_refusal_comes_back_later(app, client, site, submission_body, smtp_server):
    smtp_server.inbox.rcpt_reply = "451 4.7.1 try again later"
    _answered(client, site, submission_body)
    Worker(app, "w").run_once()
    row = _notice()
    assert (row["state"], row["attempts"], row["last_status"]) == ("pending", 1, 451)
    assert row["next_attempt_at"] > db.utcnow()
    smtp_server.inbox.rcpt_reply = None
    assert Worker(app, "w").run_once() == 0  # not yet due
    assert smtp_server.inbox.messages == []


def test_the_retention_window_erases_the_contact_of_a_notice_never_sent(app, client, site, submission_body):
    created = _submit(client, site, _with_email(submission_body), **_asked(site)).get_json()
    with db.write() as conn:
        conn.execute(sa.update(db.submissions).values(
            forwarded_at=db.utcnow() - dt.timedelta(days=int(app.config["PII_RETENTION_DAYS"]) + 1)))
    assert _request(created).contact is not None
    report = retention.run()
    assert report.redacted == [created["tracking_code"]]
    assert _request(created).contact is None and _request(created).erased_at is not None
    _event(created, "answered", 1)  # too late: nothing to tell it to
    assert [r for r in queue.list_rows(db.get_engine()) if r["destination"] == "notify-email"] == []


def test_withdrawn_while_queued_is_cancelled_by_the_worker(app, client, site, submission_body, smtp_server):
    created = _answered(client, site, submission_body)
    # The notice is claimed (leased) when the citizen withdraws: the withdrawal leaves it to the worker.
    engine = db.get_engine()
    [claimed] = [c for c in queue.claim(engine, "w", queue.Policy()) if c.destination == "notify-email"]
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0912345678", "kind": "withdraw_notify"})
    assert r.status_code == 202
    assert _notice()["state"] == "pending"
    worker = Worker(app, "w")
    assert worker.event_for(claimed) is None
    assert _notice()["state"] == "cancelled"
    assert smtp_server.inbox.messages == []
