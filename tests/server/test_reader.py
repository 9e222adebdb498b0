"""The connection a process keeps for one-statement reads (store/reader.py): reused between
reads, replaced when stale, never shared with a forked child, closed with its engine, and
whatever it lends to the pool comes back ready for a transaction."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from widget_server.store import db, direct, reader

BACKEND = direct.Statement(sa.select(sa.literal(1).label("one")))


def _session(conn: Any) -> Any:
    """What tells one database session from another: the backend's pid, SQLite's connection."""
    dbapi_conn = conn.connection.dbapi_connection
    info = getattr(dbapi_conn, "info", None)
    return getattr(info, "backend_pid", None) or id(dbapi_conn)


def _kept(engine: Any) -> Any:
    with reader.of(engine).connection() as conn:
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
    kept = reader.of(engine)
    kept.idle_seconds = 0.0  # every read now finds it stale: back to the pool (which pings), out again
    for _ in range(2):
        assert db.query(BACKEND) == [(1,)]
    assert len(checkouts) == 3
    with engine.connect() as other:  # what went back to the pool is transactional
        assert getattr(other.connection.driver_connection, "autocommit", False) is False


def test_a_busy_reader_lends_a_pooled_connection_and_gets_it_back_transactional(app: Any) -> None:
    engine = db.get_engine(app)
    kept = reader.of(engine)
    seen: list[Any] = []
    with kept.connection() as mine:
        def other() -> None:
            with app.app_context(), kept.connection() as theirs:
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
    with reader.of(engine).connection() as conn:
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
