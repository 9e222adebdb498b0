"""published results: public fields only (result.published, relay submissions published)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_results",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("central_id", sa.String(length=100), nullable=True),
        sa.Column("submission_id", sa.String(length=36), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("agency", sa.String(length=200), nullable=True),
        sa.Column("commune_code", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("sort_at", sa.DateTime(), nullable=False),
        sa.Column("event_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("origin IN ('central', 'relay')",
                           name=op.f("ck_published_results_origin_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_results")),
    )
    for column in ("central_id", "submission_id", "site_id", "updated_at"):
        op.create_index(op.f(f"ix_published_results_{column}"), "published_results", [column])
    op.create_index("ix_published_results_listing", "published_results", ["withdrawn_at", "sort_at"])


def downgrade() -> None:
    op.drop_table("published_results")
