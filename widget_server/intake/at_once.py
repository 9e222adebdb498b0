"""A new submission in one statement on PostgreSQL: the idempotency claim, the submission, its
first history entry and its outbox row (with the workers' wake-up), as data-modifying CTEs.

Four statements were four round trips inside the transaction, each a context switch on both
sides and the backend's CPU on the relay's cores. The statement is atomic like the four: the
submission is inserted only when the key was claimed (``WHERE EXISTS`` the claim's row), the
history entry and the outbox row only when the submission was (they select from its
``RETURNING``), and the foreign keys are checked at the statement's end, when all are in.
It answers (claimed, stored): (0, 0) a live answer holds the key, replay it; (1, 0) the
tracking code was taken, draw again (``submissions._insert`` goes on with one statement each);
(1, 1) all four rows are in. SQLite has no round trips to save and keeps the four statements.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from widget_server.intake import idempotency
from widget_server.store import db, direct, outbox

#: The submission's columns, each a parameter of the same name (``submissions._insert``'s row).
COLUMNS = ("id", "tracking_code", "site_id", "via", "src", "source_url", "category", "agency",
           "title", "content", "commune_code", "address", "lat", "lon", "name", "phone", "email",
           "phone_digest", "email_digest", "confidential", "consent_version", "consent_hash",
           "consent_at", "status", "status_sequence", "deadline", "submitted_at", "updated_at")


def _statement(with_claim: bool) -> Any:
    s, h, o = db.submissions, db.history, db.outbox
    rows = sa.select(*(_typed(s.c[c]) for c in COLUMNS))
    claimed: Any = sa.literal(1)
    ctes = []
    if with_claim:
        claim = idempotency.CLAIM.built("postgresql").cte("claim")
        rows = rows.where(sa.exists(sa.select(claim.c.status_code)))
        claimed = sa.select(sa.func.count()).select_from(claim).scalar_subquery()
    sub = (postgresql.insert(s).from_select(COLUMNS, rows)
           .on_conflict_do_nothing(index_elements=[s.c.tracking_code]).returning(s.c.id).cte("sub"))
    now = sa.bindparam("submitted_at", type_=s.c.submitted_at.type)
    ctes.append(sa.insert(h).from_select(
        ["submission_id", "status", "note", "sequence", "at"],
        sa.select(sub.c.id, sa.literal("received"), sa.null(), sa.literal(0), now)).cte("entry"))
    box = sa.insert(o).from_select(
        ["id", "destination", "event_type", "submission_id", "payload", "state", "attempts",
         "next_attempt_at", "created_at"],
        sa.select(sa.bindparam("outbox_id", type_=o.c.id.type),
                  sa.bindparam("outbox_destination", type_=o.c.destination.type),
                  sa.literal("submission.created"), sub.c.id,
                  sa.bindparam("outbox_payload", type_=o.c.payload.type),
                  sa.literal("pending"), sa.literal(0), now, now),
    ).returning(o.c.id).cte("box")
    stored = sa.select(sa.func.count()).select_from(sub).scalar_subquery()
    # NOTIFY is delivered on commit, never for a rolled-back row; workers that miss it still poll.
    woken = sa.select(sa.func.count(sa.func.pg_notify(outbox.NOTIFY_CHANNEL, ""))).select_from(box)
    return sa.select(claimed.label("claimed"), stored.label("stored"),
                     woken.scalar_subquery().label("woken")).add_cte(*ctes)


_STATEMENTS = {True: direct.Statement(lambda _: _statement(True)),
               False: direct.Statement(lambda _: _statement(False))}


def _typed(column: Any) -> Any:
    """The column's parameter, typed in the SQL: in ``INSERT … SELECT`` a NULL sent without a
    type is text (SQLAlchemy adds the cast itself except for floats and booleans)."""
    param = sa.bindparam(column.name, type_=column.type)
    return sa.cast(param, column.type) if isinstance(column.type, (sa.Float, sa.Boolean)) else param


def insert(conn: Connection, row: dict[str, Any], *, destination: str, payload: dict[str, Any],
           claim: dict[str, Any] | None) -> tuple[bool, bool]:
    """(claimed, stored); ``claim`` is ``idempotency.claim_params(…)`` or None (no key)."""
    params = {**(claim or {}), **{c: row[c] for c in COLUMNS}, "outbox_id": outbox.new_message_id(),
              "outbox_destination": destination, "outbox_payload": payload}
    found = _STATEMENTS[claim is not None].rows(conn, params)[0]
    return bool(found.claimed), bool(found.stored)
