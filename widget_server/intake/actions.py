"""Idempotency for a citizen's actions on a submission (ratings, data requests).

A retry with the same ``Idempotency-Key`` gets the first answer, and the action is
forwarded once. Keys are kept per submission, so one key cannot touch another
citizen's request (the key itself is hashed: any length fits).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Connection

from widget_server.errors import ConflictError
from widget_server.intake.idempotency import IDEMPOTENCY_CONFLICT
from widget_server.store import db


def _stored_key(action: str, submission_id: str, key: str) -> str:
    return f"{action}:{submission_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=int(current_app.config["IDEMPOTENCY_TTL_HOURS"]))


def replay(conn: Connection, row: Any, action: str, key: str | None, req_hash: str) -> dict[str, Any] | None:
    """The answer given to an earlier request with this key, if any (within the TTL)."""
    if not key:
        return None
    k = db.idempotency_keys.c
    found = conn.execute(sa.select(db.idempotency_keys).where(
        k.site_id == row.site_id, k.key == _stored_key(action, row.id, key),
        k.created_at > db.utcnow() - _ttl())).one_or_none()
    if found is None:
        return None
    if not hmac.compare_digest(found.request_hash, req_hash):
        raise ConflictError(IDEMPOTENCY_CONFLICT, code="idempotency-key-reused")
    return dict(found.response)


def remember(conn: Connection, row: Any, action: str, key: str | None, req_hash: str,
             status_code: int, response: dict[str, Any]) -> None:
    if not key:
        return
    k = db.idempotency_keys.c
    stored = _stored_key(action, row.id, key)
    conn.execute(sa.delete(db.idempotency_keys).where(k.site_id == row.site_id, k.key == stored))
    conn.execute(sa.insert(db.idempotency_keys), {
        "site_id": row.site_id, "key": stored, "request_hash": req_hash,
        "status_code": status_code, "response": response, "created_at": db.utcnow()})
