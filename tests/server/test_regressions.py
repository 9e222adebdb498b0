"""Regressions found in review: each test failed before its fix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem


def _partner(site: Any, key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": key, **extra}


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", 1])
def test_consent_must_be_a_json_true(client: Any, site: Any, submission_body: dict[str, Any],
                                     value: Any) -> None:
    # Consent must be explicit: a string or number that marshmallow would coerce is not it.
    body = {**submission_body, "consent": {**submission_body["consent"], "accepted": value}}
    r = client.post("/api/v1/submissions", json=body, headers=_partner(site, "consent"))
    problem = assert_problem(r, 422, "validation-error")
    assert "consent.accepted" in problem["errors"]


@pytest.mark.parametrize("value", ["no", "false", "0", 0, "off"])
def test_confidential_must_be_a_json_boolean(client: Any, site: Any,
                                             submission_body: dict[str, Any], value: Any) -> None:
    r = client.post("/api/v1/submissions", json={**submission_body, "confidential": value},
                    headers=_partner(site, "conf"))
    problem = assert_problem(r, 422, "validation-error")
    assert "confidential" in problem["errors"]


def test_rating_satisfied_must_be_a_json_boolean(client: Any, site: Any,
                                                 submission_body: dict[str, Any]) -> None:
    r = client.post("/api/v1/submissions/PH-0000-00000/rating",
                    json={"contact": "0912345678", "satisfied": "no"})
    problem = assert_problem(r, 422, "validation-error")
    assert "satisfied" in problem["errors"]


def test_idempotency_key_is_reusable_after_its_ttl(app: Any, client: Any, site: Any,
                                                  submission_body: dict[str, Any]) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from widget_server.store import db

    first = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "k"))
    assert first.status_code == 201
    old = db.utcnow() - dt.timedelta(hours=int(app.config["IDEMPOTENCY_TTL_HOURS"]) + 1)
    with db.write() as conn:
        conn.execute(sa.update(db.idempotency_keys).values(created_at=old))
    # The old answer has expired: the key makes a new submission (it used to answer 500).
    again = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "k"))
    assert again.status_code == 201, again.get_data(as_text=True)
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["tracking_code"] != first.get_json()["tracking_code"]
    replay = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "k"))
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == again.get_json()


BAD_ORIGINS = ["https://a.vn:99999", "https://a.vn:abc", "http://[::1", "https://a..vn",
               "https://" + "a" * 70 + ".vn"]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_malformed_origin_is_refused_not_a_crash(client: Any, site: Any,
                                                 submission_body: dict[str, Any],
                                                 origin: str) -> None:
    from widget_server.intake import tokens

    r = client.post("/api/v1/submissions", json=submission_body,
                    headers=_partner(site, "o", Origin=origin))
    assert_problem(r, 403, "origin-not-allowed")
    form = tokens.issue_form_token(site[0].key)
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"X-Form-Token": form, "Origin": origin})
    assert_problem(r, 403, "origin-not-allowed")
    r = client.get(f"/api/v1/sites/{site[0].key}/config", headers={"Origin": origin})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("page", ["/w/{key}/form", "/s/{key}"])
def test_malformed_source_url_is_ignored(client: Any, site: Any, page: str) -> None:
    r = client.get(page.format(key=site[0].key), query_string={"u": "https://[baothanhhoa.example/x"})
    assert r.status_code == 200


def test_lost_idempotency_race_leaves_no_orphan_files(app: Any, client: Any, site: Any,
                                                      submission_body: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Two identical multipart posts at once: the loser's files must not stay on disk."""
    from tests.server.test_attachments import counts, png_bytes, post_multipart, stored_files
    from widget_server.intake import submissions

    files = [(png_bytes(), "a.png")]
    first = post_multipart(client, site[1], submission_body, files, key="same")
    assert first.status_code == 201
    real = submissions._replay
    calls: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        # The first look happens before the other request committed; the one after the
        # clash on the key finds its answer.
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(submissions, "_replay", racing)
    second = post_multipart(client, site[1], submission_body, files, key="same")
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert len(stored_files(app)) == 1 and counts() == (1, 1, 1)


def _pg_only(app: Any) -> None:
    from widget_server.store import db

    if not db.is_postgres(db.get_engine(app)):
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; the race needs PostgreSQL")


def _created(client: Any, site: Any, submission_body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "race"))
    assert r.status_code == 201
    return r.get_json()


def _in_thread(app: Any, fn: Any, *args: Any) -> tuple[Any, list[Any]]:
    import threading

    out: list[Any] = []

    def run() -> None:
        with app.app_context():
            try:
                out.append(fn(*args))
            except Exception as exc:  # noqa: BLE001 - reported to the test
                out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _blocked(engine: Any, waiting: int) -> None:
    """Return once ``waiting`` other sessions on this database wait for a lock: the threads
    have reached the row the test holds, so the race runs every time, not only when the
    scheduler happens to let them get there first."""
    import time

    import sqlalchemy as sa

    deadline = time.monotonic() + 10
    with engine.connect() as conn:
        while True:
            n = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'")).scalar_one()
            conn.rollback()
            if n >= waiting:
                return
            assert time.monotonic() < deadline, f"{n} of {waiting} sessions reached the lock"
            time.sleep(0.01)


def _status_data(created: dict[str, Any], status: str, sequence: int) -> dict[str, Any]:
    return {"submission_id": created["id"], "central_id": "C-1", "status": status, "note": None,
            "answer": None, "agency": None, "deadline": None, "sequence": sequence,
            "updated_at": None}


def test_concurrent_status_events_keep_the_newest_sequence(app: Any, client: Any, site: Any,
                                                           submission_body: dict[str, Any]) -> None:
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.intake import status_events

    _pg_only(app)
    created = _created(client, site, submission_body)
    s = db.submissions.c
    engine = db.get_engine(app)
    with engine.connect() as other:
        tx = other.begin()
        # Another event (sequence 7) is being applied: it holds the row.
        other.execute(sa.select(db.submissions).where(s.id == created["id"]).with_for_update())
        thread, out = _in_thread(app, status_events.apply_status_event, "msg_old",
                                 _status_data(created, "accepted", 3))
        _blocked(engine, 1)
        other.execute(sa.update(db.submissions).where(s.id == created["id"]).values(
            status="answered", status_sequence=7))
        tx.commit()
    thread.join(10)
    assert out == [(False, False)]
    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions).where(s.id == created["id"])).one()
    assert (row.status, row.status_sequence) == ("answered", 7)


def test_the_same_event_twice_at_once_is_a_duplicate(app: Any, client: Any, site: Any,
                                                     submission_body: dict[str, Any]) -> None:
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.intake import status_events

    _pg_only(app)
    created = _created(client, site, submission_body)
    data = _status_data(created, "accepted", 1)
    engine = db.get_engine(app)
    with engine.connect() as other:
        tx = other.begin()
        other.execute(sa.select(db.submissions).where(db.submissions.c.id == created["id"])
                      .with_for_update())
        t1, out1 = _in_thread(app, status_events.apply_status_event, "msg_same", data)
        t2, out2 = _in_thread(app, status_events.apply_status_event, "msg_same", data)
        _blocked(engine, 2)
        tx.commit()
    t1.join(10)
    t2.join(10)
    assert sorted(out1 + out2) == [(False, True), (True, False)]


def test_acknowledgement_does_not_undo_an_earlier_status_event(app: Any, client: Any, site: Any,
                                                                submission_body: dict[str, Any]) -> None:
    """The central system's first status event can arrive before the worker records the 2xx."""
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.intake import status_events

    _pg_only(app)
    created = _created(client, site, submission_body)
    s = db.submissions.c
    engine = db.get_engine(app)

    def acknowledge() -> None:
        with db.write() as conn:
            status_events.mark_forwarded(conn, created["id"], "C-1")

    with engine.connect() as other:
        tx = other.begin()
        other.execute(sa.select(db.submissions).where(s.id == created["id"]).with_for_update())
        thread, out = _in_thread(app, acknowledge)
        _blocked(engine, 1)
        other.execute(sa.update(db.submissions).where(s.id == created["id"]).values(
            status="accepted", status_sequence=1))
        tx.commit()
    thread.join(10)
    assert out == [None]
    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions).where(s.id == created["id"])).one()
    assert row.status == "accepted" and row.forwarded_at is not None


def test_dead_forward_is_cancelled_by_a_deletion(app: Any, client: Any, site: Any,
                                                 submission_body: dict[str, Any]) -> None:
    """A forward that died before reaching the central system must not be replayed later."""
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.delivery import queue as outbox

    created = _created(client, site, submission_body)
    with db.write() as conn:
        conn.execute(sa.update(db.outbox).values(state="dead", attempts=20))
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0912345678", "kind": "delete"})
    assert r.status_code == 202
    with db.read() as conn:
        rows = conn.execute(sa.select(db.outbox.c.event_type, db.outbox.c.state).where(
            db.outbox.c.submission_id == created["id"])).all()
    assert {state for _type, state in rows} == {"cancelled"}
    assert outbox.retry_rows(db.get_engine(app), all_dead=True) == 0


def test_withdrawal_after_a_status_event_is_told_to_the_central_system(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """The central system answered with a status event but the 2xx to our forward was lost:
    it has the data, so a withdrawal must reach it, not be cancelled with the forward."""
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.intake import status_events

    created = _created(client, site, submission_body)
    assert status_events.apply_status_event("msg_c1", _status_data(created, "accepted", 1)) == (False, True)
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0912345678", "kind": "withdraw_consent"})
    assert r.status_code == 202
    with db.read() as conn:
        states = dict(conn.execute(sa.select(db.outbox.c.event_type, db.outbox.c.state).where(
            db.outbox.c.submission_id == created["id"])).all())
        row = conn.execute(sa.select(db.submissions).where(
            db.submissions.c.id == created["id"])).one()
    assert states["submission.data_request"] == "pending"
    assert states["submission.created"] != "cancelled"
    assert row.forwarded_at is not None and row.status == "accepted"


def test_deletion_does_not_cancel_a_forward_being_claimed(app: Any, client: Any, site: Any,
                                                          submission_body: dict[str, Any]) -> None:
    import datetime as dt
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.intake import retention

    _pg_only(app)
    created = _created(client, site, submission_body)
    o = db.outbox.c
    engine = db.get_engine(app)
    with db.write() as conn:  # the request is recorded; redaction runs below, racing a claim
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == created["id"])
                     .values(deletion_requested_at=db.utcnow()))
    with engine.connect() as worker:
        tx = worker.begin()
        # A worker's claim: it locked the due row and is giving it a lease.
        worker.execute(sa.select(db.outbox).where(o.submission_id == created["id"])
                       .with_for_update(skip_locked=True))
        thread, out = _in_thread(app, retention.run)
        _blocked(engine, 1)
        lease = db.utcnow() + dt.timedelta(minutes=1)
        worker.execute(sa.update(db.outbox).where(o.submission_id == created["id"]).values(
            lease_owner="w1", lease_until=lease, next_attempt_at=lease, attempts=1))
        tx.commit()
    thread.join(10)
    assert out[0].skipped_in_flight == [created["tracking_code"]]
    with db.read() as conn:
        state = conn.execute(sa.select(o.state).where(o.submission_id == created["id"])).scalar_one()
        row = conn.execute(sa.select(db.submissions).where(db.submissions.c.id == created["id"])).one()
    # The worker sends it and records the outcome; the next run redacts.
    assert state == "pending" and row.redacted_at is None


@pytest.mark.parametrize("sequence", [2**31, 2**64])
def test_status_event_sequence_out_of_range_is_422(app: Any, client: Any, site: Any,
                                                   submission_body: dict[str, Any],
                                                   sequence: int) -> None:
    import datetime as dt
    import json

    from phanhoi.webhooks import sign_headers
    from widget_server import config

    created = _created(client, site, submission_body)
    body = json.dumps({"type": "submission.status_changed",
                       "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                       "data": _status_data(created, "accepted", sequence)}).encode()
    secret = config.secret_list(app.config["CENTRAL_EVENTS_SECRET"])[0]
    r = client.post("/api/v1/central/events", data=body,
                    headers={**sign_headers(body, secret), "Content-Type": "application/json"})
    problem = assert_problem(r, 422, "validation-error")
    assert "data.sequence" in problem["errors"]


def test_overlong_webhook_id_is_refused_not_a_database_error(app: Any, client: Any, site: Any,
                                                             submission_body: dict[str, Any]) -> None:
    import datetime as dt
    import json

    from phanhoi.webhooks import sign_headers
    from widget_server import config

    created = _created(client, site, submission_body)
    body = json.dumps({"type": "submission.status_changed",
                       "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                       "data": _status_data(created, "accepted", 1)}).encode()
    secret = config.secret_list(app.config["CENTRAL_EVENTS_SECRET"])[0]
    headers = sign_headers(body, secret, msg_id="msg_" + "x" * 200)
    r = client.post("/api/v1/central/events", data=body,
                    headers={**headers, "Content-Type": "application/json"})
    assert_problem(r, 400, "invalid-webhook-id")


def test_request_cancelled_with_the_forward_is_sent_when_the_central_system_turns_out_to_have_it(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """Deletion while the forward looked undelivered cancels both; a later status event shows
    the central system had it all along, so the deletion request must still reach it."""
    import sqlalchemy as sa

    from widget_server.store import db
    from widget_server.intake import status_events

    created = _created(client, site, submission_body)
    r = client.post(f"/api/v1/submissions/{created['tracking_code']}/data-request",
                    json={"contact": "0912345678", "kind": "delete"})
    assert r.status_code == 202
    assert status_events.apply_status_event("msg_late", _status_data(created, "accepted", 1)) == (False, True)
    with db.read() as conn:
        rows = conn.execute(sa.select(db.outbox.c.event_type, db.outbox.c.state, db.outbox.c.payload)
                            .where(db.outbox.c.submission_id == created["id"])).all()
    live = [r for r in rows if r.event_type == "submission.data_request" and r.state == "pending"]
    assert len(live) == 1 and live[0].payload["data"]["kind"] == "delete"
    assert not any(r.event_type == "submission.created" and r.state == "pending" for r in rows)
    # A second status event does not send it twice.
    status_events.apply_status_event("msg_later", _status_data(created, "in_progress", 2))
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.outbox).where(
            db.outbox.c.event_type == "submission.data_request",
            db.outbox.c.state == "pending")).scalar_one() == 1
