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
from sqlalchemy.engine import Connection, Dialect

from widget_server.store import db, direct


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
    msg_id, ready = prepare(conn.dialect, destination=destination, event_type=event_type, data=data,
                            submission_id=submission_id, at=at)
    ready.run(conn)
    return msg_id


def prepare(dialect: Dialect, *, destination: str, event_type: str, data: dict[str, Any],
            submission_id: str | None = None, at: dt.datetime | None = None) -> tuple[str, direct.Prepared]:
    """``enqueue``'s message id and statement, made before the transaction that runs it
    (``Prepared.run``)."""
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
    # On PostgreSQL the row and the wake-up in one statement (one round trip). NOTIFY is
    # delivered on commit, never for a rolled-back row; workers that miss it still poll.
    return msg_id, (_INSERT_AND_NOTIFY if dialect.name == "postgresql" else _INSERT).prepare(dialect, row)


# Built once, run on the driver's cursor (store/direct.py): every submission writes one.
_COLUMNS = ("id", "destination", "event_type", "submission_id", "payload", "state", "attempts",
            "next_attempt_at", "created_at")
_insert = sa.insert(db.outbox).values(
    {name: sa.bindparam(name, type_=db.outbox.c[name].type) for name in _COLUMNS})
_INSERT = direct.Statement(_insert)
_INSERT_AND_NOTIFY = direct.Statement(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")).select_from(
    _insert.returning(db.outbox.c.id).cte("inserted")))
