"""Which writes change what processes cache: the tables ``store/versions.py`` follows.

Every statement an engine runs passes ``note``: an INSERT, UPDATE or DELETE on a cached
table marks the connection, and ``db.write`` then lets this process's caches read the
counters at once (other processes see the change within ``VERSION_CHECK_SECONDS``).
A submission or an outbox row touches none of them, so it costs the readers nothing.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

#: Each cached table and the counter (``versions.name``) its trigger bumps (migration 0009).
WATCHED = {"sites": "sites", "reference_lists": "reference", "published_results": "results"}

_MARK = "phanhoi_touched_cached"
_TABLES = "|".join(WATCHED)
_WRITE = re.compile(rf'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(?:{_TABLES})"?[\s(]', re.IGNORECASE)


def note(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
         executemany: bool) -> None:
    if _WRITE.match(statement):
        conn.info[_MARK] = True


def listen(engine: Engine) -> None:
    sa.event.listen(engine, "before_cursor_execute", note)


def touched(conn: Connection) -> bool:
    """Whether the transaction just ended wrote a cached table (and forget it)."""
    return bool(conn.info.pop(_MARK, False))
