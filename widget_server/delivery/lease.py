"""Leases on outbox rows: the claim's query, and the shapes ``queue`` hands the worker.

A claim moves a due row's ``next_attempt_at`` to the end of a lease, so a worker
that dies mid-delivery simply lets the row come due again (``queue`` re-exports
these names; workers call ``queue.claim`` or ``queue.settle``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from widget_server.delivery.destinations.base import Event
from widget_server.delivery.operators import STOPPED, destination_rows
from widget_server.store import db
from widget_server.vocab import NOTICE_DESTINATIONS as NOTICES


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 20
    retry_window: dt.timedelta = dt.timedelta(hours=72)
    lease: dt.timedelta = dt.timedelta(seconds=60)
    breaker_threshold: int = 5
    breaker_cooldown: dt.timedelta = dt.timedelta(seconds=30)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        return cls(
            max_attempts=int(config["OUTBOX_MAX_ATTEMPTS"]),
            retry_window=dt.timedelta(hours=float(config["OUTBOX_RETRY_WINDOW_HOURS"])),
            lease=dt.timedelta(seconds=float(config["OUTBOX_LEASE_SECONDS"])),
            breaker_threshold=max(int(config["BREAKER_THRESHOLD"]), 1),
            breaker_cooldown=dt.timedelta(seconds=float(config["BREAKER_COOLDOWN_SECONDS"])),
        )


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds until ``lease_until``; ``attempts`` includes this attempt."""

    id: str
    destination: str
    event_type: str
    submission_id: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime
    lease_until: dt.datetime
    handed_over_at: dt.datetime | None = None  # an earlier attempt handed it over, outcome unknown

    def event(self) -> Event:
        return Event(id=self.id, type=self.event_type, data=dict(self.payload.get("data") or {}),
                     submission_id=self.submission_id, attempt=self.attempts)


@dataclass(frozen=True)
class Recorded:
    state: str  # delivered | pending | dead | lost (another worker holds the row now)
    destination_open: bool  # True: take no more attempts for this destination now


def claim_rows(conn: Connection, owner: str, policy: Policy, limit: int, now: dt.datetime) -> list[Claimed]:
    lease_until = now + policy.lease
    o = db.outbox
    pg = db.is_postgres(conn)
    blocked: set[str] = set()
    trials: list[str] = []
    for name, dest in destination_rows(conn).items():
        if dest.state in STOPPED or (dest.open_until and dest.open_until > now):
            blocked.add(name)
        elif dest.failures >= policy.breaker_threshold:
            blocked.add(name)
            trials.append(name)

    def pick(query: Any, n: int, **params: Any) -> list[str]:
        return list(conn.execute(query[pg], {"now": now, "n": n, **params}).scalars())

    ids = pick(_PICK, limit, blocked=sorted(blocked)) if limit > 0 else []
    for name in trials:
        dest_query = sa.select(db.destinations).where(db.destinations.c.name == name)
        if pg:
            dest_query = dest_query.with_for_update(skip_locked=True)
        dest = conn.execute(dest_query).one_or_none()
        if dest is None or dest.state in STOPPED or (dest.open_until and dest.open_until > now):
            continue  # another worker is running the trial
        trial = pick(_PICK_ONE, 1, name=name)
        if trial:
            # Hold the breaker open while the trial runs, so no one else starts one.
            conn.execute(sa.update(db.destinations).where(db.destinations.c.name == name)
                         .values(open_until=lease_until, updated_at=now))
            ids.extend(trial)
    if not ids:
        return []
    # One statement for the batch: the same lease and charge for every row.
    lease = sa.update(o).where(o.c.id.in_(ids)).values(
        lease_owner=owner, lease_until=lease_until, next_attempt_at=lease_until,
        attempts=o.c.attempts + 1)
    if conn.dialect.update_returning:
        found = {row.id: row for row in conn.execute(lease.returning(*o.c))}
    else:  # SQLite before 3.35
        conn.execute(lease)
        found = {row.id: row for row in conn.execute(sa.select(o).where(o.c.id.in_(ids)))}
    return [Claimed(
        id=row.id, destination=row.destination, event_type=row.event_type,
        submission_id=row.submission_id, payload=dict(row.payload), attempts=row.attempts,
        created_at=row.created_at, lease_until=lease_until, handed_over_at=row.handed_over_at)
        for row in (found[i] for i in ids)]


def _picks() -> tuple[dict[bool, Any], dict[bool, Any]]:
    """The claim's two queries (any destination not blocked; one destination's trial), built once
    with bound parameters, each without and with PostgreSQL's row locks (keyed by ``pg``)."""
    o = db.outbox
    earlier = o.alias("earlier")
    # 'pending' written out, not bound: the partial index of pending rows (migration 0010)
    # serves only a query whose condition is its own. The check of earlier events reads them
    # by ix_outbox_submission (migration 0015).
    pending = sa.literal_column("'pending'", sa.String)
    # Events about one submission go out in order: a rating never overtakes
    # the submission it rates. Notices to citizens neither wait nor hold others up.
    in_order = ~sa.exists().where(
        earlier.c.submission_id == o.c.submission_id,
        earlier.c.state == pending,
        earlier.c.created_at < o.c.created_at, earlier.c.destination.not_in(NOTICES),
    )
    due = [o.c.state == pending, o.c.next_attempt_at <= sa.bindparam("now", type_=o.c.next_attempt_at.type),
           sa.or_(o.c.submission_id.is_(None), o.c.destination.in_(NOTICES), in_order)]

    def both(condition: Any) -> dict[bool, Any]:
        # Ids only: PostgreSQL sorts (and locks) what it selects, and payloads are wide.
        query = (sa.select(o.c.id).where(*due, condition)
                 .order_by(o.c.next_attempt_at, o.c.created_at).limit(sa.bindparam("n", type_=sa.Integer)))
        return {False: query, True: query.with_for_update(skip_locked=True, of=o)}

    return (both(o.c.destination.not_in(sa.bindparam("blocked", expanding=True))),
            both(o.c.destination == sa.bindparam("name")))


_PICK, _PICK_ONE = _picks()
