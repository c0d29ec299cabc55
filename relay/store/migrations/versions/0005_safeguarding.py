"""Safeguarding: guardians and consent, urgent alerts, legal holds, purge marks, findings' matched text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guardian',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('consent', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('decided_how', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_message_id', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('participant_id')
    )
    op.create_table('legal_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('placed_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('placed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cleared_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cleared_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_hold_participant_id'), ['participant_id'], unique=False)

    op.create_table('safeguard_token',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_table('urgent_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('next_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('acked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('acked_by_id', sa.Integer(), nullable=True),
    sa.Column('acked_via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['acked_by_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('urgent_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_urgent_alert_next_at'), ['next_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_urgent_alert_program_id'), ['program_id'], unique=False)

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match', sa.Text(), server_default='', nullable=False))

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('purged_at')

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_column('match')

    with op.batch_alter_table('urgent_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_urgent_alert_program_id'))
        batch_op.drop_index(batch_op.f('ix_urgent_alert_next_at'))

    op.drop_table('urgent_alert')
    op.drop_table('safeguard_token')
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_hold_participant_id'))

    op.drop_table('legal_hold')
    op.drop_table('guardian')
