"""The table of published results ("công khai kết quả"): public fields only.

Rows come from the central system's ``result.published`` events and from relay
submissions whose status becomes ``published``. Nothing here names or reaches a
citizen: no submitter, no contact, no address, no attachment (docs: "Public results").
"""

from __future__ import annotations

import sqlalchemy as sa

from widget_server.store.db import UTCDateTime, metadata

results = sa.Table(
    "published_results",
    metadata,
    # The central system's result_id (a relay-only result: the submission's central id or id).
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("origin", sa.String(8), nullable=False),  # central | relay
    sa.Column("central_id", sa.String(100), index=True),
    sa.Column("submission_id", sa.String(36), index=True),  # when it came through the relay
    sa.Column("site_id", sa.Integer, index=True),  # the news site it came through, if any
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("question", sa.Text),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("category", sa.String(64)),
    sa.Column("agency", sa.String(200)),
    sa.Column("commune_code", sa.String(16)),
    sa.Column("received_at", UTCDateTime),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("deadline", UTCDateTime),
    sa.Column("url", sa.String(2000)),
    # Folded title, question and answer: search with or without diacritics (text.fold).
    sa.Column("search_key", sa.Text, nullable=False),
    # answered_at, else the first publication: what lists sort and date ranges filter by.
    sa.Column("sort_at", UTCDateTime, nullable=False),
    # The newest event about a result wins; an older one arriving late changes nothing.
    sa.Column("event_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("withdrawn_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False, index=True),
    sa.CheckConstraint("origin IN ('central', 'relay')", name="origin_known"),
    sa.Index("ix_published_results_listing", "withdrawn_at", "sort_at"),
)
