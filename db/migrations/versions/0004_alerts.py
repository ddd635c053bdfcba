"""alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

The outbox of alerts: ``health_notices`` (a source problem started or
recovered), ``deliveries`` (one alert for one subscription, written in the
same transaction as its cause, then claimed, sent and marked),
``subscription_state`` (last digest, switched off by a 410), ``cursors``
(reading positions for ``jobdelta changes --new-since-last``), and the
problems going on now in ``source_health.problems``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cursors',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cursors'))
    )
    op.create_table('subscription_state',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('last_digest_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('disabled_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_subscription_state'))
    )
    op.create_table('health_notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('problem', sa.String(length=30), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('at', db.models.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('subscription', sa.String(length=200), nullable=True),
    sa.CheckConstraint("problem IN ('failing', 'blocked', 'suspicious', 'shrink_confirmed', 'coverage_lost', 'webhook_disabled')", name=op.f('ck_health_notices_problem')),
    sa.CheckConstraint("state IN ('started', 'recovered')", name=op.f('ck_health_notices_state')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_health_notices_run_id_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_health_notices_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_notices'))
    )
    with op.batch_alter_table('health_notices', schema=None) as batch_op:
        batch_op.create_index('ix_health_notices_at', ['at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscription', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('notice_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', db.models.UTCDateTime(), nullable=True),
    sa.Column('sent_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'webhook', 'apprise')", name=op.f('ck_deliveries_channel')),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name=op.f('ck_deliveries_status')),
    sa.CheckConstraint('(event_id IS NULL) <> (notice_id IS NULL)', name=op.f('ck_deliveries_one_cause')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_deliveries_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['health_notices.id'], name=op.f('fk_deliveries_notice_id_health_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('subscription', 'event_id', name='uq_deliveries_subscription_event'),
    sa.UniqueConstraint('subscription', 'notice_id', name='uq_deliveries_subscription_notice')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_status_next', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('source_health', schema=None) as batch_op:
        batch_op.add_column(sa.Column('problems', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('source_health', schema=None) as batch_op:
        batch_op.drop_column('problems')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_next')

    op.drop_table('deliveries')
    with op.batch_alter_table('health_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_health_notices_at')

    op.drop_table('health_notices')
    op.drop_table('subscription_state')
    op.drop_table('cursors')
