"""What one submission and one status lookup cost the store: statements counted as they reach
the database driver (SQLAlchemy's ``before_cursor_execute``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from widget_server.store import db

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")


@contextlib.contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """Every statement the block sends, transaction control included."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = db.get_engine(app)
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def work(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.upper().startswith(CONTROL)]


def _partner(site: Any, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": key}


@pytest.mark.parametrize("limited", [False, True])
def test_a_submission_is_one_transaction_of_few_statements(app: Any, client: Any, site: Any,
                                                           submission_body: dict[str, Any],
                                                           limited: bool) -> None:
    """The site resolved from this process's cache (the partner's secret was seen before; the
    limiter and the view share it), then one write transaction: the idempotency record, the
    submission, its history and its outbox row, with no read-back: four statements on SQLite, one
    on PostgreSQL. The code before sent 9 (10 on PostgreSQL: the NOTIFY apart), the site's secret
    looked up twice; then 5, the site read once."""
    app.config["RATELIMIT_ENABLED"] = limited
    client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "warm"))
    with statements(app) as seen:
        r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "one"))
    assert r.status_code == 201, r.get_data(as_text=True)
    done = work(seen)
    assert not any("FROM sites" in s for s in done), "\n".join(done)
    assert not any(s.startswith("SELECT") and "FROM submissions" in s for s in done)
    assert not any("FROM idempotency_keys" in s for s in done), "a read before the write"
    if db.is_postgres(db.get_engine(app)):
        # The four rows and the wake-up in one statement of data-modifying CTEs (intake/at_once.py).
        assert len(done) == 1, "\n".join(done)
        assert done[0].startswith("WITH claim AS (INSERT INTO idempotency_keys"), done[0]
        tables = [t.split()[0] for t in done[0].split("INSERT INTO ")[1:]]
        assert tables == ["idempotency_keys", "submissions", "submission_history", "outbox"], tables
        assert "pg_notify" in done[0]
        with db.read() as conn:
            counts = [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                      for t in (db.submissions, db.history, db.outbox, db.idempotency_keys)]
        assert counts == [2, 2, 2, 2]  # "warm" and "one"
        return
    assert len(done) <= 4, "\n".join(done)
    inserts = [s.split()[2] for s in done if s.startswith("INSERT")]
    assert inserts == ["idempotency_keys", "submissions", "submission_history", "outbox"] or \
        inserts == ["idempotency_keys", "submissions", "submission_history"], inserts
    assert sum("outbox" in s for s in done) == 1, "the outbox row and its wake-up in one statement"
    assert [s for s in seen if s.startswith("BEGIN IMMEDIATE")] == ["BEGIN IMMEDIATE"]


def test_a_replay_writes_nothing(app: Any, client: Any, site: Any,
                                 submission_body: dict[str, Any]) -> None:
    first = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "k"))
    with statements(app) as seen:
        again = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "k"))
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    done = work(seen)
    assert len(done) <= 3, "\n".join(done)
    assert not any(s.startswith("INSERT INTO submissions") for s in done)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(db.outbox)).scalar_one() == 1


def test_a_lookup_is_one_query(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """Submission and history in one read (main: two), with no transaction around it: no BEGIN on
    SQLite (one SELECT reads one snapshot), none on PostgreSQL (autocommit)."""
    created = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "l"))
    code = created.get_json()["tracking_code"]
    contact = submission_body["submitter"]["phone"]
    with statements(app) as seen:
        r = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": contact})
    assert r.status_code == 200
    assert [h["status"] for h in r.get_json()["history"]] == ["received"]
    assert len(work(seen)) == 1, "\n".join(work(seen))
    assert seen == work(seen), "\n".join(seen)
    with statements(app) as seen:
        wrong = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": "0987654321"})
    assert wrong.status_code == 404
    assert len(work(seen)) == 1  # the same work for a wrong contact: no timing oracle from the store


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_key_claimed_by_a_transaction_in_flight(app: Any, client: Any, site: Any,
                                                  submission_body: dict[str, Any],
                                                  first_commits: bool) -> None:
    """PostgreSQL: a second request with the key waits for the first one's transaction, then
    answers as it did (no second submission), or takes the key if that one rolled back."""
    import hashlib
    import json

    from tests.server.test_regressions import _blocked, _in_thread, _pg_only

    _pg_only(app)
    engine = db.get_engine(app)
    answer = {"id": "first", "tracking_code": "PH-FIRS-T0000", "status": "received",
              "status_url": "http://relay.test/x", "deadline": db.utcnow().isoformat()}
    with engine.connect() as other:
        tx = other.begin()
        digest = hashlib.sha256(json.dumps(submission_body, sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":")).encode()).hexdigest()
        other.execute(sa.insert(db.idempotency_keys), {
            "site_id": site[0].id, "key": "race", "request_hash": digest, "status_code": 201,
            "response": answer, "created_at": db.utcnow()})

        def post() -> Any:
            with app.test_client() as c:
                return c.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "race"))

        thread, out = _in_thread(app, post)
        _blocked(engine, 1)
        tx.commit() if first_commits else tx.rollback()
    thread.join(10)
    r = out[0]
    with db.read() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one()
    if first_commits:
        assert r.status_code == 201 and r.headers["Idempotent-Replayed"] == "true"
        assert r.get_json() == answer and stored == 0
    else:
        assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
        assert r.get_json()["tracking_code"] != answer["tracking_code"] and stored == 1
