"""PostgreSQL, the scale-out store: a pool that pings only a connection that may have died.

On PostgreSQL a request's cost is mostly its round trips to the server: each one is a
context switch on both sides and the backend's CPU, on the same cores as the relay. So:

- No ping on every checkout (``pool_pre_ping`` would add one round trip to every request).
  A connection is pinged when it sat in the pool longer than ``ping_idle_seconds`` (a
  firewall or the server may have dropped it silently), or when its socket is readable
  while idle: a server that ends a session (``pg_terminate_backend``, a restart, an idle
  timeout) says so on the socket and closes it, which costs a ``poll()``, not a round trip.
  A failed ping raises ``DisconnectionError``: the pool opens a new connection (SQLAlchemy's
  custom pessimistic pattern).
- A connection that dies while busy fails its statement; SQLAlchemy then invalidates it and
  every pooled connection older than it (optimistic handling). ``db.query`` retries a
  one-statement read once; a write answers 503 (``StoreUnavailableError``) and, being one
  transaction, leaves nothing half-accepted.
- Reads run without ``BEGIN``/``COMMIT`` (``db.read``): under READ COMMITTED each statement
  takes its own snapshot inside a transaction too, so the transaction bought two round trips
  and nothing else. psycopg sends no ``ROLLBACK`` for the pool's reset of an idle connection.
"""

from __future__ import annotations

import select
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from widget_server.store import direct

#: What ``pg_stat_activity.application_name`` shows for the relay's sessions (unless the URL sets one).
APPLICATION_NAME = "phanhoi-widget"
_IDLE_SINCE = "phanhoi_idle_since"


def make_engine(url: str, ping_idle_seconds: float, wait_seconds: float) -> Engine:
    connect_args = {} if "application_name" in sa.make_url(url).query else {
        "application_name": APPLICATION_NAME}
    # READ COMMITTED named, not left to the server's default: the idempotency claim relies on it
    # (a second claim of a key waits for the first one's commit, then sees its row).
    engine = sa.create_engine(url, pool_size=5, max_overflow=10, hide_parameters=True,
                              isolation_level="READ COMMITTED",
                              connect_args=connect_args)

    spoke = readable(engine)
    lock_timeout = f"{max(1, round(wait_seconds * 1000))}ms"

    @sa.event.listens_for(engine, "connect")
    def _lock_wait(dbapi_conn: Any, _record: Any) -> None:
        # A lock held elsewhere (a migration, an operator's open transaction) makes a statement
        # wait at most this long, then fail: 503 with Retry-After, not a worker killed by its
        # timeout with the client left without an answer. One set by the role, the database or
        # PGOPTIONS is kept. Once per new connection.
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, false) WHERE current_setting('lock_timeout') = '0'",
                        (lock_timeout,))
        dbapi_conn.commit()

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None:  # just connected
            return
        if time.monotonic() - since < ping_idle_seconds and not spoke(dbapi_conn):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: this connection is not to be trusted
            raise sa.exc.DisconnectionError("the pooled connection is gone") from exc

    return engine


def read_committed_alone(conn: Connection) -> bool:
    """Whether a statement that commits by itself (``db.write_one``) runs READ COMMITTED on this
    session, as the relay's transactions do (SQLAlchemy names the level in each ``BEGIN``): the
    server's, the database's or the role's default (``default_transaction_isolation``, also
    settable by ``PGOPTIONS`` or the URL's ``options``). Asked once per connection."""
    info = conn.connection.info
    found = info.get(_DEFAULT_ISOLATION)
    if found is None:
        found = info[_DEFAULT_ISOLATION] = _SHOW_DEFAULT_ISOLATION.rows(conn)[0][0]
    return found == "read committed"


_DEFAULT_ISOLATION = "phanhoi_default_isolation"
_SHOW_DEFAULT_ISOLATION = direct.Statement(sa.select(sa.func.current_setting("default_transaction_isolation")))


def _readable(dbapi_conn: Any, error: type[Exception]) -> bool:
    """Whether the server sent something to a connection nobody is using: its goodbye, mostly."""
    try:
        fd = dbapi_conn.fileno()
    except (error, OSError, ValueError):  # closed already
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def readable(engine: Engine) -> Any:
    """``_readable`` with the engine's driver errors (the pool's checkout, the kept connection)."""
    error = engine.dialect.loaded_dbapi.Error
    return lambda dbapi_conn: _readable(dbapi_conn, error)
