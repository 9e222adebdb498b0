"""Transactional outbox: events are stored in the same transaction as the change they announce."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db


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
    conn.execute(
        sa.insert(db.outbox).values(
            id=msg_id,
            destination=destination,
            event_type=event_type,
            submission_id=submission_id,
            payload={"type": event_type, "data": data},
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return msg_id
