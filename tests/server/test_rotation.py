"""Secret rotation: site secret keys (old + new during a grace period) and central secrets."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import responses
import sqlalchemy as sa

from tests.helpers import assert_problem
from widget_server.store import db


def _submit(client: Any, secret: str, body: dict[str, Any], key: str) -> Any:
    return client.post("/api/v1/submissions", json=body,
                       headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key})


def test_site_key_rotation_grace(client: Any, runner: Any, site: Any, submission_body: dict[str, Any]) -> None:
    s, old = site
    r = runner.invoke(args=["sites", "rotate-key", s.key, "--grace-days", "7", "--json"])
    assert r.exit_code == 0, r.output
    new = json.loads(r.output)["secret_key"]
    assert new != old and new.startswith("sk_")
    assert _submit(client, old, submission_body, "o1").status_code == 201
    assert _submit(client, new, submission_body, "n1").status_code == 201
    # The grace period ends: only the new key works.
    with db.write() as conn:
        conn.execute(sa.update(db.sites).where(db.sites.c.site_key == s.key).values(
            previous_secret_expires_at=db.utcnow() - dt.timedelta(seconds=1)))
    assert_problem(_submit(client, old, submission_body, "o2"), 401, "invalid-secret")
    assert _submit(client, new, submission_body, "n2").status_code == 201


def test_rotating_twice_drops_the_oldest(client: Any, runner: Any, site: Any,
                                         submission_body: dict[str, Any]) -> None:
    s, first = site
    second = json.loads(runner.invoke(args=["sites", "rotate-key", s.key, "--json"]).output)["secret_key"]
    third = json.loads(runner.invoke(args=["sites", "rotate-key", s.key, "--json"]).output)["secret_key"]
    assert_problem(_submit(client, first, submission_body, "a"), 401, "invalid-secret")
    assert _submit(client, second, submission_body, "b").status_code == 201
    assert _submit(client, third, submission_body, "c").status_code == 201


def test_rotation_without_grace(client: Any, runner: Any, site: Any, submission_body: dict[str, Any]) -> None:
    s, old = site
    new = json.loads(runner.invoke(args=["sites", "rotate-key", s.key, "--grace-days", "0",
                                         "--json"]).output)["secret_key"]
    assert_problem(_submit(client, old, submission_body, "o"), 401, "invalid-secret")
    assert _submit(client, new, submission_body, "n").status_code == 201


def test_the_text_output_says_how_long_the_old_key_works_in_both_languages(
        client: Any, runner: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """It said "(khóa cũ còn hiệu lực 0 ngày)" for a key already refused, and nothing in English."""
    s, old = site
    said = runner.invoke(args=["sites", "rotate-key", s.key, "--grace-days", "3"]).output
    new = said.split("secret_key: ")[1].split()[0]
    assert "Khóa cũ còn hiệu lực 3 ngày" in said and "The old key works 3 more day(s)" in said
    assert _submit(client, new, submission_body, "n").status_code == 201
    said = runner.invoke(args=["sites", "rotate-key", s.key, "--grace-days", "0"]).output
    assert "Khóa cũ đã hết hiệu lực. / The old key no longer works." in said and "0 ngày" not in said
    assert_problem(_submit(client, new, submission_body, "n2"), 401, "invalid-secret")


def test_a_grace_period_out_of_range_is_refused(client: Any, runner: Any, site: Any,
                                                submission_body: dict[str, Any]) -> None:
    """As in the console, 0 to 30 days: a negative one is a mistake (it was printed as "valid
    -5 days"), a huge one a traceback; either way the key stays as it was."""
    s, old = site
    for days in ("-5", "99999999"):
        r = runner.invoke(args=["sites", "rotate-key", s.key, "--grace-days", days])
        assert r.exit_code == 2 and "0<=x<=30" in r.output and "Traceback" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
    assert _submit(client, old, submission_body, "still").status_code == 201


def _event(client: Any, site: Any, submission_body: dict[str, Any]) -> tuple[bytes, str]:
    r = _submit(client, site[1], submission_body, "ev")
    sid = r.get_json()["id"]
    body = json.dumps({"type": "submission.status_changed", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"submission_id": sid, "status": "accepted", "sequence": 1,
                                "central_id": "C-9"}}).encode()
    return body, sid


def _post_event(client: Any, body: bytes, secret: str | list[str], msg_id: str) -> Any:
    from phanhoi.webhooks import sign_headers

    headers = sign_headers(body, secret, msg_id=msg_id)
    return client.post("/api/v1/central/events", data=body,
                       headers={**headers, "Content-Type": "application/json"})


def test_central_events_secret_rotation(app: Any, client: Any, site: Any, whsec: Any,
                                        submission_body: dict[str, Any]) -> None:
    old, new, other = whsec(), whsec(), whsec()
    app.config["CENTRAL_EVENTS_SECRET"] = f"{old}, {new}"
    body, _sid = _event(client, site, submission_body)
    assert _post_event(client, body, old, "msg_old").status_code == 200
    assert _post_event(client, body, new, "msg_new").status_code == 200
    assert _post_event(client, body, [other, new], "msg_both").status_code == 200
    assert_problem(_post_event(client, body, other, "msg_other"), 401, "invalid-signature")
    # Rotation finished: the old secret is removed from the setting.
    app.config["CENTRAL_EVENTS_SECRET"] = new
    assert_problem(_post_event(client, body, old, "msg_old2"), 401, "invalid-signature")
    assert _post_event(client, body, new, "msg_new2").status_code == 200


def test_outgoing_signature_verifies_with_old_and_new(app: Any, whsec: Any) -> None:
    from phanhoi.webhooks import WebhookVerificationError, verify_headers

    from widget_server.delivery.destinations import build
    from widget_server.delivery.destinations.base import Event

    old, new = whsec(), whsec()
    app.config["CENTRAL_SECRET"] = f"{old},{new}"
    destination = build("central", app.config)
    event = Event(id="msg_rot", type="submission.created", data={"id": "x"})
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "http://central.test/intake/v1/submissions",
                 json={"central_id": "C-1", "status": "received"})
        destination.deliver(event)
        sent = mock.calls[0].request
    destination.close()
    for secret in (old, new, [old, new]):
        assert verify_headers(sent.body, dict(sent.headers), secret) == "msg_rot"
    with pytest.raises(WebhookVerificationError):
        verify_headers(sent.body, dict(sent.headers), whsec())


def test_secret_key_rotation_keeps_lookups_and_tokens(app: Any, client: Any, site: Any,
                                                     submission_body: dict[str, Any]) -> None:
    from widget_server.intake import tokens

    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "rot"})
    code = r.get_json()["tracking_code"]
    old_key = app.config["SECRET_KEY"]
    old_token = tokens.issue_form_token(site[0].key)

    app.config["SECRET_KEY"] = "a-new-secret-key-after-rotation-0123456789"
    assert client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": "0912345678"}).status_code == 404
    with pytest.raises(tokens.FormTokenError):
        tokens.verify_form_token(old_token, site[0].key)

    app.config["SECRET_KEY_FALLBACKS"] = old_key
    assert client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": "0912345678"}).status_code == 200
    assert tokens.verify_form_token(old_token, site[0].key).site_key == site[0].key
    # New tokens are signed with the new key only.
    new_token = tokens.issue_form_token(site[0].key)
    app.config["SECRET_KEY_FALLBACKS"] = None
    assert tokens.verify_form_token(new_token, site[0].key).site_key == site[0].key
