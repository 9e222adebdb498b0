"""SQLite, the embedded store: a private file, WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` writes."""

from __future__ import annotations

import contextlib
import os

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def create_private(url: str) -> None:
    """Create the SQLite file 0600 (owner only) before SQLite does: it holds names and phones.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions, so they
    follow. A file left world-readable by an earlier version is tightened.
    """
    path = sa.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
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


def make_engine(url: str) -> Engine:
    create_private(url)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    @sa.event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("phanhoi_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
