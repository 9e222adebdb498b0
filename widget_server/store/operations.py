"""The tables of the relay's operation, beside the citizens' data in ``db``: reach counters,
console accounts and the audit log. Same metadata, same engine; ``store/__init__`` imports this
module so every table is known wherever ``db`` is.
"""

from __future__ import annotations

import sqlalchemy as sa

from widget_server.store.db import UTCDateTime, metadata
from widget_server.vocab import CONSOLE_ROLES, REACH_EVENTS


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The CHECK that keeps a column within one of the vocabularies in ``vocab``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"

reach_counters = sa.Table(
    "reach_counters",
    metadata,
    # One row per site, channel, event and hour, counted up by an upsert: a beacon adds 1 to a
    # counter and never a row, and nothing about the reader (no IP, no cookie, no identifier).
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("event", sa.String(16), primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.CheckConstraint(one_of("event", REACH_EVENTS), name="event_known"),
)

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id")),  # an editor's own site
    sa.Column("totp_secret", sa.String(64)),  # the optional second factor (RFC 6238)
    # The time step of the last code accepted: a code at or before it is refused (RFC 6238 §5.2).
    sa.Column("totp_last_step", sa.BigInteger),
    # Bumped by a reset or a disable: every session signed for an older value ends.
    sa.Column("session_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("disabled_at", UTCDateTime),
    sa.Column("last_sign_in_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(one_of("role", CONSOLE_ROLES), name="role_known"),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    # One row per open console session (sign-in → sign-out or 12 hours): the signed cookie names
    # its row, so a copied cookie stops working when its session is signed out. The id is the
    # SHA-256 of the cookie's random token, never the token itself.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    # Who did what to which thing, and when; refused attempts too. Never a secret or a password.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200)),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), index=True),
    sa.Column("details", sa.JSON),
)
