"""statuses kept within the one vocabulary by CHECK constraints

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from alembic import op

from widget_server.store.db import status_in

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("submissions", "submission_history")


def upgrade() -> None:
    # batch mode: SQLite adds a CHECK only by copying the table, PostgreSQL alters it in place.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint("status_known", status_in("status"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint("status_known", type_="check")
