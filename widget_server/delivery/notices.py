"""The worker's side of notices to citizens, and of adapters that cannot take a message back.

A notice's outbox row holds no personal data; the message, with its recipient, is
composed by ``notify.notices.prepare`` at the moment it is sent, and a notice whose
contact was erased meanwhile is cancelled instead.

SMTP has no idempotency key: once the server has the final "." of a message it may
deliver it even if its answer never reaches us (RFC 5321 §4.1.1.4; RFC 1047 names
the duplicates this causes). So the SMTP adapter marks the row "handed over",
committed, just before it sends that "."; a worker that dies after the mark leaves a
row whose outcome nobody knows, and it is not sent blindly again: it goes ``dead`` with
:data:`UNKNOWN` as its reason, for an operator to look at (``outbox retry`` sends it
again). Dying before the mark leaves nothing at the server, and the retry is safe.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Connection, Engine

from widget_server.delivery.destinations.base import Event, Result
from widget_server.delivery.queue import Claimed
from widget_server.notify import notices
from widget_server.store import db
from widget_server.vocab import NOTICE_DESTINATIONS

UNKNOWN = ("outcome unknown: a worker stopped after handing the message over; not sent again "
           "(it most likely arrived); `outbox retry` sends it again")


def hand_over(engine: Engine, row: Claimed, owner: str) -> bool:
    """Mark a row handed over, committed before the point of no return; False if it is not ours now."""
    o = db.outbox
    with db.write(engine) as conn:
        return bool(conn.execute(sa.update(o).where(
            o.c.id == row.id, o.c.lease_owner == owner, o.c.state == "pending",
        ).values(handed_over_at=db.utcnow())).rowcount)


def cancel(engine: Engine, row: Claimed, owner: str, reason: str) -> bool:
    """A claimed row that must not go out any more."""
    o = db.outbox
    with db.write(engine) as conn:
        return bool(conn.execute(sa.update(o).where(
            o.c.id == row.id, o.c.lease_owner == owner, o.c.state == "pending",
        ).values(state="cancelled", lease_owner=None, lease_until=None, handed_over_at=None,
                 last_error=reason[:500])).rowcount)


def unknown_outcome(row: Claimed) -> Result | None:
    """The result for a row an earlier attempt handed over without recording how it went."""
    return Result("rejected", error=UNKNOWN) if row.handed_over_at is not None else None


def event_for(app: Flask, row: Claimed, owner: str, event: Event) -> Event | None:
    """A notice's event with its message and recipient; None (and the row cancelled) if none is due."""
    engine = db.get_engine(app)
    if row.destination in NOTICE_DESTINATIONS:
        with app.app_context():
            message = notices.prepare(engine, row.submission_id, event.data)
        if message is None:
            cancel(engine, row, owner, "cancelled: the notice contact was erased")
            return None
        event = dataclasses.replace(event, data={**event.data, **message})
    return dataclasses.replace(event, handover=lambda: hand_over(engine, row, owner))


def record_sent(conn: Connection, row: Claimed, result: Result) -> None:
    """Inside the delivery's transaction: after the last notice, the contact goes."""
    if row.destination in NOTICE_DESTINATIONS:
        notices.mark_sent(conn, row.submission_id, dict(row.payload.get("data") or {}), db.utcnow())

