"""The reference central system's own storage: one SQLite file, plain ``sqlite3``.

Write transactions start with ``BEGIN IMMEDIATE`` so concurrent intake requests
(the relay retries, several relay workers) queue up instead of failing on a
lock upgrade, and the duplicate check and the insert happen under one lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    webhook_id  TEXT PRIMARY KEY,          -- every message accepted once, by webhook-id
    type        TEXT NOT NULL,
    central_id  TEXT,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    central_id    TEXT PRIMARY KEY,
    relay_id      TEXT NOT NULL UNIQUE,    -- the relay's submission id
    tracking_code TEXT,
    site_key      TEXT,
    site_name     TEXT,
    category      TEXT,
    agency        TEXT,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    commune_code  TEXT,                    -- the commune (xã, phường) the citizen chose
    address       TEXT,
    name          TEXT,
    phone         TEXT,
    email         TEXT,
    confidential  INTEGER NOT NULL DEFAULT 1,
    status        TEXT NOT NULL,
    note          TEXT,
    answer        TEXT,
    answer_agency TEXT,
    deadline      TEXT,
    sequence      INTEGER NOT NULL DEFAULT 0,
    received_at   TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    data          TEXT NOT NULL            -- the forwarded body's data, as received
);
CREATE TABLE IF NOT EXISTS relay_events (
    webhook_id  TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    relay_id    TEXT,
    data        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outgoing (      -- status events for the relay, kept until sent
    msg_id     TEXT PRIMARY KEY,
    central_id TEXT NOT NULL,
    sequence   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    error      TEXT
);
CREATE INDEX IF NOT EXISTS ix_outgoing_central ON outgoing (central_id, sequence);
CREATE TABLE IF NOT EXISTS public_results (  -- "công khai kết quả": public text only, kept until sent
    result_id   TEXT PRIMARY KEY,
    central_id  TEXT,                      -- set when the PAKN came through the relay
    title       TEXT NOT NULL,
    question    TEXT,
    answer      TEXT NOT NULL,
    category    TEXT,
    agency      TEXT,
    received_at TEXT,
    answered_at TEXT,
    deadline    TEXT,
    withdrawn   INTEGER NOT NULL DEFAULT 0,
    msg_id      TEXT NOT NULL,             -- the event to send (a new one on every change)
    event_type  TEXT NOT NULL,
    event_at    TEXT NOT NULL,             -- the event's timestamp: the relay keeps the newest
    sent_at     TEXT,
    error       TEXT
);
"""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


# Columns added after the first release, for databases made before them.
ADDED_COLUMNS = {"submissions": {"commune_code": "TEXT"}}


def init(path: str) -> None:
    conn = connect(path)
    try:
        conn.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    finally:
        conn.close()


@contextlib.contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
