"""outbox: one index of a submission's events, in place of two; idempotency keys: no index by age

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A submission's outbox rows were indexed twice: all of them by ``submission_id`` (retention,
status events, the operators' list) and the pending ones by (submission_id, created_at), for
the worker's "no earlier event of this submission still pending" check. Every submission wrote
both B-trees and every delivery removed its entry from the second. One index of all rows by
(submission_id, created_at) serves both: the check reads the submission's earlier rows (a few)
and their state from the table. A delivery moves one index entry fewer on either store.

The index of idempotency answers by ``created_at`` served only the retention purge, which may
as well scan a table that holds the keys of the last day or so (``IDEMPOTENCY_TTL_HOURS``);
every submission, rating and data request wrote it.

A submission writes two B-trees fewer: on SQLite about 15 WAL pages a commit, not 16.5.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_index("ix_outbox_submission", "outbox", ["submission_id", "created_at"])
    op.drop_index("ix_outbox_pending_submission", table_name="outbox")
    op.drop_index("ix_outbox_submission_id", table_name="outbox")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")


def downgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_index("ix_outbox_submission_id", "outbox", ["submission_id"])
    op.create_index("ix_outbox_pending_submission", "outbox", ["submission_id", "created_at"],
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_index("ix_outbox_submission", table_name="outbox")
