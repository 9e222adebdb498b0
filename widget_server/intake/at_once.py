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

When no hook writes for the submission and no file goes with it, the statement needs no
transaction around it: ``insert_alone`` runs it in autocommit (``db.write_one``), one round
trip instead of three (BEGIN, the statement, COMMIT), 0.3 ms less of the relay's CPU per
submission. Without ``ON CONFLICT`` on the tracking code there: a taken code fails the whole
statement, so the key is never left claimed for an answer that names a code not its own.
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


def _statement(with_claim: bool, alone: bool = False) -> Any:
    s, h, o = db.submissions, db.history, db.outbox
    rows = sa.select(*(_typed(s.c[c]) for c in COLUMNS))
    claimed: Any = sa.literal(1)
    ctes = []
    if with_claim:
        claim = idempotency.CLAIM.built("postgresql").cte("claim")
        rows = rows.where(sa.exists(sa.select(claim.c.status_code)))
        claimed = sa.select(sa.func.count()).select_from(claim).scalar_subquery()
    inserted = postgresql.insert(s).from_select(COLUMNS, rows)
    if not alone:  # in a transaction: a taken code stores nothing, and the caller draws again
        inserted = inserted.on_conflict_do_nothing(index_elements=[s.c.tracking_code])
    sub = inserted.returning(s.c.id).cte("sub")
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


_STATEMENTS = {(claim, alone): direct.Statement(lambda _, c=claim, a=alone: _statement(c, a))
               for claim in (True, False) for alone in (True, False)}


def _typed(column: Any) -> Any:
    """The column's parameter, typed in the SQL: in ``INSERT … SELECT`` a NULL sent without a
    type is text (SQLAlchemy adds the cast itself except for floats and booleans)."""
    param = sa.bindparam(column.name, type_=column.type)
    return sa.cast(param, column.type) if isinstance(column.type, (sa.Float, sa.Boolean)) else param


def insert(conn: Connection, row: dict[str, Any], *, destination: str, payload: dict[str, Any],
           claim: dict[str, Any] | None) -> tuple[bool, bool]:
    """(claimed, stored), inside the caller's transaction; ``claim`` is
    ``idempotency.claim_params(…)`` or None (no key)."""
    found = _STATEMENTS[claim is not None, False].rows(conn, _params(row, destination, payload, claim))[0]
    return bool(found.claimed), bool(found.stored)


def insert_alone(row: dict[str, Any], *, destination: str, payload: dict[str, Any],
                 claim: dict[str, Any] | None) -> bool:
    """The statement committed by itself (``db.write_one``: no ``BEGIN``, no ``COMMIT``, two
    round trips fewer); True when all four rows are in, False when a live answer holds the key
    (nothing was written). A taken tracking code fails the whole statement, claim included
    (``IntegrityError``, ``code_taken``): no key is ever left claimed for an answer naming
    another citizen's code."""
    found = db.write_one(_STATEMENTS[claim is not None, True], _params(row, destination, payload, claim))[0]
    return bool(found.claimed) and bool(found.stored)


def code_taken(exc: sa.exc.IntegrityError) -> bool:
    """Whether ``insert_alone`` failed because the tracking code was taken (drawn again)."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == _CODE_CONSTRAINT


_CODE_CONSTRAINT = next(c.name for c in db.submissions.constraints
                        if isinstance(c, sa.UniqueConstraint) and list(c.columns.keys()) == ["tracking_code"])


def _params(row: dict[str, Any], destination: str, payload: dict[str, Any],
            claim: dict[str, Any] | None) -> dict[str, Any]:
    return {**(claim or {}), **{c: row[c] for c in COLUMNS}, "outbox_id": outbox.new_message_id(),
            "outbox_destination": destination, "outbox_payload": payload}
