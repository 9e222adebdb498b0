"""Storage: SQLAlchemy Core tables; the engine and transactions (``engine.py``) re-exported.

SQLite (WAL, ``synchronous=FULL``) is the embedded default and PostgreSQL the
scale-out store; the same statements run on both. Write transactions on SQLite
start with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

# The engine and its transactions live in engine.py, migrations in migrate.py; ``db.read``,
# ``db.write``, ``db.upgrade`` … stay the calls the layers above and the tests make.
from widget_server.store.engine import get_engine as get_engine
from widget_server.store.engine import init_app as init_app
from widget_server.store.engine import insert_for as insert_for
from widget_server.store.engine import is_postgres as is_postgres
from widget_server.store.engine import make_engine as make_engine
from widget_server.store.engine import normalise_url as normalise_url
from widget_server.store.engine import query as query
from widget_server.store.engine import read as read
from widget_server.store.engine import write as write
from widget_server.store.engine import write_one as write_one
from widget_server.store.migrate import upgrade as upgrade
from widget_server.vocab import STATUSES

STATS_COLUMNS = ("site_id", "status", "category", "via", "src", "submitted_at", "answered_at",
                 "deadline", "rated_at", "rating_satisfied")


def status_in(column: str) -> str:
    """The CHECK that keeps a status column within the one vocabulary (``phanhoi.statuses``)."""
    return f"{column} IN ({', '.join(repr(v) for v in STATUSES)})"


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database: the same on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UTCDateTime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: Any) -> Any:
        # As ``result_processor``: one function per value bound, not SQLAlchemy's wrapper around
        # ``process_bind_param`` (a new submission binds eight); SQLite's dialect then makes
        # the string it stores.
        to_string = self.impl_instance.bind_processor(dialect)
        convert = self.process_bind_param
        if to_string is None:
            return lambda value: convert(value, dialect)
        return lambda value: to_string(convert(value, dialect))

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        # One function per value read, not SQLAlchemy's wrapper around ``process_result_value``
        # (a status lookup reads up to seven): PostgreSQL's driver gives datetimes, SQLite's
        # strings that the dialect's own processor parses first.
        parse = self.impl_instance.result_processor(dialect, coltype)
        if parse is None:
            return _aware
        return lambda value: _aware(parse(value))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None else None


sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_key", sa.String(40), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 of the secret key: it is 256 random bits, so a plain digest is enough.
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("previous_secret_hash", sa.String(64)),
    sa.Column("previous_secret_expires_at", UTCDateTime),
    sa.Column("origins", sa.JSON, nullable=False),
    sa.Column("locale", sa.String(8), nullable=False, server_default="vi"),
    sa.Column("theme", sa.JSON, nullable=False),
    sa.Column("province_code", sa.Integer, nullable=False, server_default="38"),
    sa.Column("categories", sa.JSON),  # null: every category
    sa.Column("agencies", sa.JSON),  # null: every agency
    sa.Column("destination", sa.String(40), nullable=False, server_default="central"),
    sa.Column("altcha", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tracking_code", sa.String(16), nullable=False, unique=True),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),  # ix_submissions_stats leads with it
    sa.Column("via", sa.String(16), nullable=False),  # form | page | api
    sa.Column("src", sa.String(64)),  # ?src= attribution (tv, print, …)
    sa.Column("source_url", sa.String(2000)),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("agency", sa.String(64)),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("commune_code", sa.String(16)),
    sa.Column("address", sa.String(500)),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("name", sa.String(200)),
    sa.Column("phone", sa.String(20)),
    sa.Column("email", sa.String(320)),
    # Keyed digests of the contact details: the lookup still works after redaction.
    sa.Column("phone_digest", sa.String(64)),
    sa.Column("email_digest", sa.String(64)),
    sa.Column("confidential", sa.Boolean, nullable=False),
    sa.Column("consent_version", sa.String(64), nullable=False),
    sa.Column("consent_hash", sa.String(64), nullable=False),
    sa.Column("consent_at", UTCDateTime, nullable=False),
    sa.Column("consent_withdrawn_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_sequence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status_note", sa.Text),
    sa.Column("central_id", sa.String(100)),
    sa.Column("deadline", UTCDateTime),
    sa.Column("answer_text", sa.Text),
    sa.Column("answer_agency", sa.String(200)),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("rating_satisfied", sa.Boolean),
    sa.Column("rating_comment", sa.Text),
    sa.Column("rated_at", UTCDateTime),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("forwarded_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("redacted_at", UTCDateTime),
    sa.Column("deletion_requested_at", UTCDateTime),
    sa.CheckConstraint(status_in("status"), name="status_known"),
    # Covers every column the figures read (intake/stats.py): counted from the index alone.
    sa.Index("ix_submissions_stats", *STATS_COLUMNS),
)

history = sa.Table(
    "submission_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "submission_id", sa.String(36), sa.ForeignKey("submissions.id"), nullable=False, index=True
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("sequence", sa.Integer),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.CheckConstraint(status_in("status"), name="status_known"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "submission_id", sa.String(36), sa.ForeignKey("submissions.id"), nullable=False, index=True
    ),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    # Not indexed (migration 0015): only the retention purge reads by it, a scan of a table
    # that holds a day or so of keys; every submission wrote the index.
    sa.Column("created_at", UTCDateTime, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    # The Standard Webhooks message id: the same on every retry, so receivers drop duplicates.
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("destination", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id")),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # pending | delivered | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.String(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    # Marked just before an SMTP hand-over: pending with it set = lost mid-send (delivery/notices.py).
    sa.Column("handed_over_at", UTCDateTime),
    # An operator's dead rows (``outbox list --state dead``, ``outbox retry --all-dead``); the
    # rows every submission writes are pending, and enter no index of dead ones (migration 0012).
    sa.Index("ix_outbox_dead", "created_at",
             postgresql_where=sa.text("state = 'dead'"), sqlite_where=sa.text("state = 'dead'")),
    # The worker's claim (delivery/queue.py): due rows in order.
    sa.Index("ix_outbox_pending_due", "next_attempt_at", "created_at",
             postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'")),
    # A submission's events, oldest first: the claim's "no earlier one still pending", retention,
    # status events (one index of all rows since migration 0015, not one more of pending ones).
    sa.Index("ix_outbox_submission", "submission_id", "created_at"),
)

destinations = sa.Table(
    "destinations",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False),  # active | paused | disabled
    sa.Column("reason", sa.String(500)),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("open_until", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

inbound_events = sa.Table(
    "inbound_events",
    metadata,
    # webhook-id of each event accepted from the central system: duplicates are dropped.
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False, index=True),
)

altcha_spent = sa.Table(
    "altcha_spent",
    metadata,
    # Each solved ALTCHA challenge is accepted once (by one form submission's idempotency key).
    sa.Column("challenge", sa.String(128), primary_key=True),
    sa.Column("used_by", sa.String(255)),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

reference_lists = sa.Table(
    "reference_lists",
    metadata,
    # The central system's own categories and agencies (``phanhoi-widget reference sync``).
    sa.Column("kind", sa.String(32), primary_key=True),  # categories | agencies
    sa.Column("entries", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
