"""One engine per app, and the transactions the layers above open on it (``db.read``, ``db.write``).

``widget_server.store.db`` re-exports everything here: callers write ``db.write()``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.engine import Connection, Engine

from widget_server.config import SETTINGS
from widget_server.errors import StoreUnavailableError
from widget_server.store import direct, kept, postgres, sqlite, watch

#: Seconds a pooled PostgreSQL connection may sit unused before it is pinged on its next checkout.
PING_IDLE_SECONDS: float = SETTINGS["DB_PING_IDLE_SECONDS"].default
#: Seconds a statement waits for a lock before the store counts as unavailable (503).
WAIT_SECONDS: float = SETTINGS["STORE_WAIT_SECONDS"].default


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, ping_idle_seconds: float = PING_IDLE_SECONDS,
                wait_seconds: float = WAIT_SECONDS) -> Engine:
    url = normalise_url(url)
    # Statements' parameters and result rows are citizens' names and contacts: they stay out
    # of logs and error messages even when the root logger is turned up to DEBUG.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    if url.startswith("sqlite"):
        engine = sqlite.make_engine(url, wait_seconds)
        kept.attach(engine, float("inf"), lambda _dbapi_conn: False)
    else:
        engine = postgres.make_engine(url, ping_idle_seconds, wait_seconds)
        kept.attach(engine, ping_idle_seconds, postgres.readable(engine))
    watch.listen(engine)
    return engine


def get_engine(app: Flask | None = None) -> Engine:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions["phanhoi_engine"]


@contextlib.contextmanager
def write(engine: Engine | None = None) -> Iterator[Connection]:
    """One write transaction; commits on success. ``BEGIN IMMEDIATE`` on SQLite.

    A store that cannot take it (disk full, database down or locked past the busy
    timeout, the connection lost on the way) raises StoreUnavailableError: nothing
    was accepted; try again (503).
    """
    engine = engine or get_engine()
    # On the connection the process keeps (store/kept.py), or one from the pool while it is busy.
    # On SQLite, writers take turns in the write gate first (store/sqlite.py): no busy-handler naps.
    with _available(), kept.of(engine).connection(writing=True) as conn:
        # The kept connection outlives the transaction: ``writing`` unmarks it, whatever way the
        # transaction ends, so its next read begins no write.
        with sqlite.write_turn(engine), sqlite.writing(conn), conn.begin():
            yield conn
        touched = watch.touched(conn)
    _expire_caches(touched)


def _expire_caches(touched: bool) -> None:
    """What this process wrote to a cached table, its own caches see on the next read
    (store/versions.py); other writes (a submission, an outbox row) cost the readers nothing."""
    if touched and has_app_context() and (found := current_app.extensions.get("phanhoi_versions")):
        found.expire()


@contextlib.contextmanager
def read(engine: Engine | None = None) -> Iterator[Connection]:
    """A connection for reading. On SQLite a transaction: one snapshot for all its statements.

    On PostgreSQL no ``BEGIN``/``COMMIT`` (autocommit): under its READ COMMITTED each statement
    sees its own snapshot inside a transaction as well, so the transaction would add two round
    trips and no consistency. Nothing may be written through it.
    """
    with _available(), (engine or get_engine()).connect() as conn:
        if conn.dialect.name == "postgresql":
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            with conn.begin():
                yield conn


def query(statement: direct.Statement, params: Mapping[str, Any] | None = None,
          engine: Engine | None = None) -> Sequence[Any]:
    """The rows of one read statement, on the connection the process keeps for such reads
    (store/kept.py: autocommit, so no BEGIN/COMMIT on either store) and the driver's cursor
    (store/direct.py): a status lookup's way. Run once more on a new connection when the one it
    had died under it (a server restart, an ended session): a read has nothing to undo."""
    engine = engine or get_engine()
    for attempt in range(2):
        try:
            with _available(), kept.of(engine).connection(rerun=True) as conn:
                return statement.rows(conn, params)
        except StoreUnavailableError as exc:
            if attempt or not getattr(exc.__cause__, "connection_invalidated", False):
                raise
    raise AssertionError("unreachable")


def write_one(statement: direct.Statement, params: Mapping[str, Any] | None = None,
              engine: Engine | None = None) -> Sequence[Any]:
    """The rows of one writing statement that is atomic by itself, committed by itself:
    PostgreSQL's autocommit on the kept connection, no ``BEGIN`` and no ``COMMIT`` (two round
    trips and SQLAlchemy's transaction fewer than ``write``). On a session whose default
    isolation is not READ COMMITTED (a role or server set otherwise) it runs in a ``write``
    transaction instead, which names the level. PostgreSQL only (a SQLite write takes the write
    gate and ``BEGIN IMMEDIATE``: ``write``).

    Never run again. A connection lost under it raises StoreUnavailableError (503) with the
    outcome unknown: the server may still run and commit a statement it had received whole
    (a transaction's window is its ``COMMIT`` alone). An ``Idempotency-Key`` settles it: the
    retry gets the stored answer, or stores the submission then."""
    engine = engine or get_engine()
    if engine.dialect.name != "postgresql":
        raise ValueError("write_one is for PostgreSQL; use write()")
    with _available(), kept.of(engine).connection() as conn:
        alone = postgres.read_committed_alone(conn)
        if alone:
            found = statement.rows(conn, params)
            touched = watch.touched(conn)
    if not alone:
        with write(engine) as conn:
            return statement.rows(conn, params)
    _expire_caches(touched)
    return found


@contextlib.contextmanager
def _available() -> Iterator[None]:
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise StoreUnavailableError() from exc


def insert_for(dialect: str) -> Any:
    """``insert`` of a dialect that has ``ON CONFLICT`` (spelt alike on PostgreSQL and SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"],
                         ping_idle_seconds=float(app.config["DB_PING_IDLE_SECONDS"]),
                         wait_seconds=float(app.config["STORE_WAIT_SECONDS"]))
    app.extensions["phanhoi_engine"] = engine
