"""notices to citizens: their requests (a consent of their own), and the outbox's hand-over mark

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from widget_server.store.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_requests",
        sa.Column("submission_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("contact", sa.String(320)),
        sa.Column("consent_version", sa.String(64), nullable=False),
        sa.Column("consent_hash", sa.String(64), nullable=False),
        sa.Column("consent_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime()),
        sa.Column("erased_at", UTCDateTime()),
        sa.Column("accepted_notice_id", sa.String(40)),
        sa.Column("final_notice_id", sa.String(40)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_notify_requests_channel_known"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name="fk_notify_requests_submission_id_submissions"),
        sa.PrimaryKeyConstraint("submission_id", name="pk_notify_requests"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("handed_over_at", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("handed_over_at")
    op.drop_table("notify_requests")
