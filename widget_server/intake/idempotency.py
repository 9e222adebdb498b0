"""Idempotency records: the answer given to a key, claimed in the same transaction as the work.

A partner's server (and our own form page, by its nonce) sends an ``Idempotency-Key``;
the same key with the same body gets the same answer, with another body a 409. The
record is claimed first inside the write transaction, by one upsert that takes a key
that is free or past its TTL: no read before the transaction, and a replay writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Connection

from widget_server.errors import ConflictError
from widget_server.store import db, direct

IDEMPOTENCY_CONFLICT = "Idempotency-Key này đã được dùng cho một nội dung khác."


def hash_request(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def ttl() -> dt.timedelta:
    return dt.timedelta(hours=int(current_app.config["IDEMPOTENCY_TTL_HOURS"]))


_COLUMNS = ("site_id", "key", "request_hash", "status_code", "response", "created_at")


def _claim(dialect: str) -> Any:
    k = db.idempotency_keys
    stmt = db.insert_for(dialect)(k).values({c: sa.bindparam(c, type_=k.c[c].type) for c in _COLUMNS})
    # A key past its TTL is free again: the new answer replaces the old one.
    return stmt.on_conflict_do_update(
        index_elements=[k.c.site_id, k.c.key],
        set_={c: stmt.excluded[c] for c in _COLUMNS[2:]},
        where=k.c.created_at <= sa.bindparam("expired_before", type_=k.c.created_at.type),
    ).returning(k.c.status_code)  # a row when claimed (psycopg reports no rowcount here)


#: The claim's upsert: a row (its status) returned when the key was taken. Its parameters: the
#: record's columns and ``expired_before``. Also the first part of a new submission's single
#: statement on PostgreSQL (``intake/at_once.py``).
CLAIM = direct.Statement(_claim)


def claim_params(site_id: int, key: str, req_hash: str, status_code: int,
                 response: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {"site_id": site_id, "key": key, "request_hash": req_hash, "status_code": status_code,
            "response": response, "created_at": now, "expired_before": now - ttl()}


def claim(conn: Connection, site_id: int, key: str, req_hash: str, status_code: int,
          response: dict[str, Any], now: dt.datetime) -> bool:
    """Record ``response`` as the answer to ``key``; False when a live answer holds the key.

    On PostgreSQL a concurrent claim of the same key waits for the first one's commit and
    then sees its record: it answers as the first did, never with a second submission."""
    params = claim_params(site_id, key, req_hash, status_code, response, now)
    return bool(CLAIM.rows(conn, params))


def amend(conn: Connection, site_id: int, key: str, response: dict[str, Any]) -> None:
    """Replace the answer just claimed (the work inside the transaction changed it)."""
    k = db.idempotency_keys.c
    conn.execute(sa.update(db.idempotency_keys).where(k.site_id == site_id, k.key == key)
                 .values(response=response))


def stored(conn: Connection, site_id: int, key: str, req_hash: str) -> tuple[int, dict[str, Any]] | None:
    """(status, answer) recorded for a live ``key``; ConflictError when it was for another body."""
    k = db.idempotency_keys.c
    row = conn.execute(
        sa.select(k.request_hash, k.status_code, k.response).where(
            k.site_id == site_id, k.key == key, k.created_at > db.utcnow() - ttl())
    ).one_or_none()
    if row is None:
        return None
    if not hmac.compare_digest(row.request_hash, req_hash):
        raise ConflictError(IDEMPOTENCY_CONFLICT, code="idempotency-key-reused")
    return row.status_code, dict(row.response)
