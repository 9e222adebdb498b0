"""SQLite, the embedded store: a private file, WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` writes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from widget_server.errors import StoreUnavailableError
from widget_server.store import direct

#: How long a writer waits for the others before the store counts as unavailable (503): the
#: default of ``PHANHOI_STORE_WAIT_SECONDS``. Well under gunicorn's worker timeout (30 s unless
#: ``serve`` sets it): a worker still waiting then would be killed, and its client get no answer.
WRITE_TIMEOUT_SECONDS = 10.0

#: Pages in the WAL after which the committing writer copies them into the database (SQLite's
#: automatic checkpoint; its default is 1,000). A submission writes about 17 pages (four rows
#: and their indexes), so the default checkpointed every 60 submissions, each time inside a
#: writer's turn with its own two ``fsync``: the other workers waited, and the pages written
#: again and again (the indexes' newest leaves) were copied each time. At 10,000 pages (about
#: 40 MB of WAL) it runs every 600 submissions and copies each such page once: two sync workers
#: took 0.23–0.26 of bare Flask's ``POST`` rate instead of 0.20–0.23 (bench/README.md). Every
#: commit is still ``fsync``ed (``synchronous=FULL``); a checkpoint only moves committed pages.
#: The figure is for SQLite's usual 4 KB pages: a file made elsewhere with other pages gets as
#: many bytes of WAL (``checkpoint_pages``), not as many pages (16 KB pages made it 160 MB).
WAL_CHECKPOINT_PAGES = 10_000
#: After a checkpoint the WAL is used again from its start; SQLite leaves the file at the
#: largest size it reached. One grown past this (a reader kept the checkpoint from finishing
#: while writes went on) is cut back to it.
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def create_private(url: str) -> None:
    """Create the SQLite file 0600 (owner only) before SQLite does: it holds names and phones.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions, so they
    follow. A file left world-readable by an earlier version is tightened.
    """
    path = _file_path(url)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        for name in (path, path + "-wal", path + "-shm"):
            with contextlib.suppress(OSError):
                if os.stat(name).st_mode & 0o077:
                    os.chmod(name, 0o600)
    except OSError:
        return  # a missing directory: SQLite reports it when it opens the file


class WriteGate:
    """Writers to one SQLite file wait here, in turn, rather than in SQLite's busy handler.

    SQLite lets one writer in at a time; the others sleep in its busy handler for 1, 2, 5,
    10 … ms between tries, so two busy gunicorn workers spend most of their time asleep
    while the lock is free (a submission holds it for well under a millisecond). Here a
    thread waits on a lock that wakes it at once, and a process on an ``flock`` of a file
    beside the database, tried again after 50 µs, 100 µs … at most 2 ms apart. SQLite's own
    lock still decides: a process that does not pass through here (the ``sqlite3`` shell, an
    older relay) is waited for by SQLite's busy timeout as before, so correctness never
    depends on the gate, only the waiting does.
    """

    def __init__(self, path: str | None, timeout: float = WRITE_TIMEOUT_SECONDS) -> None:
        self.path = path + ".write-lock" if path else None
        self.timeout = timeout
        self._pid = -1
        self._threads = threading.Lock()
        self._fd: int | None = None

    def _fork_safe(self) -> None:
        # A gate inherited through fork shares the parent's open file (and flock): start afresh,
        # and close the inherited copy, which would keep the parent's flock alive after the
        # parent (closing a copy releases nothing while the parent still has it open).
        if self._pid != os.getpid():
            inherited = self._fd
            self._pid, self._threads, self._fd = os.getpid(), threading.Lock(), None
            if inherited is not None:
                with contextlib.suppress(OSError):
                    os.close(inherited)

    def _file(self) -> int | None:
        if self._fd is None and self.path:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self.path = None  # a read-only folder: SQLite's busy handler alone, as before
        return self._fd

    def close(self) -> None:
        """Let the lock file go (the engine was disposed); it is opened again when next needed."""
        fd, self._fd = self._fd, None
        if fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(fd)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._fork_safe()
        deadline = time.monotonic() + self.timeout
        threads = self._threads
        if not threads.acquire(timeout=self.timeout):
            raise StoreUnavailableError()
        try:
            fd = self._file()
            if fd is not None:
                self._flock(fd, deadline)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            threads.release()

    @staticmethod
    def _flock(fd: int, deadline: float) -> None:
        delay = 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailableError() from None
                time.sleep(delay)
                delay = min(delay * 2, 0.002)


_gates: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """Hold this engine's write gate (SQLite) for one write transaction; nothing elsewhere."""
    gate = _gates.get(engine)
    if gate is None:
        yield
        return
    with gate.held():
        yield


#: Set in a connection's ``info`` while its next transaction is a write (``writing``).
_WRITING = "phanhoi_write"


@contextlib.contextmanager
def writing(conn: Connection) -> Iterator[Connection]:
    """The transactions begun on ``conn`` inside start with ``BEGIN IMMEDIATE`` (SQLite; a flag
    elsewhere nobody reads). A flag in the connection's ``info``, not an execution option:
    setting and clearing one ran SQLAlchemy's option machinery twice per submission (3 % of its
    CPU)."""
    info = conn.info
    info[_WRITING] = True
    try:
        yield conn
    finally:
        info.pop(_WRITING, None)


# On the driver's cursor (store/direct.py): every write transaction starts with one.
_BEGIN_WRITE = direct.Statement(sa.text("BEGIN IMMEDIATE"))
_BEGIN = direct.Statement(sa.text("BEGIN"))


def checkpoint_pages(page_size: int) -> int:
    """``wal_autocheckpoint`` for a file of ``page_size`` pages: ``WAL_CHECKPOINT_PAGES`` of 4 KB."""
    return max(1, WAL_CHECKPOINT_PAGES * 4096 // page_size)


def _file_path(url: str) -> str | None:
    path = sa.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def make_engine(url: str, wait_seconds: float = WRITE_TIMEOUT_SECONDS) -> Engine:
    create_private(url)
    engine = sa.create_engine(url, connect_args={"timeout": wait_seconds}, hide_parameters=True)
    gate = _gates[engine] = WriteGate(_file_path(url), wait_seconds)
    sa.event.listen(engine, "engine_disposed", lambda _engine: gate.close())
    weakref.finalize(engine, gate.close)

    @sa.event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        page_size = cur.execute("PRAGMA page_size").fetchone()[0]
        cur.execute(f"PRAGMA wal_autocheckpoint={checkpoint_pages(page_size)}")
        cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={max(1, round(wait_seconds * 1000))}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        (_BEGIN_WRITE if conn.info.get(_WRITING) else _BEGIN).run(conn)

    return engine
