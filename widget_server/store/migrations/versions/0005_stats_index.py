"""an index that covers the figures of /stats

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op

from widget_server.store.db import STATS_COLUMNS

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_submissions_stats", "submissions", list(STATS_COLUMNS))


def downgrade() -> None:
    op.drop_index("ix_submissions_stats", table_name="submissions")
