"""spent ALTCHA challenges

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('altcha_spent',
    sa.Column('challenge', sa.String(length=128), nullable=False),
    sa.Column('used_by', sa.String(length=255), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('challenge', name=op.f('pk_altcha_spent'))
    )
    with op.batch_alter_table('altcha_spent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_altcha_spent_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('altcha_spent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_altcha_spent_expires_at'))
    op.drop_table('altcha_spent')
