"""The audit log: every change made in the console or with ``users``, refused sign-ins, and a
signed-in account's refused attempts (those with no account go to the application log).

Entries name the actor (an account's email, or ``cli``), the action, its target and a few
details; never a password, a secret key or a TOTP code. Citizens' data never appears here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from widget_server.store import db, operations

#: Keys that must never reach the log, whatever a caller passes.
SECRET_KEYS = frozenset({"password", "secret", "secret_key", "totp", "code", "token", "csrf"})


def record(actor: str, action: str, target: str | None = None, *, site_id: int | None = None,
           details: dict[str, Any] | None = None, conn: Connection | None = None) -> None:
    """One entry; inside the caller's transaction when ``conn`` is given (the change and its entry
    commit together)."""
    clean = {k: v for k, v in (details or {}).items() if k not in SECRET_KEYS} or None
    values = {"at": db.utcnow(), "actor": actor[:320], "action": action[:64],
              "target": target[:200] if target else None, "site_id": site_id, "details": clean}
    if conn is not None:
        conn.execute(sa.insert(operations.audit_log).values(**values))
        return
    with db.write() as own:
        own.execute(sa.insert(operations.audit_log).values(**values))


def recent(*, site_id: int | None = None, limit: int = 100,
           since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Newest first; an editor's view (``site_id``) holds only their site's entries."""
    a = operations.audit_log
    query = sa.select(a).order_by(a.c.at.desc(), a.c.id.desc()).limit(limit)
    if site_id is not None:
        query = query.where(a.c.site_id == site_id)
    if since is not None:
        query = query.where(a.c.at >= since)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query).all()]
