"""The connection a process keeps for one-statement reads and write transactions (store/kept.py):
reused between requests, replaced when stale, never shared with a forked child, closed with its
engine; a write on it is one transaction however it ends, the reads after it are in autocommit
again, and whatever it lends to the pool comes back ready for a transaction."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from widget_server.store import db, direct, kept

BACKEND = direct.Statement(sa.select(sa.literal(1).label("one")))
_k = db.idempotency_keys.c
KEYS = direct.Statement(sa.select(_k.key).where(_k.key.like(sa.bindparam("prefix") + "%")).order_by(_k.key))


def _key(site_id: int, key: str) -> dict[str, Any]:
    return {"site_id": site_id, "key": key, "request_hash": "h" * 64, "status_code": 201,
            "response": {}, "created_at": db.utcnow()}


def _autocommit(conn: Any) -> bool:
    """Whether the session commits each statement by itself: psycopg's flag; on SQLite, whose
    driver the relay leaves in autocommit (its ``begin`` event sends BEGIN), no transaction open."""
    driver = conn.connection.driver_connection
    if db.is_postgres(conn):
        return bool(driver.autocommit)
    return not driver.in_transaction


def _session(conn: Any) -> Any:
    """What tells one database session from another: the backend's pid, SQLite's connection."""
    dbapi_conn = conn.connection.dbapi_connection
    info = getattr(dbapi_conn, "info", None)
    return getattr(info, "backend_pid", None) or id(dbapi_conn)


def _kept(engine: Any) -> Any:
    with kept.of(engine).connection() as conn:
        return _session(conn)


def test_reads_reuse_one_connection_until_it_sat_idle_too_long(app: Any) -> None:
    engine = db.get_engine(app)
    checkouts: list[bool] = []
    sa.event.listen(engine, "checkout", lambda *_args: checkouts.append(True))
    first = _kept(engine)
    for _ in range(3):
        assert db.query(BACKEND) == [(1,)]
    assert _kept(engine) == first
    assert len(checkouts) == 1  # taken from the pool once
    held = kept.of(engine)
    held.idle_seconds = 0.0  # every read now finds it stale: back to the pool (which pings), out again
    for _ in range(2):
        assert db.query(BACKEND) == [(1,)]
    assert len(checkouts) == 3
    with engine.connect() as other:  # what went back to the pool is transactional
        assert getattr(other.connection.driver_connection, "autocommit", False) is False


def test_a_busy_kept_connection_lends_a_pooled_connection_and_gets_it_back_transactional(app: Any) -> None:
    engine = db.get_engine(app)
    held = kept.of(engine)
    seen: list[Any] = []
    with held.connection() as mine:
        def other() -> None:
            with app.app_context(), held.connection() as theirs:
                seen.append((_session(theirs), theirs is mine))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert seen and seen[0][1] is False and seen[0][0] != _session(mine)
    with engine.connect() as pooled:
        assert getattr(pooled.connection.driver_connection, "autocommit", False) is False
        assert not pooled.in_transaction()


def test_the_engine_disposed_closes_the_kept_connection(app: Any) -> None:
    engine = db.get_engine(app)
    with kept.of(engine).connection() as conn:
        dbapi_conn = conn.connection.dbapi_connection
    engine.dispose()
    if db.is_postgres(engine):
        assert dbapi_conn.closed
    else:
        with pytest.raises(Exception, match="closed"):
            dbapi_conn.execute("SELECT 1")
    assert db.query(BACKEND) == [(1,)]  # and the next read takes a new one


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_reads_on_its_own_connection(app: Any) -> None:
    """A gunicorn worker forked from a master that had read: the child must neither use the
    parent's session nor end it."""
    engine = db.get_engine(app)
    parent = _kept(engine)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            engine.pool = engine.pool.recreate()  # what a worker does with an inherited pool
            with app.app_context():
                child = _kept(engine)
                ok = db.query(BACKEND) == [(1,)] and child != parent
            os.write(write, b"ok" if ok else b"no")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    answer = os.read(read, 2)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert answer == b"ok" and status == 0
    assert _kept(engine) == parent  # the parent's session lives on
    assert db.query(BACKEND) == [(1,)]


def test_writes_and_reads_share_the_kept_connection(app: Any, site: Any) -> None:
    """A submission's write and a lookup's read took a connection from the pool each (its
    checkout, checkin and reset): now the process's kept connection serves both."""
    engine = db.get_engine(app)
    checkouts: list[bool] = []
    mine = _kept(engine)
    sa.event.listen(engine, "checkout", lambda *_args: checkouts.append(True))
    for n in range(3):
        with db.write() as conn:
            assert _session(conn) == mine
            assert not _autocommit(conn)  # the write is one transaction
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, f"shared-{n}"))
        assert [r.key for r in db.query(KEYS, {"prefix": "shared-"})][-1] == f"shared-{n}"
    assert checkouts == []
    with kept.of(engine).connection() as conn:
        assert _autocommit(conn)  # and a read after it commits nothing it did not do


def test_a_write_that_fails_on_the_kept_connection_leaves_nothing_and_reads_go_on(app: Any, site: Any) -> None:
    engine = db.get_engine(app)
    with pytest.raises(RuntimeError):
        with db.write() as conn:
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "failed-1"))
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "failed-2"))
            raise RuntimeError("after two statements, before the commit")
    with pytest.raises(sa.exc.IntegrityError):
        with db.write() as conn:
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "dup-1"))
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "dup-1"))
    assert db.query(KEYS, {"prefix": "failed-"}) == [] and db.query(KEYS, {"prefix": "dup-"}) == []
    with kept.of(engine).connection() as conn:
        assert _autocommit(conn) and not conn.in_transaction()
        kept_session = _session(conn)
    with db.write() as conn:  # the same connection, a transaction again
        assert _session(conn) == kept_session and not _autocommit(conn)
        conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "after"))
    assert [r.key for r in db.query(KEYS, {"prefix": "after"})] == ["after"]


def test_a_write_while_the_kept_connection_is_busy_takes_one_from_the_pool(app: Any, site: Any) -> None:
    engine = db.get_engine(app)
    with kept.of(engine).connection() as held:
        with db.write() as conn:
            assert _session(conn) != _session(held) and not _autocommit(conn)
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "pooled"))
        assert _autocommit(held)
    assert [r.key for r in db.query(KEYS, {"prefix": "pooled"})] == ["pooled"]
    if db.is_postgres(engine):  # what it lent went back to the pool transactional
        with engine.connect() as pooled:
            assert pooled.connection.driver_connection.autocommit is False


def test_a_transaction_after_a_write_on_the_kept_connection_takes_no_write_lock(app: Any, site: Any) -> None:
    """SQLite: a write transaction begins with BEGIN IMMEDIATE (the file's one write lock); the
    mark that asks for it is gone when the write ends, committed or not, so a read transaction
    on the same connection afterwards begins with a plain BEGIN and never waits for writers."""
    from tests.helpers import statements_seen

    engine = db.get_engine(app)
    with db.write() as conn:
        conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "mark-1"))
    with pytest.raises(RuntimeError):
        with db.write() as conn:
            raise RuntimeError("before the commit")
    with statements_seen(engine, lambda _cursor, sql, _params: sql) as seen:
        with kept.of(engine).connection() as conn, conn.begin():
            conn.execute(sa.select(sa.literal(1))).scalar_one()
        with db.write() as conn:  # and the next write still asks for the lock
            conn.execute(sa.insert(db.idempotency_keys), _key(site[0].id, "mark-2"))
    begins = [s for s in seen if s.startswith("BEGIN")]
    if db.is_postgres(engine):
        assert begins == []  # psycopg begins by itself
    else:
        assert begins == ["BEGIN", "BEGIN IMMEDIATE"], seen
