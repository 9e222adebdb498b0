"""Personal-data lifecycle: redaction after retention, deletion and withdrawal requests."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.helpers import assert_problem
from widget_server.store import db
from widget_server.intake import status_events
from widget_server.intake import retention


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


def submit(client: Any, site: Any, body: dict[str, Any], key: str, files: bool = True) -> str:
    headers = {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": key}
    if files:
        r = client.post("/api/v1/submissions", content_type="multipart/form-data", headers=headers,
                        data={"submission": json.dumps(body), "files": [(io.BytesIO(_png()), "a.png")]})
    else:
        r = client.post("/api/v1/submissions", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["tracking_code"]


def row(code: str) -> Any:
    with db.read() as conn:
        return conn.execute(sa.select(db.submissions).where(db.submissions.c.tracking_code == code)).one()


def outbox_rows(submission_id: str) -> list[Any]:
    with db.read() as conn:
        return conn.execute(sa.select(db.outbox).where(db.outbox.c.submission_id == submission_id)
                            .order_by(db.outbox.c.created_at)).all()


def live_files(app: Any) -> int:
    from pathlib import Path

    root = Path(app.config["ATTACHMENT_DIR"])
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def deliver(submission_id: str, at: dt.datetime) -> None:
    """What the worker records when the central system acknowledges."""
    with db.write() as conn:
        conn.execute(sa.update(db.outbox).where(db.outbox.c.submission_id == submission_id,
                                                db.outbox.c.event_type == "submission.created")
                     .values(state="delivered", delivered_at=at))
        status_events.mark_forwarded(conn, submission_id, "C-1")
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == submission_id)
                     .values(forwarded_at=at))


def assert_redacted(code: str) -> Any:
    r = row(code)
    assert r.redacted_at is not None
    assert (r.name, r.phone, r.email, r.address, r.lat, r.lon) == (None,) * 6
    assert r.content == "" and r.rating_comment is None  # free text may carry details too
    assert r.phone_digest  # lookups still work
    for o in outbox_rows(r.id):
        text = json.dumps(o.payload, ensure_ascii=False)
        assert "Lê Văn A" not in text and "+84912345678" not in text and "Cổng chợ" not in text
        assert "bốc mùi" not in text  # the content, forwarded long ago
    with db.read() as conn:
        atts = conn.execute(sa.select(db.attachments).where(db.attachments.c.submission_id == r.id)).all()
    assert all(a.deleted_at is not None for a in atts)
    return r


def test_redacts_after_retention_window(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    old = submit(client, site, submission_body, "k1")
    fresh = submit(client, site, submission_body, "k2")
    pending = submit(client, site, submission_body, "k3")
    now = db.utcnow()
    deliver(row(old).id, now - dt.timedelta(days=91))
    deliver(row(fresh).id, now - dt.timedelta(days=5))
    assert live_files(app) == 3

    dry = retention.run(dry_run=True)
    assert dry.redacted == [old] and dry.attachments_deleted == 1
    assert row(old).redacted_at is None and live_files(app) == 3

    report = retention.run()
    assert report.redacted == [old]
    assert report.attachments_deleted == 1 and report.outbox_rows_redacted == 1
    r = assert_redacted(old)
    assert live_files(app) == 2
    created = [o for o in outbox_rows(r.id) if o.event_type == "submission.created"][0]
    assert created.payload["data"]["redacted"] is True
    assert created.payload["data"]["attachments"] == []
    assert created.payload["data"]["title"] == submission_body["title"]  # the case itself stays
    assert row(fresh).redacted_at is None and row(pending).redacted_at is None
    # Lookup by code and contact still works, and says so.
    got = client.post(f"/api/v1/submissions/{old}/lookup", json={"contact": "0912345678"}).get_json()
    assert got["redacted"] is True and got["tracking_code"] == old
    # A second run has nothing to do.
    assert retention.run().redacted == []


def test_a_submission_never_acknowledged_is_redacted_after_the_window_too(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """A forward the central system refused (or that outlived its retry window) is dead; nobody
    replayed it. Its submission's details were kept for ever: only an acknowledgement started
    the clock."""
    old_dead = submit(client, site, submission_body, "k1")
    new_dead = submit(client, site, submission_body, "k2")
    old_pending = submit(client, site, submission_body, "k3")
    long_ago = db.utcnow() - dt.timedelta(days=91)
    with db.write() as conn:
        for code in (old_dead, new_dead):
            conn.execute(sa.update(db.outbox).where(db.outbox.c.submission_id == row(code).id)
                         .values(state="dead", last_status=422))
        conn.execute(sa.update(db.submissions).where(db.submissions.c.tracking_code.in_([old_dead, old_pending]))
                     .values(submitted_at=long_ago))
    report = retention.run()
    assert report.redacted == [old_dead] and report.forwards_cancelled == 1
    r = assert_redacted(old_dead)
    assert [o.state for o in outbox_rows(r.id)] == ["cancelled"]  # `outbox retry --all-dead` sends nothing
    assert row(new_dead).redacted_at is None and row(old_pending).redacted_at is None
    assert live_files(app) == 2


def test_deletion_after_forward_redacts_now(app: Any, client: Any, site: Any,
                                            submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1")
    deliver(row(code).id, db.utcnow())
    r = client.post(f"/api/v1/submissions/{code}/data-request",
                    json={"contact": "0912345678", "kind": "delete"})
    assert r.status_code == 202
    s = assert_redacted(code)
    events = [o for o in outbox_rows(s.id) if o.event_type == "submission.data_request"]
    # The central system is told, and the event is still due.
    assert len(events) == 1 and events[0].state == "pending"
    assert events[0].payload["data"]["kind"] == "delete"
    assert live_files(app) == 0


def test_a_deleted_file_keeps_no_name_its_sender_gave_it(app: Any, client: Any, site: Any,
                                                         submission_body: dict[str, Any]) -> None:
    """File names are the citizen's words: "CCCD Lê Văn A 0912345678.png" stayed in the row after
    the file itself was deleted."""
    headers = {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "named"}
    r = client.post("/api/v1/submissions", content_type="multipart/form-data", headers=headers,
                    data={"submission": json.dumps(submission_body),
                          "files": [(io.BytesIO(_png()), "CCCD Lê Văn A 0912345678.png")]})
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["tracking_code"]
    deliver(row(code).id, db.utcnow())
    assert client.post(f"/api/v1/submissions/{code}/data-request",
                       json={"contact": "0912345678", "kind": "delete"}).status_code == 202
    s = assert_redacted(code)
    with db.read() as conn:
        names = conn.execute(sa.select(db.attachments.c.filename)
                             .where(db.attachments.c.submission_id == s.id)).scalars().all()
    assert names == ["tep-da-xoa.png"]


def test_deletion_before_forward_cancels_it(app: Any, client: Any, site: Any,
                                            submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1")
    r = client.post(f"/api/v1/submissions/{code}/data-request",
                    json={"contact": "0912345678", "kind": "delete"})
    assert r.status_code == 202
    s = assert_redacted(code)
    assert {o.state for o in outbox_rows(s.id)} == {"cancelled"}


def test_withdrawal_before_forward_stops_it(app: Any, client: Any, site: Any,
                                            submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1", files=False)
    r = client.post(f"/api/v1/submissions/{code}/data-request",
                    json={"contact": "0912345678", "kind": "withdraw_consent"})
    assert r.status_code == 202
    s = assert_redacted(code)
    assert s.consent_withdrawn_at is not None
    assert {o.state for o in outbox_rows(s.id)} == {"cancelled"}


def test_withdrawal_after_forward_keeps_retention(app: Any, client: Any, site: Any,
                                                  submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1", files=False)
    deliver(row(code).id, db.utcnow())
    client.post(f"/api/v1/submissions/{code}/data-request",
                json={"contact": "0912345678", "kind": "withdraw_consent"})
    s = row(code)
    assert s.redacted_at is None and s.name == "Lê Văn A"
    assert [o.state for o in outbox_rows(s.id) if o.event_type == "submission.data_request"] == ["pending"]


def test_forward_in_flight_is_not_cancelled(app: Any, client: Any, site: Any,
                                            submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1", files=False)
    sid = row(code).id
    with db.write() as conn:
        conn.execute(sa.update(db.outbox).where(db.outbox.c.submission_id == sid).values(
            lease_owner="w1", lease_until=db.utcnow() + dt.timedelta(minutes=1)))
    client.post(f"/api/v1/submissions/{code}/data-request",
                json={"contact": "0912345678", "kind": "delete"})
    assert row(code).redacted_at is None
    report = retention.run()
    assert report.skipped_in_flight == [code]
    # The worker delivers; the next run redacts.
    deliver(sid, db.utcnow())
    assert retention.run().redacted == [code]
    assert_redacted(code)


def test_cli(app: Any, client: Any, runner: Any, site: Any, submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1")
    deliver(row(code).id, db.utcnow() - dt.timedelta(days=200))
    r = runner.invoke(args=["retention", "run", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["dry_run"] is True and out["redacted"] == 1 and out["tracking_codes"] == [code]
    assert row(code).redacted_at is None
    r = runner.invoke(args=["retention", "run"])
    assert r.exit_code == 0, r.output
    assert "1 phản ánh" in r.output
    assert_redacted(code)


def test_retention_days_setting(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k1", files=False)
    deliver(row(code).id, db.utcnow() - dt.timedelta(days=3))
    assert retention.run().redacted == []
    app.config["PII_RETENTION_DAYS"] = 2
    assert retention.run().redacted == [code]


def test_consent_evidence_forwarded(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    import hashlib

    from widget_server.intake import reference

    code = submit(client, site, submission_body, "k1", files=False)
    s = row(code)
    consent = reference.consent_for(site[0].name)
    data = outbox_rows(s.id)[0].payload["data"]["consent"]
    assert data["version"] == consent.version == submission_body["consent"]["version"]
    assert data["text_sha256"] == consent.hash
    assert consent.hash == hashlib.sha256(consent.text.encode()).hexdigest()
    accepted = dt.datetime.fromisoformat(data["accepted_at"])
    assert abs((accepted - s.submitted_at).total_seconds()) < 5
    assert data["recipient"]
    # Consent must be explicit: refused without it.
    bad = {**submission_body, "consent": {"version": consent.version, "accepted": False}}
    r = client.post("/api/v1/submissions", json=bad,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k2"})
    assert_problem(r, 422, "validation-error")


def test_rating_comment_is_redacted_too(app: Any, client: Any, site: Any,
                                        submission_body: dict[str, Any]) -> None:
    code = submit(client, site, submission_body, "k-rate", files=False)
    r = row(code)
    deliver(r.id, db.utcnow() - dt.timedelta(days=1))
    status_events.apply_status_event("msg_answer", {"submission_id": r.id, "status": "answered",
                                                  "sequence": 1, "answer": "Đã xử lý."})
    rated = client.post(f"/api/v1/submissions/{code}/rating", json={
        "contact": "0912345678", "satisfied": False, "comment": "Gọi lại cho tôi: 0987 654 321"})
    assert rated.status_code == 200
    client.post(f"/api/v1/submissions/{code}/data-request",
                json={"contact": "0912345678", "kind": "delete"})
    retention.run()
    after = assert_redacted(code)
    assert after.rating_satisfied is False  # the figure stays; the words go
    for o in outbox_rows(after.id):
        assert "0987 654 321" not in json.dumps(o.payload, ensure_ascii=False)


def _age_keys(hours: float) -> None:
    with db.write() as conn:
        conn.execute(sa.update(db.idempotency_keys).values(
            created_at=db.utcnow() - dt.timedelta(hours=hours)))


def test_the_daily_run_drops_expired_idempotency_answers(
        app: Any, client: Any, runner: Any, site: Any, submission_body: dict[str, Any],
        monkeypatch: Any) -> None:
    """The table grew with every submission and nothing read a row past the TTL: the daily run
    deletes those, in batches, and keeps the rest (a live key still replays). The ids of the
    central system's events stay, however old: a redelivery is signed afresh."""
    app.config["IDEMPOTENCY_TTL_HOURS"] = 24
    monkeypatch.setattr(retention, "PURGE_BATCH", 2)  # several batches from a handful of rows
    for n in range(5):
        submit(client, site, submission_body, f"old-{n}", files=False)
    _age_keys(25)  # past the TTL
    live = submit(client, site, submission_body, "live", files=False)
    with db.write() as conn:
        conn.execute(sa.insert(db.inbound_events).values(
            id="msg_old", event_type="submission.status_changed",
            received_at=db.utcnow() - dt.timedelta(days=400)))

    r = runner.invoke(args=["retention", "run", "--dry-run", "--json"])
    assert json.loads(r.output)["idempotency_keys_purged"] == 5
    with db.read() as conn:  # a dry run deletes nothing
        assert conn.execute(sa.select(sa.func.count()).select_from(db.idempotency_keys)).scalar() == 6

    assert retention.run().idempotency_keys_purged == 5
    with db.read() as conn:
        keys = conn.execute(sa.select(db.idempotency_keys.c.key)).scalars().all()
        events = conn.execute(sa.select(db.inbound_events.c.id)).scalars().all()
    assert keys == ["live"] and events == ["msg_old"]
    again = client.post("/api/v1/submissions", json=submission_body,
                        headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "live"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["tracking_code"] == live
    assert retention.run().idempotency_keys_purged == 0


def test_the_purge_spares_a_key_claimed_again_while_it_waits(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """PostgreSQL: a request claims an expired key again (its row updated, not yet committed)
    while the purge's DELETE waits on that row. Under READ COMMITTED the DELETE re-checks the
    updated row against its own condition only: the purge's batch query had picked the key as
    stale, so without the condition repeated it deleted the live answer, and the client's retry
    with the same key made another submission."""
    if not db.is_postgres(db.get_engine(app)):
        pytest.skip("row locks: SQLite's BEGIN IMMEDIATE serialises the two writers")
    import threading
    import time

    from widget_server.intake import hooks

    app.config["IDEMPOTENCY_TTL_HOURS"] = 24
    submit(client, site, submission_body, "K", files=False)
    _age_keys(25)
    claimed, go = threading.Event(), threading.Event()

    def hold(*_args: Any) -> None:  # inside the claiming submission's transaction
        claimed.set()
        go.wait(10)

    registry = hooks.of(app)
    registry.on_submission.append(hold)
    out: dict[str, Any] = {}

    def claim_again() -> None:
        out["second"] = submit(app.test_client(), site, submission_body, "K", files=False)

    def purge() -> None:
        with app.app_context():
            out["purged"] = retention.run().idempotency_keys_purged

    first = threading.Thread(target=claim_again)
    first.start()
    try:
        assert claimed.wait(10)
    finally:
        registry.on_submission.remove(hold)
    purging = threading.Thread(target=purge)
    purging.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until the purge's DELETE waits on the row being claimed
        with db.read() as conn:
            if conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query LIKE 'DELETE FROM idempotency_keys%'")).scalar():
                break
        time.sleep(0.01)
    else:
        raise AssertionError("the purge never waited on the claimed row")
    go.set()
    first.join(10)
    purging.join(10)
    assert out["purged"] == 0
    retried = client.post("/api/v1/submissions", json=submission_body,
                          headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "K"})
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.get_json()["tracking_code"] == out["second"]


def test_the_daily_run_removes_files_a_killed_request_left_behind(
        app: Any, client: Any, runner: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """A file is written before the transaction that records it: a relay killed in between leaves
    a file nothing names (a citizen's photo that no run would ever redact), and so does a
    redaction killed between its commit and removing the files. The daily run removes such files
    once older than ``ORPHAN_AGE``, and writes a killed process left unfinished; it keeps every
    file a live attachment names, and a fresh one whose request may still be on its way."""
    import os
    import time
    from pathlib import Path

    from widget_server.store.blobs import get_storage

    submit(client, site, submission_body, "kept-file")
    redacted = submit(client, site, submission_body, "redacted-file")
    storage = get_storage()
    left = storage.put(_png())  # what a kill between writing the file and the commit leaves
    a = db.attachments.c
    with db.write() as conn:  # the redaction's commit, its process killed before it removed the file
        gone = conn.execute(sa.update(db.attachments).where(a.submission_id == row(redacted).id)
                            .values(deleted_at=db.utcnow()).returning(a.storage_key)).scalar_one()
    with db.read() as conn:
        kept = conn.execute(sa.select(a.storage_key).where(a.deleted_at.is_(None))).scalar_one()
    root = Path(app.config["ATTACHMENT_DIR"])
    unfinished = root / left[:2] / ".tmp-killed"
    unfinished.write_bytes(b"half a photo")
    hours_ago = time.time() - 2 * 3600
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (hours_ago, hours_ago))
    fresh = storage.put(_png())  # a request on its way: its commit is a moment away

    r = runner.invoke(args=["retention", "run", "--dry-run", "--json"])
    assert json.loads(r.output)["orphaned_files_deleted"] == 2
    assert storage.exists(left) and storage.exists(gone) and unfinished.exists()  # a dry run removes nothing

    assert retention.run().orphaned_files_deleted == 2
    assert not storage.exists(left) and not storage.exists(gone) and not unfinished.exists()
    assert storage.exists(kept) and storage.exists(fresh)
    assert retention.run().orphaned_files_deleted == 0
