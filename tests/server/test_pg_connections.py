"""PostgreSQL sessions that end under the relay (``pg_terminate_backend``, as a server restart or
an idle timeout would): the pool notices without pinging every checkout (store/postgres.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.server.test_regressions import _pg_only
from widget_server.store import db


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # No ping for idleness during the test: what finds the ended sessions is their socket.
    return {**app_config, "DB_PING_IDLE_SECONDS": 3600.0}


@pytest.fixture
def pids(app: Any) -> Iterator[list[int]]:
    """The backend pid of every connection the app's engine opens from now on."""
    _pg_only(app)
    engine = db.get_engine(app)
    opened: list[int] = []

    def connected(dbapi_conn: Any, _record: Any) -> None:
        opened.append(dbapi_conn.info.backend_pid)

    sa.event.listen(engine, "connect", connected)
    engine.dispose()
    yield opened
    sa.event.remove(engine, "connect", connected)


def _terminate(app: Any, pids: list[int]) -> None:
    """End the sessions and wait until the server has let them go."""
    # Autocommit: a transaction would see one snapshot of pg_stat_activity throughout.
    admin = sa.create_engine(db.get_engine(app).url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE pid = ANY(:pids)"), {"pids": pids})
            deadline = time.monotonic() + 20
            while conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                               {"pids": pids}).scalar_one():
                assert time.monotonic() < deadline, "the sessions did not end"
                time.sleep(0.01)
    finally:
        admin.dispose()


def _partner(site: Any, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site[1]}", "Idempotency-Key": key}


def _count(table: sa.Table) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("lookup_first", [False, True])
def test_sessions_ended_while_idle_cost_no_request(app: Any, client: Any, site: Any,
                                                  submission_body: dict[str, Any],
                                                  pids: list[int], lookup_first: bool) -> None:
    """Every pooled connection's session ended: the next lookup and the next submission succeed,
    whichever comes first (an engine that never pings answers 503 to the submission: its site
    read meets a dead socket; a lookup does not ask the socket, it runs again on a new connection)."""
    code = client.post("/api/v1/submissions", json=submission_body,
                       headers=_partner(site, "before")).get_json()["tracking_code"]
    contact = submission_body["submitter"]["phone"]
    assert client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": contact}).status_code == 200
    ended = list(pids)
    assert ended
    _terminate(app, ended)

    def lookup() -> None:
        r = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": contact})
        assert r.status_code == 200, r.get_data(as_text=True)

    if lookup_first:
        lookup()
    r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "after"))
    assert r.status_code == 201, r.get_data(as_text=True)
    lookup()
    assert _count(db.submissions) == 2 and _count(db.outbox) == 2
    assert set(pids) - set(ended), "the pool opened new connections"


def _end_own_session_once(app: Any, when: str, match: str = "") -> list[bool]:
    """End the session of the connection about to run ``when`` (an engine event), once."""
    engine = db.get_engine(app)
    done: list[bool] = []

    def end(conn: Any, *args: Any) -> None:
        statement = args[1] if when == "before_cursor_execute" else ""
        if done or match not in statement:
            return
        done.append(True)
        _terminate(app, [conn.connection.dbapi_connection.info.backend_pid])

    sa.event.listen(engine, when, end)
    return done


def test_a_read_that_loses_its_connection_is_run_again(app: Any, client: Any, site: Any,
                                                        submission_body: dict[str, Any],
                                                        pids: list[int]) -> None:
    code = client.post("/api/v1/submissions", json=submission_body,
                       headers=_partner(site, "k")).get_json()["tracking_code"]
    ended = _end_own_session_once(app, "before_cursor_execute", "FROM submissions LEFT OUTER JOIN")
    r = client.post(f"/api/v1/submissions/{code}/lookup",
                    json={"contact": submission_body["submitter"]["phone"]})
    assert ended, "the lookup's statement was not seen"
    assert r.status_code == 200, r.get_data(as_text=True)


@pytest.mark.parametrize("alone", [True, False])
def test_a_write_that_loses_its_connection_before_commit_stores_nothing(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any], pids: list[int],
        alone: bool) -> None:
    """503 with Retry-After and nothing half-accepted; the client's retry with the same key is
    stored once. ``alone``: the one statement that commits by itself loses its session as it
    is sent; else a hook that writes makes it a transaction, which loses its session at COMMIT."""
    from widget_server.intake import hooks

    client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "warm"))
    registry = hooks.of(app)
    if not alone:
        registry.on_submission.append(_writes_nothing)
    try:
        ended = (_end_own_session_once(app, "before_cursor_execute", "WITH claim AS") if alone
                 else _end_own_session_once(app, "commit"))
        r = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "lost"))
    finally:
        if not alone:
            registry.on_submission.remove(_writes_nothing)
    assert ended
    assert r.status_code == 503, r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) > 0
    assert r.get_json()["type"].endswith("/store-unavailable")
    assert [_count(t) for t in (db.submissions, db.history, db.outbox, db.idempotency_keys)] == [1, 1, 1, 1]

    again = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "lost"))
    assert again.status_code == 201, again.get_data(as_text=True)
    replay = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "lost"))
    assert replay.get_json() == again.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    assert [_count(t) for t in (db.submissions, db.history, db.outbox, db.idempotency_keys)] == [2, 2, 2, 2]


def _writes_nothing(*_args: Any) -> None:
    """An ``on_submission`` hook that does not say when it writes: the submission gets a transaction."""


@pytest.mark.parametrize("idle_seconds, pinged", [(0.0, True), (3600.0, False)])
def test_a_connection_is_pinged_only_after_sitting_idle(app_config: dict[str, Any], idle_seconds: float,
                                                        pinged: bool, monkeypatch: Any) -> None:
    """Not on every checkout (``pool_pre_ping`` cost a round trip per request)."""
    from widget_server import create_app

    app = create_app({**app_config, "DB_PING_IDLE_SECONDS": idle_seconds})
    try:
        engine = db.get_engine(app)
        _pg_only(app)
        pings: list[bool] = []
        real = engine.dialect.do_ping
        monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(True) or real(c))
        with app.app_context():
            for _ in range(3):
                with db.read() as conn:
                    conn.execute(sa.text("SELECT 1"))
        assert len(pings) == (2 if pinged else 0)  # the first checkout is a new connection
    finally:
        db.get_engine(app).dispose()


def test_write_transactions_are_read_committed_whatever_the_servers_default(
        app_config: dict[str, Any]) -> None:
    """The idempotency claim relies on READ COMMITTED (a second claim of a key waits for the
    first one's commit, then sees its row): a server or role set to SERIALIZABLE by default
    must not change it, for a transaction or for a new submission's statement that commits by
    itself (``db.write_one``: on such a session it gets a transaction, which names the level)."""
    from widget_server import create_app
    from widget_server.store import direct

    url = sa.make_url(db.normalise_url(app_config["DATABASE_URL"]))
    if not url.drivername.startswith("postgresql"):
        pytest.skip("PostgreSQL's isolation levels")
    url = url.update_query_dict({"options": "-c default_transaction_isolation=serializable"})
    app = create_app({**app_config, "DATABASE_URL": url.render_as_string(hide_password=False)})
    try:
        with app.app_context():
            with db.get_engine(app).connect() as conn:  # the setting took
                assert conn.exec_driver_sql("SHOW default_transaction_isolation").scalar() == "serializable"
            with db.write() as conn:
                assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
            alone = direct.Statement(sa.select(sa.func.current_setting("transaction_isolation")))
            assert db.write_one(alone) == [("read committed",)]
    finally:
        db.get_engine(app).dispose()


def test_the_environments_libpq_options_still_apply(app_config: dict[str, Any], monkeypatch: Any) -> None:
    """libpq reads ``PGOPTIONS`` (and a service file's ``options``) only when the connection
    names no ``options`` of its own: the relay names none, so a deployment's settings there
    (``search_path``, ``statement_timeout`` …) apply; a pooler such as PgBouncer, which refuses
    an ``options`` it does not know, lets the relay in."""
    from widget_server import create_app

    if not sa.make_url(db.normalise_url(app_config["DATABASE_URL"])).drivername.startswith("postgresql"):
        pytest.skip("libpq's options")
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=4321")
    app = create_app(app_config)
    try:
        with app.app_context(), db.write() as conn:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "4321ms"
    finally:
        db.get_engine(app).dispose()


@pytest.mark.parametrize("alone", [True, False])
def test_a_connection_cut_while_the_submission_waits_is_settled_by_the_retry(
        app: Any, client: Any, site: Any, submission_body: dict[str, Any], alone: bool) -> None:
    """The relay's socket to the database is cut while the submission's statement waits for a
    lock (a network cut, a proxy's timeout alike): the client gets 503. The server may still
    commit a statement it had received whole (``alone``: committed by itself; in a transaction
    it never sees the ``COMMIT`` and rolls back), so what settles it is the client's retry with
    the same key: one submission either way, the retry answered 201 and replayed after that."""
    import os
    import socket

    from tests.server.test_regressions import _blocked, _in_thread
    from widget_server.intake import hooks

    _pg_only(app)
    engine = db.get_engine(app)
    client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "warm"))
    registry = hooks.of(app)
    if not alone:
        registry.on_submission.append(_writes_nothing)
    relay: list[Any] = []

    def seen(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("WITH claim AS") and not relay:
            relay.append(conn.connection.dbapi_connection)

    sa.event.listen(engine, "before_cursor_execute", seen)
    blocker = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    try:
        with blocker.connect() as other:
            tx = other.begin()
            other.exec_driver_sql("LOCK TABLE submissions IN SHARE MODE")
            thread, out = _in_thread(app, lambda: app.test_client().post(
                "/api/v1/submissions", json=submission_body, headers=_partner(site, "cut")))
            _blocked(blocker, 1)
            pid = relay[0].info.backend_pid
            cut = socket.socket(fileno=os.dup(relay[0].pgconn.socket))
            cut.shutdown(socket.SHUT_RDWR)
            cut.close()
            thread.join(10)
            tx.commit()
        deadline = time.monotonic() + 10
        with blocker.connect() as conn:  # until the relay's old session has committed or rolled back
            while conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                               {"p": pid}).scalar_one():
                conn.rollback()
                assert time.monotonic() < deadline, "the cut session did not end"
                time.sleep(0.02)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
        blocker.dispose()
        if not alone:
            registry.on_submission.remove(_writes_nothing)
    assert out[0].status_code == 503, out[0].get_data(as_text=True)
    retry = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "cut"))
    assert retry.status_code == 201, retry.get_data(as_text=True)
    again = client.post("/api/v1/submissions", json=submission_body, headers=_partner(site, "cut"))
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == retry.get_json()
    assert [_count(t) for t in (db.submissions, db.history, db.outbox, db.idempotency_keys)] == [2, 2, 2, 2]
