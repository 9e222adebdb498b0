"""The connection a process keeps between requests: a status lookup's read, a submission's write.

Taking a connection from SQLAlchemy's pool and giving it back (the ``Connection`` object,
the checkout and checkin events, the reset, the PostgreSQL session's switch to autocommit and
back) cost a PostgreSQL lookup about a sixth of its CPU, more than the driver's own work, and
a new submission 0.05 ms (SQLite) to 0.1 ms (PostgreSQL). So each engine keeps one pooled
connection for ``db.query`` and ``db.write``:

- one per process, taken by whichever thread finds it free; a thread that finds it busy
  takes a connection from the pool as before (a gunicorn sync worker never does; a write
  inside a read or another write gets its own, as it did);
- between uses in autocommit, as a read wants it (no ``BEGIN``/``COMMIT`` on either store); a
  write switches the PostgreSQL session to transactions for its one transaction and back
  (a flag of the driver's, no round trip), whatever way the transaction ends;
- checked as the pool checks its own: when it sat unused past ``idle_seconds``, or its socket
  shows the server closed it, it goes back to the pool (whose checkout pings it) and a fresh
  one is taken; a connection that fails under a statement is invalidated (``direct.py``) and
  replaced on the next use. A read that runs again on a lost connection (``db.query``, a
  status lookup) does not ask the socket: a system call per lookup, for the rare session the
  server ended, which the second run settles;
- given back to the pool transactional again, closed when the engine is disposed; after a
  fork the child never touches the parent's (it takes its own).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

#: Connections left by a parent process across a fork: kept referenced, never used or closed
#: (closing one would send the parent's session a goodbye over the shared socket).
_inherited: list[Connection] = []


def of(engine: Engine) -> Kept:
    """The engine's kept connection (``attach`` made it with the engine)."""
    return getattr(engine, _ATTRIBUTE)  # type: ignore[no-any-return]


def attach(engine: Engine, idle_seconds: float, readable: Callable[[Any], bool]) -> None:
    # An attribute of the engine, not an entry of a module's dictionary: a held connection
    # refers to its engine, and a dictionary would keep both alive after their last user.
    setattr(engine, _ATTRIBUTE, Kept(engine, idle_seconds, readable))


_ATTRIBUTE = "phanhoi_kept"


class Kept:
    def __init__(self, engine: Engine, idle_seconds: float, readable: Callable[[Any], bool]) -> None:
        self._engine = weakref.ref(engine)  # the engine keeps its Kept, not the other way
        self.idle_seconds = idle_seconds
        self.readable = readable  # whether the server already spoke on an idle connection
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._pid = os.getpid()
        self._used_at = 0.0
        # The pool it came from is gone by then: close the connection itself.
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close(dispose=True))

    @contextmanager
    def connection(self, *, writing: bool = False, rerun: bool = False) -> Iterator[Connection]:
        """The kept connection, or one from the pool while another thread has it: in autocommit
        for a read; for ``writing``, transactional (the caller begins and ends its transaction).

        ``rerun``: the caller runs its statement again on a new connection when this one turns
        out lost (``db.query``), so its socket is not asked first (a system call per read)."""
        if not self._lock.acquire(blocking=False):
            own = self.engine().connect()
            try:
                yield own if writing else _autocommit(own)
            finally:
                _give_back(own)
            return
        try:
            conn = self._fresh(ask_socket=not rerun)
            if writing:
                _transactional(conn)
            try:
                yield conn
            finally:
                if writing and not _restored(conn):
                    self._give_back()
            self._used_at = time.monotonic()
        finally:
            self._lock.release()

    def engine(self) -> Engine:
        engine = self._engine()
        assert engine is not None, "a kept connection outlived its engine"
        return engine

    def close(self, *, dispose: bool = False) -> None:
        with self._lock:
            if dispose and self._conn is not None and self._pid == os.getpid():
                self._conn.invalidate()
            self._give_back()

    # ------------------------------------------------------------------ internals

    def _fresh(self, *, ask_socket: bool) -> Connection:
        if self._pid != os.getpid():  # forked: the parent's connection is not ours to use
            if self._conn is not None:
                _inherited.append(self._conn)
            self._conn, self._pid = None, os.getpid()
        conn = self._conn
        if conn is not None and (conn.invalidated or conn.closed
                                 or time.monotonic() - self._used_at >= self.idle_seconds
                                 or (ask_socket and self.readable(conn.connection.dbapi_connection))):
            self._give_back()
            conn = None
        if conn is None:
            conn = self._conn = _autocommit(self.engine().connect())
        return conn

    def _give_back(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._pid == os.getpid():
            _give_back(conn)
        else:  # the parent's, seen first here: kept, never closed (see ``_inherited``)
            _inherited.append(conn)
            self._pid = os.getpid()


def _autocommit(conn: Connection) -> Connection:
    if conn.dialect.name == "postgresql":  # SQLite's driver runs in autocommit mode already
        driver: Any = conn.connection.driver_connection
        driver.autocommit = True  # no BEGIN sent before a read, no ROLLBACK when it goes back
    return conn


def _transactional(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        driver: Any = conn.connection.driver_connection
        driver.autocommit = False


def _restored(conn: Connection) -> bool:
    """The kept connection in autocommit again after a write; False when it cannot be (lost,
    or a transaction left open): then it goes back to the pool, which resets or replaces it."""
    if conn.invalidated or conn.closed or conn.in_transaction():
        return False
    try:
        _autocommit(conn)
    except Exception:  # noqa: BLE001 - the driver refused (a session in a bad state)
        return False
    return True


def _give_back(conn: Connection) -> None:
    """To the pool, transactional again, as every other user of the pool expects it."""
    try:
        if not (conn.invalidated or conn.closed):
            _transactional(conn)
        conn.close()
    except Exception:  # noqa: BLE001 - a broken connection: the pool replaces it
        conn.invalidate()
