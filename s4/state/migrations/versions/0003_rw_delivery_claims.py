"""Release-watch delivery claims: rw_deliveries.claim_token / claimed_at and the status 'sending'

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot alter a CHECK constraint in place (the table is copied; PostgreSQL alters it)
    with op.batch_alter_table('rw_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.String(length=32), nullable=True))
        batch_op.drop_constraint(op.f('ck_rw_deliveries_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_rw_deliveries_status'),
                                         "status IN ('pending', 'sending', 'sent', 'not-notified')")


def downgrade() -> None:
    # a notice being sent goes back to pending (the old schema has no claims)
    op.execute("UPDATE rw_deliveries SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table('rw_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rw_deliveries_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_rw_deliveries_status'),
                                         "status IN ('pending', 'sent', 'not-notified')")
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claim_token')
