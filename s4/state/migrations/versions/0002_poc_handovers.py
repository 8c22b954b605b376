"""POC client handover notices (s4.poc.handover): table poc_handovers

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('poc_handovers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('poc_name', sa.String(length=255), nullable=False),
    sa.Column('client', sa.String(length=255), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recipients', sa.Text(), server_default='', nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('eml', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('drafted', 'sent')", name=op.f('ck_poc_handovers_status')),
    sa.ForeignKeyConstraint(['poc_name'], ['poc_records.name'], name=op.f('fk_poc_handovers_poc_name_poc_records'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poc_handovers')),
    sa.UniqueConstraint('poc_name', 'digest', name=op.f('uq_poc_handovers_poc_name_digest'))
    )
    with op.batch_alter_table('poc_handovers', schema=None) as batch_op:
        batch_op.create_index('ix_poc_handovers_client', ['client'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('poc_handovers', schema=None) as batch_op:
        batch_op.drop_index('ix_poc_handovers_client')

    op.drop_table('poc_handovers')
