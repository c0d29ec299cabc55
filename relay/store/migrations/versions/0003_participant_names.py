"""Masking: every display name a participant has used, and a version for cached address books.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('participant_name',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('first_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('participant_id', 'name', name='uq_participant_name')
    )
    op.create_index(op.f('ix_participant_name_participant_id'), 'participant_name', ['participant_id'], unique=False)
    with op.batch_alter_table('program') as batch:
        batch.add_column(sa.Column('mask_version', sa.Integer(), server_default='0', nullable=False))
    # The names learned so far are the first entries of each history.
    op.execute(
        "INSERT INTO participant_name (participant_id, name, first_seen_at) "
        "SELECT id, display_name, created_at FROM participant WHERE display_name <> ''"
    )


def downgrade() -> None:
    with op.batch_alter_table('program') as batch:
        batch.drop_column('mask_version')
    op.drop_index(op.f('ix_participant_name_participant_id'), table_name='participant_name')
    op.drop_table('participant_name')
