"""Readiness: can the store take a write now, not merely answer a read."""

from __future__ import annotations

import os
import shutil

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from widget_server.store import sqlite

# With less room than this for the SQLite file (its disk, or its max_page_count) the relay is not
# ready: a submission with files and its outbox copy need a few megabytes.
MIN_FREE_BYTES = 16 * 1024 * 1024


def write_problem(engine: Engine) -> str | None:
    """None when a write would succeed; otherwise why not (no personal data, for the operator)."""
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                return _sqlite(conn)
            # A transaction id is only given to a session that may write (not a read-only replica).
            with conn.begin():
                conn.execute(sa.text("SELECT txid_current()"))
    except sa.exc.DBAPIError as exc:
        return type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    return None


def _sqlite(conn: sa.Connection) -> str | None:
    # The write transaction starts with BEGIN IMMEDIATE (store/sqlite.py): it takes the write
    # lock, so a read-only or locked file says so here. Nothing is written; it rolls back.
    with sqlite.writing(conn), conn.begin():
        pass
    pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
              for name in ("page_count", "max_page_count", "freelist_count", "page_size")}
    room = (pragma["max_page_count"] - pragma["page_count"] + pragma["freelist_count"]) * pragma["page_size"]
    if room < MIN_FREE_BYTES:
        return "database full (max_page_count)"
    # SQLite's own answer for where the file is: a plain path, a ``file:`` URI (relative or not),
    # or nothing at all for a database in memory.
    path = next((row[2] for row in conn.exec_driver_sql("PRAGMA database_list") if row[1] == "main"), "")
    if path:
        needed = MIN_FREE_BYTES + wal_growth(path, pragma["page_size"])
        if shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < needed:
            return "disk full"
    return None


def wal_growth(path: str, page_size: int) -> int:
    """Bytes the WAL beside ``path`` may still take before its next checkpoint: it grows to about
    ``checkpoint_pages`` pages (40 MB) and keeps that size, used again from its start."""
    try:
        size = os.path.getsize(path + "-wal")
    except OSError:
        size = 0
    full = _WAL_HEADER + sqlite.checkpoint_pages(page_size) * (_FRAME_HEADER + page_size)
    return max(0, full - size)


# The WAL file's layout (sqlite.org/fileformat.html, "WAL file format"): a header, then a frame
# per page written, each a header and the page.
_WAL_HEADER, _FRAME_HEADER = 32, 24
