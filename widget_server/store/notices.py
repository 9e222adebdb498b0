"""The notify layer's table: a citizen's request to be told of the answer.

Kept out of ``db.py`` so each module stays one job; it is on the same ``metadata``
(``store/__init__.py`` imports it), so migrations and tests see every table.
"""

from __future__ import annotations

import sqlalchemy as sa

from widget_server.store.db import UTCDateTime, metadata

notify_requests = sa.Table(
    "notify_requests",
    metadata,
    # A citizen's request to be told of the answer: a consent of its own (Law 91/2025/QH15, per
    # purpose), kept apart from the submission's so it is withdrawn and erased on its own.
    sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("channel", sa.String(8), nullable=False),
    # The address or E.164 number the notice goes to; erased once the last notice is sent, on
    # withdrawal, and when the submission's personal data is redacted.
    sa.Column("contact", sa.String(320)),
    sa.Column("consent_version", sa.String(64), nullable=False),
    sa.Column("consent_hash", sa.String(64), nullable=False),
    sa.Column("consent_at", UTCDateTime, nullable=False),
    sa.Column("withdrawn_at", UTCDateTime),
    sa.Column("erased_at", UTCDateTime),
    # The outbox ids of the notices sent, one per kind at most: the "sent once" of the design.
    sa.Column("accepted_notice_id", sa.String(40)),
    sa.Column("final_notice_id", sa.String(40)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
)
