"""The outbox as a queue: what workers and operators do with the rows ``store.outbox`` wrote.

``claim``, ``record`` (``record_many``: several results, one transaction) and ``release``
are what the worker (``worker.py``) does with due rows; ``list_rows``, ``retry_rows`` and
``resume`` are what an operator does (``phanhoi-widget outbox``, ``operators.py``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from widget_server.delivery.destinations.base import Result
from widget_server.delivery.lease import Claimed, Policy, Recorded, claim_rows
from widget_server.delivery.operators import (  # noqa: F401 - the operator's side, re-exported
    STOPPED,
    destination_rows,
    list_destinations,
    list_rows,
    requeue,
    resume,
    retry_rows,
    warn_stopped,
)
from widget_server.store import db


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


def _ensure_destination(conn: Connection, name: str, now: dt.datetime) -> Any:
    """The destination's row, created on first use and locked on PostgreSQL."""
    values = {"name": name, "state": "active", "failures": 0, "updated_at": now}
    conn.execute(db.insert_for(conn.dialect.name)(db.destinations).values(**values).on_conflict_do_nothing())
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
        return claim_rows(conn, owner, policy, limit, now)


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
#: The same for all the rows a batch delivered, at once (``worker.record_deliveries``).
OnDeliveredMany = Callable[[Connection, list[tuple["Claimed", Result]]], None]


def record(engine: Engine, row: Claimed, result: Result, owner: str, policy: Policy,
           *, now: dt.datetime | None = None, on_delivered: OnDelivered | None = None) -> Recorded:
    """Store the result of one attempt: the row's new state and the destination's health."""
    return record_many(engine, [(row, result)], owner, policy, now=now, on_delivered=on_delivered)[0]


def record_many(engine: Engine, results: list[tuple[Claimed, Result]], owner: str, policy: Policy,
                *, now: dt.datetime | None = None, on_delivered: OnDelivered | None = None,
                on_delivered_many: OnDeliveredMany | None = None) -> list[Recorded]:
    """Store several attempts' results in one transaction (one fsync), in the order given.

    The hooks run for the rows delivered, in the same transaction (``on_delivered_many``
    once for all of them, or ``on_delivered`` once per row).
    """
    return settle(engine, results, owner, policy, now=now, on_delivered=on_delivered,
                  on_delivered_many=on_delivered_many)[0]


def settle(engine: Engine, results: list[tuple[Claimed, Result]], owner: str, policy: Policy, *,
           claim: int = 0, now: dt.datetime | None = None, on_delivered: OnDelivered | None = None,
           on_delivered_many: OnDeliveredMany | None = None) -> tuple[list[Recorded], list[Claimed]]:
    """``record_many``, then ``claim`` up to ``claim`` rows, in the same transaction.

    A busy worker's one commit per round: the rows its threads finished, and as many
    new ones. The claim sees the results: a rating whose submission was just recorded
    delivered is due at once.
    """
    now = now or db.utcnow()
    cache: dict[str, Any] = {}
    with db.write(engine) as conn:
        recorded: list[Recorded | None] = []
        delivered: list[tuple[Claimed, Result]] = []
        for row, result in results:
            if result.outcome == "delivered":
                _healthy(conn, row.destination, now, cache)
                delivered.append((row, result))
            recorded.append(None if result.outcome == "delivered" else
                            _record(conn, row, result, owner, policy, now, cache))
        done = _delivered(conn, delivered, now)
        acked = [(row, result) for row, result in delivered if row.id in done]
        if acked and on_delivered_many is not None:
            on_delivered_many(conn, acked)
        elif on_delivered is not None:
            for row, result in acked:
                on_delivered(conn, row, result)
        # A success counts even if our lease ran out: the receiver has it, and the
        # worker that took over will find the row delivered and stop.
        final = [r if r is not None else Recorded("delivered" if row.id in done else "lost", False)
                 for r, (row, _result) in zip(recorded, results, strict=True)]
        return final, (claim_rows(conn, owner, policy, claim, now) if claim > 0 else [])


def _healthy(conn: Connection, name: str, now: dt.datetime, cache: dict[str, Any]) -> None:
    """A delivery closes the destination's breaker: once per round, one statement, nothing read.

    The row is made if it is missing and changed only if its breaker counted failures; on
    PostgreSQL the upsert locks it, as ``_ensure_destination`` does.
    """
    if cache.get(_HEALTHY + name):
        return
    d = db.destinations
    statement = db.insert_for(conn.dialect.name)(d).values(name=name, state="active", failures=0, updated_at=now)
    conn.execute(statement.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[d.c.name],
        set_={"failures": 0, "open_until": None, "updated_at": now},
        where=sa.or_(d.c.failures != 0, d.c.open_until.is_not(None))))
    cache.pop(name, None)  # a row read before this is stale
    cache[_HEALTHY + name] = True


#: Cache key prefix: this round already closed the destination's breaker.
_HEALTHY = "healthy:"


def _delivered(conn: Connection, rows: list[tuple[Claimed, Result]], now: dt.datetime) -> set[str]:
    """Mark rows delivered, one statement per answer status; the ids that were still pending.

    Usually every row still was, and the row count says so: no id is read back (on SQLite
    each row read back is a step of the engine, a wait for the interpreter's lock while the
    delivery threads run). When fewer changed, the ids marked now are read.
    """
    o = db.outbox
    done: set[str] = set()
    for status in {result.status for _row, result in rows}:
        ids = [row.id for row, result in rows if result.status == status]
        mark = sa.update(o).where(o.c.id.in_(ids), o.c.state == "pending").values(
            state="delivered", delivered_at=now, last_status=status, last_error=None,
            lease_owner=None, lease_until=None)
        if conn.execute(mark).rowcount == len(ids):
            done.update(ids)
        else:  # another worker delivered some after our lease ran out: not ours to acknowledge
            done.update(conn.execute(sa.select(o.c.id).where(
                o.c.id.in_(ids), o.c.state == "delivered", o.c.delivered_at == now)).scalars())
    return done


def _record(conn: Connection, row: Claimed, result: Result, owner: str, policy: Policy,
            now: dt.datetime, cache: dict[str, Any]) -> Recorded:
    """An attempt that did not deliver: the row's next try (or death) and the destination's health."""
    o = db.outbox
    d = db.destinations
    cache.pop(_HEALTHY + row.destination, None)  # every outcome below changes the destination's row
    # The destination's row, read once per transaction until a result changes it.
    dest = cache.get(row.destination) or _ensure_destination(conn, row.destination, now)
    cache[row.destination] = dest
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
