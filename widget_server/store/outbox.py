"""The outbox table's writer: an event stored in the same transaction as the change it announces.

The domain calls ``enqueue`` inside its own transaction, so nothing accepted is
lost and nothing is sent that was not stored; ``widget_server.delivery`` reads
the rows back as a queue.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from widget_server.store import db


#: PostgreSQL channel on which a committed outbox row wakes idle workers at once.
NOTIFY_CHANNEL = "phanhoi_outbox"


def new_message_id() -> str:
    """A Standard Webhooks message id; constant across every retry of one event."""
    return "msg_" + secrets.token_urlsafe(18)


def enqueue(
    conn: Connection,
    *,
    destination: str,
    event_type: str,
    data: dict[str, Any],
    submission_id: str | None = None,
    at: dt.datetime | None = None,
) -> str:
    """Add an event to the outbox inside the caller's transaction; returns its message id."""
    msg_id = new_message_id()
    now = at or db.utcnow()
    row = {
        "id": msg_id,
        "destination": destination,
        "event_type": event_type,
        "submission_id": submission_id,
        "payload": {"type": event_type, "data": data},
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    if conn.dialect.name == "postgresql":
        # The row and the wake-up in one statement (one round trip). NOTIFY is delivered on
        # commit, never for a rolled-back row; workers that miss it still poll.
        conn.execute(_INSERT_AND_NOTIFY, row)
    else:
        conn.execute(_INSERT, row)
    return msg_id


# Built once: statement and parameters apart, so SQLAlchemy compiles each statement once.
_INSERT = sa.insert(db.outbox)
_COLUMNS = ("id", "destination", "event_type", "submission_id", "payload", "state", "attempts",
            "next_attempt_at", "created_at")
_inserted = (sa.insert(db.outbox)
             .values({name: sa.bindparam(name, type_=db.outbox.c[name].type) for name in _COLUMNS})
             .returning(db.outbox.c.id).cte("inserted"))
_INSERT_AND_NOTIFY = sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")).select_from(_inserted)
