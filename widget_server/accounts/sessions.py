"""Console sessions, one row each: a sign-in opens one, a sign-out ends it.

The console's cookie (signed by Flask) carries a random token; the row is named by its SHA-256
digest, so a copy of the database alone names no session. A session is open while its row is
there: signing out deletes it, and a reset or a disable of the account deletes all of its
sessions (``users._change``). Rows older than the longest session are deleted at each sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from widget_server.accounts import audit, users
from widget_server.store import db, operations

#: The longest a console session lasts, however active.
MAX_SECONDS = 12 * 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user_id: int) -> str:
    """A new session for this account; returns the token its cookie carries."""
    token = secrets.token_urlsafe(32)
    s = operations.console_sessions
    now = db.utcnow()
    with db.write() as conn:
        conn.execute(sa.delete(s).where(s.c.created_at < now - dt.timedelta(seconds=MAX_SECONDS)))
        conn.execute(sa.insert(s).values(id=_digest(token), user_id=user_id, created_at=now))
    return token


def user_of(user_id: int, token: str | None) -> users.User | None:
    """The account whose open session this is, or None (signed out, ended, never opened)."""
    return users.get(user_id, session=_digest(token)) if token else None


def expire(user_id: int, token: str | None) -> None:
    """A session seen past its idle time or its age: its row goes, so no copy of the cookie
    (whose own last-seen time its holder keeps fresh) opens it. Written only when the row is
    there: a stale cookie sent again costs a read, not a write."""
    if user_of(user_id, token) is None:
        return
    assert token is not None
    with db.write() as conn:
        _delete(conn, token)


def end(token: str | None, *, actor: str, site_id: int | None) -> None:
    """Sign out: this session's row goes, with the audit entry in the same transaction."""
    with db.write() as conn:
        if token:
            _delete(conn, token)
        audit.record(actor, "sign-out", actor, site_id=site_id, conn=conn)


def _delete(conn: Connection, token: str) -> None:
    conn.execute(sa.delete(operations.console_sessions).where(
        operations.console_sessions.c.id == _digest(token)))
