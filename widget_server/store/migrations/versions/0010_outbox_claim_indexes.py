"""outbox: partial indexes for the worker's claim (due rows in order; a submission's pending events)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    # The claim reads pending rows in (next_attempt_at, created_at) order and stops at its
    # limit; for each, whether an earlier event of the same submission is still pending.
    op.create_index("ix_outbox_pending_due", "outbox", ["next_attempt_at", "created_at"],
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.create_index("ix_outbox_pending_submission", "outbox", ["submission_id", "created_at"],
                    postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_submission", table_name="outbox")
    op.drop_index("ix_outbox_pending_due", table_name="outbox")
