"""outbox: an index of dead rows in place of the one on (state, next_attempt_at)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

The worker reads pending rows through the partial indexes of migration 0010; the index on
(state, next_attempt_at) served only an operator's look at dead rows, yet every submission
wrote it (a pending row) and every delivery moved its entry (pending → delivered). An index
of dead rows alone serves the operator and costs the intake and the worker nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

DEAD = sa.text("state = 'dead'")


def upgrade() -> None:
    op.create_index("ix_outbox_dead", "outbox", ["created_at"], postgresql_where=DEAD, sqlite_where=DEAD)
    op.drop_index("ix_outbox_due", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.drop_index("ix_outbox_dead", table_name="outbox")
