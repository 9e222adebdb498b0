"""End to end: submit asking for a notice, the central system answers, the SMTP server gets one
message with the code and the link and no answer; the same with the worker killed mid-send."""

from __future__ import annotations

import os
import signal

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import contextlib_closing, wait_for
from tests.e2e.test_loop import _operator_post
from tests.helpers import valid_submission
from widget_server.delivery import notices as delivery_notices
from widget_server.delivery import queue
from widget_server.notify import consent
from widget_server.store import db
from widget_server.store.notices import notify_requests

ANSWER = "Đã thu gom rác tại cổng chợ Vườn Hoa trong ngày 12/3."
EMAIL = "le.van.a@example.vn"


@pytest.fixture
def notify_loop(make_loop, smtp_server, tmp_path):
    loop = make_loop(SMTP_URL=smtp_server.url(), OUTBOX_LEASE_SECONDS=2)
    ca_file = tmp_path / "ca.pem"
    smtp_server.ca.cert_pem.write_to_path(str(ca_file))
    loop.notify_env = {  # type: ignore[attr-defined]
        "PHANHOI_SMTP_URL": smtp_server.url(), "PHANHOI_PUBLIC_URL": loop.relay.url,
        "PHANHOI_OUTBOX_LEASE_SECONDS": "2", "SSL_CERT_FILE": str(ca_file)}
    return loop


def _submit(loop):
    body = valid_submission(submitter={"name": "Lê Văn A", "phone": "0912345678", "email": EMAIL})
    body["consent"]["version"] = loop.consent_version
    with loop.relay_app.app_context():
        version = consent.consent_for(loop.site.name).version
    body["notify"] = {"by": "email", "consent": {"version": version, "accepted": True}}
    r = loop.http.post(loop.relay.url + "/api/v1/submissions", json=body, timeout=10, headers={
        "Authorization": f"Bearer {loop.secret}", "Idempotency-Key": os.urandom(8).hex()})
    assert r.status_code == 201, r.text
    return r.json()


def _answer(loop, created):
    wait_for(lambda: loop.lookup(created["tracking_code"])["status"] == "forwarded", timeout=60)
    with contextlib_closing(loop.central_db()) as conn:
        central_id = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                                  (created["id"],)).fetchone()[0]
    _operator_post(loop, central_id, "accept", note="Chuyển Sở Nông nghiệp và Môi trường")
    _operator_post(loop, central_id, "answer", agency="so-tnmt", answer=ANSWER)
    assert loop.lookup(created["tracking_code"])["status"] == "answered"


def _notice_row(loop):
    rows = [r for r in queue.list_rows(db.get_engine(loop.relay_app)) if r["destination"] == "notify-email"]
    return rows[0] if rows else None


def _check_message(msg, loop, created):
    code = created["tracking_code"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    link = f"https://baothanhhoa.example/bai-viet#phanhoi-track={code}"
    assert msg["To"] == EMAIL
    assert code in str(msg["Subject"]) and code in text
    assert link in text and link in html
    whole = msg.as_string() + text + html
    for private in (ANSWER, "Lê Văn A", "0912345678", "+84912345678", "Cổng chợ", "Rác thải"):
        assert private not in whole


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL


def test_answer_sends_exactly_one_notice(notify_loop, smtp_server):
    loop = notify_loop
    proc = loop.spawn_worker("w1", **loop.notify_env)
    try:
        created = _submit(loop)
        _answer(loop, created)
        assert smtp_server.inbox.received.wait(20), loop.log_of("w1")
        wait_for(lambda: (_notice_row(loop) or {}).get("state") == "delivered", timeout=60)
    finally:
        proc.terminate()
        proc.wait(10)
    [msg] = smtp_server.inbox.messages
    _check_message(msg, loop, created)
    assert msg["Message-ID"] == f"<{_notice_row(loop)['id']}@{loop.relay.url.split('//')[1].split(':')[0]}>"
    with db.get_engine(loop.relay_app).connect() as conn:
        contact = conn.execute(sa.select(notify_requests.c.contact)).scalar_one()
    assert contact is None  # sent: the notice contact is gone


@pytest.mark.slow
def test_killed_after_the_server_has_the_message_sends_no_second(notify_loop, smtp_server):
    """SIGKILL while the server holds its answer to the final "." (it has stored the message):
    the next worker does not send again; the row is dead with the reason, for an operator."""
    loop = notify_loop
    smtp_server.inbox.data_delay = 60
    doomed = loop.spawn_worker("doomed", **loop.notify_env)
    try:
        created = _submit(loop)
        _answer(loop, created)
        assert smtp_server.inbox.received.wait(20), loop.log_of("doomed")
        _kill(doomed)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    smtp_server.inbox.data_delay = 0
    rescuer = loop.spawn_worker("rescuer", **loop.notify_env)
    try:
        wait_for(lambda: (_notice_row(loop) or {}).get("state") == "dead", timeout=60)
    finally:
        rescuer.terminate()
        rescuer.wait(10)
    row = _notice_row(loop)
    assert row["last_error"] == delivery_notices.UNKNOWN
    assert len(smtp_server.inbox.messages) == 1
    _check_message(smtp_server.inbox.messages[0], loop, created)


@pytest.mark.slow
def test_killed_before_the_hand_over_sends_once_on_the_retry(notify_loop, smtp_server):
    """SIGKILL while the server holds its answer to RCPT: nothing was handed over, the next
    worker sends, and exactly one message arrives."""
    loop = notify_loop
    smtp_server.inbox.rcpt_delay = 60
    doomed = loop.spawn_worker("doomed", **loop.notify_env)
    try:
        created = _submit(loop)
        _answer(loop, created)
        assert smtp_server.inbox.rcpt_seen.wait(20), loop.log_of("doomed")
        _kill(doomed)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    smtp_server.inbox.rcpt_delay = 0
    rescuer = loop.spawn_worker("rescuer", **loop.notify_env)
    try:
        wait_for(lambda: (_notice_row(loop) or {}).get("state") == "delivered", timeout=60)
    finally:
        rescuer.terminate()
        rescuer.wait(10)
    assert len(smtp_server.inbox.messages) == 1
    _check_message(smtp_server.inbox.messages[0], loop, created)
