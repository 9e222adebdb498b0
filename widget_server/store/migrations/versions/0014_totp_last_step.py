"""console accounts remember the time step of their last accepted one-time code

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

A TOTP code is good for its 30-second step and the ones beside it (clock drift), so the same
code could sign in twice within about 90 seconds. RFC 6238 §5.2 asks that a code once accepted
be refused after: the step it matched is kept, and a code at or before it no longer opens.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("console_users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy of the table: the copy
    # would drop console_users, which console_sessions' foreign key still refers to.
    op.drop_column("console_users", "totp_last_step")
