"""Status events from the central system, and the acknowledgement of a forward.

Duplicate message ids are dropped and only a newer ``sequence`` changes anything,
so events may arrive twice, late or out of order (docs/protocol.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from widget_server.errors import NotFoundError
from widget_server.intake import hooks, sites, text
from widget_server.store import db, outbox
from widget_server.vocab import Status


def apply_status_event(msg_id: str, data: dict[str, Any],
                       after: Callable[[Connection, str], None] | None = None) -> tuple[bool, bool]:
    """Apply a status event; returns (duplicate, applied).

    Duplicate webhook ids are dropped; an event older than the newest sequence
    already applied is recorded as seen but changes nothing (docs/protocol.md).
    ``after(conn, submission_id)`` runs in the same transaction once the change is
    applied (the results layer lists a submission that became ``published``).
    """
    now = db.utcnow()
    try:
        return _apply_status_event(msg_id, data, now, after)
    except IntegrityError:
        # The same webhook id was being applied at the same moment and committed first.
        with db.read() as conn:
            if conn.execute(sa.select(db.inbound_events.c.id)
                            .where(db.inbound_events.c.id == msg_id)).first():
                return True, False
        raise


def _apply_status_event(msg_id: str, data: dict[str, Any], now: dt.datetime,
                        after: Callable[[Connection, str], None] | None) -> tuple[bool, bool]:
    with db.write() as conn:
        query = sa.select(db.submissions).where(db.submissions.c.id == data["submission_id"])
        if db.is_postgres(conn):
            # Events for one submission apply one at a time (SQLite's BEGIN IMMEDIATE already
            # does this): otherwise two of them read the same sequence and the older may win.
            query = query.with_for_update()
        row = conn.execute(query).one_or_none()
        seen = conn.execute(
            sa.select(db.inbound_events.c.id).where(db.inbound_events.c.id == msg_id)
        ).first()
        if seen:
            return True, False
        if row is None:
            raise NotFoundError("Không có phản ánh với submission_id này.", code="submission-not-found")
        conn.execute(sa.insert(db.inbound_events).values(
            id=msg_id, event_type="submission.status_changed", received_at=now))
        if data["sequence"] <= row.status_sequence:  # sequences start at 1 and only grow
            return False, False
        values: dict[str, Any] = {
            "status": data["status"],
            "status_sequence": data["sequence"],
            "status_note": data.get("note"),
            "updated_at": now,
        }
        if row.forwarded_at is None:
            # The central system speaks of the submission, so it has it, even if the answer to
            # our forward has not been recorded yet: withdrawals and deletions must now be
            # told to it, not settled by cancelling the forward (retention.py).
            values["forwarded_at"] = now
            _resend_cancelled_data_requests(conn, row, now)
        if data.get("central_id"):
            values["central_id"] = data["central_id"]
        if data.get("deadline"):
            values["deadline"] = data["deadline"]
        if data.get("answer"):
            values["answer_text"] = text.clean(data["answer"], multiline=True)
            values["answer_agency"] = data.get("agency")
            values["answered_at"] = data.get("updated_at") or now
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row.id).values(**values))
        conn.execute(sa.insert(db.history).values(
            submission_id=row.id, status=data["status"], note=data.get("note"),
            sequence=data["sequence"], at=data.get("updated_at") or now))
        for hook in hooks.current().on_status:
            hook(conn, row, data["status"], now)  # a notice, if one was asked for (notify)
        if after is not None:
            after(conn, row.id)
    return False, True


def _resend_cancelled_data_requests(conn: Connection, row: Any, now: dt.datetime) -> None:
    """A request settled by cancelling the forward must reach the central system after all.

    If the citizen withdrew consent or asked for deletion while the forward looked
    undelivered, the forward and the request were cancelled together. A status event
    proves the submission got there anyway, so the request goes now (Law 91/2025/QH15).
    """
    kinds = [kind for kind, at in (("withdraw_consent", row.consent_withdrawn_at),
                                   ("delete", row.deletion_requested_at)) if at is not None]
    if not kinds:
        return
    live = conn.execute(sa.select(sa.func.count()).select_from(db.outbox).where(
        db.outbox.c.submission_id == row.id,
        db.outbox.c.event_type == "submission.data_request",
        db.outbox.c.state != "cancelled")).scalar_one()
    if live:
        return
    destination = sites.destination_of(conn, row.site_id)
    for kind in kinds:
        outbox.enqueue(conn, destination=destination, event_type="submission.data_request",
                       submission_id=row.id, at=now, data={
                           "submission_id": row.id, "central_id": row.central_id,
                           "tracking_code": row.tracking_code, "kind": kind,
                           "requested_at": (row.deletion_requested_at if kind == "delete"
                                            else row.consent_withdrawn_at).isoformat()})


def mark_forwarded(conn: Connection, submission_id: str, central_id: str | None,
                   central_status: str | None = None) -> None:
    """Record the central system's acknowledgement (called by the outbox worker)."""
    now = db.utcnow()
    query = (sa.select(db.submissions.c.status, db.submissions.c.forwarded_at)
             .where(db.submissions.c.id == submission_id))
    if db.is_postgres(conn):
        # A status event may be applied at this very moment: never turn it back to "forwarded".
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        return
    values: dict[str, Any] = {"forwarded_at": row.forwarded_at or now, "updated_at": now}
    if central_id:
        values["central_id"] = central_id
    if row.status == Status.RECEIVED:
        values["status"] = Status.FORWARDED.value
        conn.execute(sa.insert(db.history).values(
            submission_id=submission_id, status=Status.FORWARDED.value, note=None, sequence=None, at=now))
    conn.execute(sa.update(db.submissions).where(db.submissions.c.id == submission_id)
                 .values(**values))


def mark_forwarded_many(conn: Connection, acks: list[tuple[str, str | None]]) -> None:
    """``mark_forwarded`` for several ``(submission_id, central_id)`` in a few statements
    (the outbox worker records deliveries in batches)."""
    if not acks:
        return
    now = db.utcnow()
    s = db.submissions
    ids = sorted({sid for sid, _ in acks})
    if db.is_postgres(conn):
        query = sa.select(s.c.id, s.c.status).where(s.c.id.in_(ids)).with_for_update()  # as in mark_forwarded
        received = sorted(r.id for r in conn.execute(query) if r.status == Status.RECEIVED)
        if received:
            conn.execute(sa.insert(db.history), [
                {"submission_id": sid, "status": Status.FORWARDED.value, "note": None, "sequence": None,
                 "at": now} for sid in received])
    else:
        # One statement, nothing read back: the write transaction (BEGIN IMMEDIATE) already
        # excludes every other writer, and each row read is a wait for the interpreter's lock.
        conn.execute(sa.insert(db.history).from_select(
            ["submission_id", "status", "note", "sequence", "at"],
            sa.select(s.c.id, sa.literal(Status.FORWARDED.value), sa.null(), sa.null(),
                      sa.literal(now, db.history.c.at.type))
            .where(s.c.id.in_(ids), s.c.status == Status.RECEIVED.value).order_by(s.c.id)))
    conn.execute(sa.update(s).where(s.c.id == sa.bindparam("b_id")).values(
        forwarded_at=sa.func.coalesce(s.c.forwarded_at, now), updated_at=now,
        central_id=sa.func.coalesce(sa.bindparam("b_central_id", type_=s.c.central_id.type),
                                    s.c.central_id),
        status=sa.case((s.c.status == Status.RECEIVED.value, Status.FORWARDED.value),
                       else_=s.c.status)),
        [{"b_id": sid, "b_central_id": central_id or None} for sid, central_id in acks])
