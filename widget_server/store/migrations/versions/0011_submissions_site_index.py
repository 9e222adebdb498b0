"""submissions: drop the index on site_id alone, a prefix of ix_submissions_stats

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Every lookup by site (the figures, the public results, a site's deletion checking its
submissions) is served by ix_submissions_stats, whose first column is site_id; the index on
site_id alone was one more B-tree each submission wrote (on SQLite a WAL page of the 18 a
submission's commit writes).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_submissions_site_id", table_name="submissions")


def downgrade() -> None:
    op.create_index("ix_submissions_site_id", "submissions", ["site_id"])
