"""What one submission and one status lookup cost the store: statements counted as they reach
the database driver (SQLAlchemy's ``before_cursor_execute``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import statements_seen
from widget_server.store import db

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")


@contextlib.contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """Every statement the block sends, transaction control included."""
    with statements_seen(db.get_engine(app), lambda _cursor, sql, _params: " ".join(sql.split())) as seen:
        yield seen


def work(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.upper().startswith(CONTROL)]


def _partner(site: Any, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": key}


@pytest.mark.parametrize("limited", [False, True])
def test_a_submission_is_one_transaction_of_few_statements(app: Any, app_config: dict[str, Any],
                                                           site: Any, submission_body: dict[str, Any],
                                                           limited: bool, request: Any) -> None:
    """The site resolved from this process's cache (the partner's secret was seen before; the
    limiter and the view share it), then one write transaction: the idempotency record, the
    submission, its history and its outbox row, with no read-back: four statements on SQLite, one
    on PostgreSQL. The code before sent 9 (10 on PostgreSQL: the NOTIFY apart), the site's secret
    looked up twice; then 5, the site read once."""
    if limited:  # Flask-Limiter reads the setting once, when the app is made
        from widget_server import create_app

        app = create_app({**app_config, "RATELIMIT_ENABLED": True})
        request.addfinalizer(db.get_engine(app).dispose)
    client = app.test_client()
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


def test_a_tracking_code_already_taken_is_drawn_again(app: Any, client: Any, site: Any,
                                                      submission_body: dict[str, Any],
                                                      monkeypatch: Any) -> None:
    """A tracking code already taken: the submission goes in with a new code, and the key's
    answer names that one. On PostgreSQL the single statement committed by itself fails whole,
    its claim of the key included; the transaction's way then stores the submission."""
    from widget_server.intake import codes

    taken = client.post("/api/v1/submissions", json=submission_body,
                        headers=_partner(site, "first")).get_json()["tracking_code"]
    real = codes.generate
    draws = iter([taken])
    monkeypatch.setattr(codes, "generate", lambda: next(draws, None) or real())
    r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "second"))
    assert r.status_code == 201, r.get_data(as_text=True)
    code = r.get_json()["tracking_code"]
    assert code != taken
    replay = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "second"))
    assert replay.get_json() == r.get_json()
    with db.read() as conn:
        rows = conn.execute(sa.select(db.submissions.c.id, db.submissions.c.tracking_code)).all()
        assert sorted(c for _, c in rows) == sorted([taken, code])
        for table in (db.history, db.outbox):
            per = conn.execute(sa.select(table.c.submission_id, sa.func.count())
                               .group_by(table.c.submission_id)).all()
            assert sorted(per) == sorted((i, 1) for i, _ in rows), table.name
        payload = conn.execute(sa.select(db.outbox.c.payload).where(
            db.outbox.c.submission_id == next(i for i, c in rows if c == code))).scalar_one()
    assert payload["data"]["tracking_code"] == code
    with db.read() as conn:
        answers = conn.execute(sa.select(db.idempotency_keys.c.key, db.idempotency_keys.c.response)).all()
    assert sorted((k, a["tracking_code"]) for k, a in answers) == sorted([("first", taken), ("second", code)])


@pytest.fixture
def trips(app: Any, tmp_path: Any) -> Iterator[Any]:
    """PostgreSQL: ``trips(fn)`` runs ``fn`` and lists the messages the client sent that wait for
    an answer (``Sync``, simple ``Query``), pings, BEGIN and COMMIT included: libpq's protocol
    trace (line-buffered) of every connection the engine opens from now on."""
    if not db.is_postgres(db.get_engine(app)):
        pytest.skip("round trips are PostgreSQL's cost")
    path = tmp_path / "trace"
    engine = db.get_engine(app)
    with path.open("w") as out:
        traced: list[Any] = []

        def connected(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.pgconn.trace(out.fileno())
            traced.append(dbapi_conn)

        def run(fn: Any) -> list[str]:
            start = path.stat().st_size
            fn()
            with path.open("rb") as f:
                f.seek(start)
                lines = f.read().decode(errors="replace").splitlines()
            return [line.split("\t", 3)[-1] for line in lines
                    if "\tF\t" in line and ("\tSync" in line or "\tQuery\t" in line)]

        engine.dispose()
        sa.event.listen(engine, "connect", connected)
        try:
            yield run
        finally:
            sa.event.remove(engine, "connect", connected)
            for conn in traced:
                if not conn.closed:
                    conn.pgconn.untrace()


def test_round_trips_on_postgres(client: Any, site: Any, submission_body: dict[str, Any],
                                 trips: Any) -> None:
    """A lookup is one round trip (main: a ping, BEGIN, the query, COMMIT); a new submission
    one as well (main: eleven; then BEGIN, the one statement, COMMIT): the statement commits
    by itself."""
    n = iter(range(100))

    def submit() -> None:
        r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, f"k{next(n)}"))
        assert r.status_code == 201

    code = client.post("/api/v1/submissions", json=submission_body,
                       headers=_partner(site, "a")).get_json()["tracking_code"]
    contact = submission_body["submitter"]["phone"]

    def lookup() -> None:
        assert client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": contact}).status_code == 200

    assert trips(lookup)  # a new connection: its setup is traced as well
    submit()
    assert len(trips(lookup)) == 1, trips(lookup)
    sent = trips(submit)
    assert sent == ["Sync"], sent  # the extended protocol's one exchange; no BEGIN, no COMMIT


@pytest.fixture
def hook(app: Any) -> Iterator[Any]:
    """``hook(fn)`` registers ``fn`` as the only ``on_submission`` hook (the app's own, the
    notices', are put back after the test)."""
    from widget_server.intake import hooks

    registry = hooks.of(app)
    own = list(registry.on_submission)

    def register(fn: Any) -> Any:
        registry.on_submission[:] = [fn]
        return fn

    yield register
    registry.on_submission[:] = own


def test_a_hook_runs_inside_the_submissions_transaction_unless_it_says_when_it_writes(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any], hook: Any) -> None:
    """A hook that does not say when it writes runs for every submission, inside its
    transaction (on PostgreSQL too, where a submission no hook writes for is one statement
    committed by itself); one declared with ``writes_when`` runs, in the transaction, only for
    the submissions it writes for."""
    from widget_server.intake import hooks

    plain: list[bool] = []
    declared: list[bool] = []
    hook(lambda conn, *_args: plain.append(conn.in_transaction()))
    r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "plain"))
    assert r.status_code == 201 and plain == [True]
    hook(hooks.writes_when(lambda data: data["title"].startswith("Ghi"))(
        lambda conn, *_args: declared.append(conn.in_transaction())))
    r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "quiet"))
    assert r.status_code == 201 and declared == []
    written = {**submission_body, "title": "Ghi lại: " + submission_body["title"]}
    r = client.post("/api/v1/submissions", json=written, headers=_partner(site, "writes"))
    assert r.status_code == 201 and declared == [True]
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one() == 3


def test_psycopg_parses_each_hot_statement_once(client: Any, site: Any,
                                                submission_body: dict[str, Any]) -> None:
    """PostgreSQL: psycopg turns a query's ``%(name)s`` into ``$n`` and caches the result only
    for a query bound with at most 50 values (and 4 kB of SQL); past that it parses the SQL
    again on every execution. The new submission's one statement was bound with 51 (each
    literal listed twice): 0.2 ms of the relay's CPU per submission."""
    if not db.is_postgres(db.get_engine(client.application)):
        pytest.skip("psycopg's query cache")
    from psycopg import _queries  # the cache is psycopg's own; its size is what the test checks

    code = client.post("/api/v1/submissions", json=submission_body,
                       headers=_partner(site, "first")).get_json()["tracking_code"]
    contact = submission_body["submitter"]["phone"]
    lookup = f"/api/v1/submissions/{code}/lookup"
    assert client.post(lookup, json={"contact": contact}).status_code == 200
    parsed = _queries._query2pg_nocache
    calls = []

    def counted(*args: Any) -> Any:
        calls.append(args[0][:60])
        return parsed(*args)

    _queries._query2pg_nocache = counted  # the cached function keeps the original
    try:
        for n in range(3):
            r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, f"k{n}"))
            assert r.status_code == 201
            assert client.post(lookup, json={"contact": contact}).status_code == 200
    finally:
        _queries._query2pg_nocache = parsed
    assert calls == [], calls
