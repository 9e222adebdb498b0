"""The operator's side of the outbox (``phanhoi-widget outbox``): list, replay, resume.

``queue`` re-exports these names; the worker's side (claim, record, release) is there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from widget_server.store import db

log = logging.getLogger("widget_server.worker")

#: Outcomes after which a destination takes no more attempts until an operator acts.
STOPPED = frozenset({"paused", "disabled"})


#: Every state an outbox row can be in.
STATES = ("pending", "delivered", "dead", "cancelled")


def _written_out(state: str) -> Any:
    """A state as a literal, not a parameter: the partial indexes on pending and on dead rows
    (migrations 0010, 0012) serve only a query whose condition is theirs, as SQL."""
    if state not in STATES:
        raise ValueError(f"unknown outbox state {state!r}")
    return sa.literal_column(f"'{state}'", sa.String)


def destination_rows(conn: Connection) -> dict[str, Any]:
    return {row.name: row for row in conn.execute(sa.select(db.destinations)).all()}


def list_rows(engine: Engine, *, state: str | None = None, limit: int = 100,
              tried: bool = False) -> list[dict[str, Any]]:
    """Outbox rows, newest first, with ids and tracking codes only (no personal data); ``tried``:
    only rows attempted at least once (a waiting row with its last error)."""
    o = db.outbox
    query = (sa.select(o.c.id, o.c.destination, o.c.event_type, o.c.state, o.c.attempts,
                       o.c.next_attempt_at, o.c.last_status, o.c.last_error, o.c.created_at,
                       o.c.delivered_at, o.c.submission_id, db.submissions.c.tracking_code)
             .select_from(o.outerjoin(db.submissions, db.submissions.c.id == o.c.submission_id))
             .order_by(o.c.created_at.desc(), o.c.id).limit(limit))
    if state:
        query = query.where(o.c.state == _written_out(state))
    if tried:
        query = query.where(o.c.attempts > 0)
    with db.read(engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query).all()]


def retry_rows(engine: Engine, ids: list[str] | None = None, *, all_dead: bool = False) -> int:
    """Put dead (or waiting) rows back in the queue, due now, with a fresh attempt budget; how
    many (``requeue`` also says why an id was not)."""
    return requeue(engine, ids, all_dead=all_dead)[0]


def requeue(engine: Engine, ids: list[str] | None = None, *,
            all_dead: bool = False) -> tuple[int, dict[str, str]]:
    """``retry_rows``, and for each id given but not queued again why: ``unknown``, its state
    (``delivered``, ``cancelled``) or ``leased``.

    ``created_at`` is reset too: the retry window counts from the replay. A waiting row that a
    worker holds now (its lease running) is left to it: taken back, another worker could claim
    and send it while the first is still sending it. The rows are read and changed in one
    transaction, locked on PostgreSQL (a claim skips locked rows; SQLite's writers take turns).
    """
    o = db.outbox
    now = db.utcnow()
    refused: dict[str, str] = {}
    with db.write(engine) as conn:
        if all_dead:
            where = o.c.state == _written_out("dead")
        else:
            found = {r.id: r for r in conn.execute(
                sa.select(o.c.id, o.c.state, o.c.lease_until).where(o.c.id.in_(ids or [])).with_for_update())}
            for row_id in dict.fromkeys(ids or []):
                row = found.get(row_id)
                if row is None:
                    refused[row_id] = "unknown"
                elif row.state not in ("dead", "pending"):
                    refused[row_id] = row.state
                elif row.state == "pending" and row.lease_until is not None and row.lease_until > now:
                    refused[row_id] = "leased"
            where = o.c.id.in_([i for i in found if i not in refused])
        count = conn.execute(sa.update(o).where(where).values(
            state="pending", attempts=0, next_attempt_at=now, created_at=now, lease_owner=None,
            lease_until=None, handed_over_at=None)).rowcount
    return count, refused


def list_destinations(engine: Engine) -> list[dict[str, Any]]:
    o = db.outbox
    with db.read(engine) as conn:
        known = {name: dict(row._mapping) for name, row in destination_rows(conn).items()}
        counts = conn.execute(sa.select(o.c.destination, o.c.state, sa.func.count())
                              .group_by(o.c.destination, o.c.state)).all()
    for name, state, count in counts:
        entry = known.setdefault(name, {"name": name, "state": "active", "reason": None,
                                        "failures": 0, "open_until": None, "updated_at": None})
        entry.setdefault("rows", {})[state] = count
    return [{**entry, "rows": entry.get("rows", {})} for entry in known.values()]


def resume(engine: Engine, names: list[str] | None = None) -> list[str]:
    """Make paused or disabled destinations active again, breaker closed."""
    d = db.destinations
    now = db.utcnow()
    where = [d.c.state.in_(STOPPED)] if not names else [d.c.name.in_(names)]
    with db.write(engine) as conn:
        resumed = [r.name for r in conn.execute(sa.select(d.c.name).where(*where)).all()]
        if resumed:
            conn.execute(sa.update(d).where(d.c.name.in_(resumed)).values(
                state="active", reason=None, failures=0, open_until=None, updated_at=now))
    return resumed


def mask_errors(*, dry_run: bool = False) -> int:
    """``last_error`` of every outbox row masked as errors are kept now (``http.masked``, with
    the details its payload names): an error text kept before the masking came in loses the
    phone numbers, emails and names it echoed. Only changed rows are written; how many."""
    # Here, not at the top: the console's pages import this module, and need no HTTP client.
    from widget_server.delivery.destinations.http import known_in, masked

    o = db.outbox.c
    with db.read() as conn:
        rows = conn.execute(sa.select(o.id, o.last_error, o.payload).where(o.last_error.is_not(None))).all()
    fixes = []
    for row in rows:
        data = (row.payload or {}).get("data") if isinstance(row.payload, dict) else None
        kept = masked(row.last_error, known_in(data if isinstance(data, dict) else {}))
        if kept != row.last_error:
            fixes.append({"oid": row.id, "kept": kept, "was": row.last_error})
    if fixes and not dry_run:
        with db.write() as conn:
            # Only an error still as it was read: a newer attempt's (masked as it came) is kept.
            conn.execute(sa.update(db.outbox).where(o.id == sa.bindparam("oid"),
                                                    o.last_error == sa.bindparam("was"))
                         .values(last_error=sa.bindparam("kept")), fixes)
    return len(fixes)


def warn_stopped(results: Iterable[tuple[Any, Any]]) -> None:
    """A destination that a round's answers paused or disabled waits for an operator: said as a
    warning once a round, with the command to run (else only an INFO line per attempt said it)."""
    for name, result in {row.destination: result for row, result in results
                         if result.outcome in ("pause", "disable")}.items():
        log.warning("destination %s %s (%s): nothing is sent to it until `phanhoi-widget outbox resume %s`",
                    name, "paused" if result.outcome == "pause" else "disabled", result.status or result.error, name)
