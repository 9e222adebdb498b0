"""The outbox as a queue: what workers and operators do with the rows ``store.outbox`` wrote.

``claim``, ``record`` (``record_many``: several results, one transaction) and ``release``
are what the worker (``worker.py``) does with due rows; ``list_rows``, ``retry_rows`` and
``resume`` are what an operator does (``phanhoi-widget outbox``, ``operators.py``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from widget_server.delivery.destinations.base import Event, Result
from widget_server.delivery.operators import (  # noqa: F401 - the operator's side, re-exported
    STOPPED,
    destination_rows,
    list_destinations,
    list_rows,
    resume,
    retry_rows,
)
from widget_server.store import db
from widget_server.vocab import NOTICE_DESTINATIONS as NOTICES


# --------------------------------------------------------------------------- delivery
#
# Workers share the queue through the database alone. A claim moves a due row's
# ``next_attempt_at`` to the end of a lease, so a worker that dies mid-delivery
# simply lets the row come due again; everything a receiver may see twice carries
# the same webhook-id, and receivers drop duplicates (docs/architecture.md, "Delivery").

BACKOFF_BASE = 2.0
BACKOFF_CAP = 3600.0


def backoff(attempt: int) -> float:
    """Seconds before the next try after ``attempt`` failed attempts (1-based).

    Exponential with "equal jitter": half the ceiling fixed, half random, so
    workers that failed together do not come back together. Tests pin it.
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempt - 1, 0)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


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


def _ensure_destination(conn: Connection, name: str, now: dt.datetime) -> Any:
    """The destination's row, created on first use and locked on PostgreSQL."""
    values = {"name": name, "state": "active", "failures": 0, "updated_at": now}
    if db.is_postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(db.destinations).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(db.destinations).values(**values).on_conflict_do_nothing())
    query = sa.select(db.destinations).where(db.destinations.c.name == name)
    if db.is_postgres(conn):
        query = query.with_for_update()
    return conn.execute(query).one()


def claim(engine: Engine, owner: str, policy: Policy, *, limit: int = 10,
          now: dt.datetime | None = None) -> list[Claimed]:
    """Lease up to ``limit`` due rows for ``owner`` and charge each an attempt.

    Rows of a paused, disabled or open destination are not touched (and not
    charged). When a breaker's cooldown is over, one row is let through as a
    trial; its result closes or re-opens the breaker.
    """
    now = now or db.utcnow()
    with db.write(engine) as conn:
        return _claim(conn, owner, policy, limit, now)


def _claim(conn: Connection, owner: str, policy: Policy, limit: int, now: dt.datetime) -> list[Claimed]:
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

    earlier = o.alias("earlier")
    # Events about one submission go out in order: a rating never overtakes
    # the submission it rates. Notices to citizens neither wait nor hold others up.
    in_order = ~sa.exists().where(
        earlier.c.submission_id == o.c.submission_id,
        earlier.c.state == "pending",
        earlier.c.created_at < o.c.created_at, earlier.c.destination.not_in(NOTICES),
    )
    due = [o.c.state == "pending", o.c.next_attempt_at <= now,
           sa.or_(o.c.submission_id.is_(None), o.c.destination.in_(NOTICES), in_order)]

    def pick(*conditions: Any, n: int) -> list[Any]:
        query = (sa.select(o).where(*due, *conditions)
                 .order_by(o.c.next_attempt_at, o.c.created_at).limit(n))
        if pg:
            query = query.with_for_update(skip_locked=True, of=o)
        return list(conn.execute(query).all())

    rows = pick(o.c.destination.not_in(blocked), n=limit) if limit > 0 else []
    for name in trials:
        dest_query = sa.select(db.destinations).where(db.destinations.c.name == name)
        if pg:
            dest_query = dest_query.with_for_update(skip_locked=True)
        dest = conn.execute(dest_query).one_or_none()
        if dest is None or dest.state in STOPPED or (dest.open_until and dest.open_until > now):
            continue  # another worker is running the trial
        trial = pick(o.c.destination == name, n=1)
        if trial:
            # Hold the breaker open while the trial runs, so no one else starts one.
            conn.execute(sa.update(db.destinations).where(db.destinations.c.name == name)
                         .values(open_until=lease_until, updated_at=now))
            rows.extend(trial)

    if rows:  # one statement for the batch: the same lease and charge for every row
        conn.execute(sa.update(o).where(o.c.id.in_([row.id for row in rows])).values(
            lease_owner=owner, lease_until=lease_until, next_attempt_at=lease_until,
            attempts=o.c.attempts + 1))
    claimed = [Claimed(
        id=row.id, destination=row.destination, event_type=row.event_type,
        submission_id=row.submission_id, payload=dict(row.payload), attempts=row.attempts + 1,
        created_at=row.created_at, lease_until=lease_until, handed_over_at=row.handed_over_at)
        for row in rows]
    return claimed


def release(engine: Engine, rows: list[Claimed], owner: str) -> None:
    """Give back rows that were claimed but not attempted (shutdown, breaker opened)."""
    if not rows:
        return
    o = db.outbox
    now = db.utcnow()
    with db.write(engine) as conn:
        conn.execute(sa.update(o).where(
            o.c.id.in_([row.id for row in rows]), o.c.lease_owner == owner, o.c.state == "pending"
        ).values(lease_owner=None, lease_until=None, next_attempt_at=now,
                 attempts=sa.case((o.c.attempts > 0, o.c.attempts - 1), else_=0)))


#: Called inside ``record``'s transaction when a row is delivered, so the domain's record of
#: the delivery (``status_events.mark_forwarded``) commits with the row's new state.
OnDelivered = Callable[[Connection, "Claimed", Result], None]


def record(engine: Engine, row: Claimed, result: Result, owner: str, policy: Policy,
           *, now: dt.datetime | None = None, on_delivered: OnDelivered | None = None) -> Recorded:
    """Store the result of one attempt: the row's new state and the destination's health."""
    return record_many(engine, [(row, result)], owner, policy, now=now, on_delivered=on_delivered)[0]


def record_many(engine: Engine, results: list[tuple[Claimed, Result]], owner: str, policy: Policy,
                *, now: dt.datetime | None = None,
                on_delivered: OnDelivered | None = None) -> list[Recorded]:
    """Store several attempts' results in one transaction (one fsync), in the order given.

    Each row's ``on_delivered`` commits with its delivered state, as with ``record``.
    """
    return settle(engine, results, owner, policy, now=now, on_delivered=on_delivered)[0]


def settle(engine: Engine, results: list[tuple[Claimed, Result]], owner: str, policy: Policy, *,
           claim: int = 0, now: dt.datetime | None = None,
           on_delivered: OnDelivered | None = None) -> tuple[list[Recorded], list[Claimed]]:
    """``record_many``, then ``claim`` up to ``claim`` rows, in the same transaction.

    A busy worker's one commit per round: the rows its threads finished, and as many
    new ones. The claim sees the results: a rating whose submission was just recorded
    delivered is due at once.
    """
    now = now or db.utcnow()
    cache: dict[str, Any] = {}
    with db.write(engine) as conn:
        recorded = [_record(conn, row, result, owner, policy, now, on_delivered, cache)
                    for row, result in results]
        return recorded, (_claim(conn, owner, policy, claim, now) if claim > 0 else [])


def _record(conn: Connection, row: Claimed, result: Result, owner: str, policy: Policy,
            now: dt.datetime, on_delivered: OnDelivered | None, cache: dict[str, Any]) -> Recorded:
    o = db.outbox
    d = db.destinations
    # The destination's row, read once per transaction until a result changes it.
    dest = cache.get(row.destination) or _ensure_destination(conn, row.destination, now)
    cache[row.destination] = dest
    if result.outcome == "delivered":
        # A success counts even if our lease ran out: the receiver has it, and the
        # worker that took over will find the row delivered and stop.
        done = conn.execute(sa.update(o).where(o.c.id == row.id, o.c.state == "pending").values(
            state="delivered", delivered_at=now, last_status=result.status, last_error=None,
            lease_owner=None, lease_until=None)).rowcount
        if done and on_delivered is not None:
            on_delivered(conn, row, result)
        if dest.failures or dest.open_until:
            cache.pop(row.destination, None)
        conn.execute(sa.update(d).where(d.c.name == row.destination).values(
                failures=0, open_until=None, updated_at=now))
        return Recorded("delivered" if done else "lost", False)

    mine = [o.c.id == row.id, o.c.lease_owner == owner, o.c.state == "pending"]
    keep = {"last_status": result.status, "last_error": (result.error or "")[:500] or None,
            "lease_owner": None, "lease_until": None, "handed_over_at": None}  # the outcome is known

    if result.outcome in ("pause", "disable"):
        state = "paused" if result.outcome == "pause" else "disabled"
        cache.pop(row.destination, None)
        conn.execute(sa.update(d).where(d.c.name == row.destination).values(
            state=state, reason=(result.error or state)[:500], updated_at=now))
        # The destination refused us, not this event: the attempt is not charged.
        changed = conn.execute(sa.update(o).where(*mine).values(
            next_attempt_at=now, attempts=o.c.attempts - 1, **keep)).rowcount
        return Recorded("pending" if changed else "lost", True)

    if result.outcome == "rejected":
        # The destination answered, so it is up; this event will never be accepted.
        if dest.failures:
            cache.pop(row.destination, None)
        conn.execute(sa.update(d).where(d.c.name == row.destination).values(
                failures=0, open_until=None, updated_at=now))
        changed = conn.execute(sa.update(o).where(*mine).values(state="dead", **keep)).rowcount
        return Recorded("dead" if changed else "lost", False)

    # retry: a transient failure, counted by the destination's breaker.
    failures = dest.failures + 1
    open_until = dest.open_until if dest.open_until and dest.open_until > now else None
    if failures >= policy.breaker_threshold:
        open_until = now + policy.breaker_cooldown
    if result.retry_after:
        asked = now + dt.timedelta(seconds=result.retry_after)
        open_until = max(open_until, asked) if open_until else asked
    cache.pop(row.destination, None)
    conn.execute(sa.update(d).where(d.c.name == row.destination).values(
        failures=failures, open_until=open_until, updated_at=now))

    expired = now - row.created_at >= policy.retry_window
    if row.attempts >= policy.max_attempts or expired:
        changed = conn.execute(sa.update(o).where(*mine).values(state="dead", **keep)).rowcount
        state = "dead"
    else:
        wait = max(backoff(row.attempts), result.retry_after or 0.0)
        changed = conn.execute(sa.update(o).where(*mine).values(
            next_attempt_at=now + dt.timedelta(seconds=wait), **keep)).rowcount
        state = "pending"
    return Recorded(state if changed else "lost", open_until is not None)
