"""trust: source health, page validators, run foreign keys, vocabulary checks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

``source_health`` keeps each source's state, a drop waiting to be confirmed
and where its count baseline starts; ``page_validators`` keeps each page's
ETag/Last-Modified and the stored body it gave (conditional requests live in
the database, not in a per-machine file cache). Every ``run_id`` column gets
a foreign key, and run statuses, event kinds and posting statuses a CHECK.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('source_health',
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('since', db.models.UTCDateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('failures_in_row', sa.Integer(), nullable=False),
    sa.Column('pending', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('confirmed_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('confirmed_reason', sa.Text(), nullable=True),
    sa.Column('baseline_after_run', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', db.models.UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('ok', 'suspicious', 'failing')", name=op.f('ck_source_health_state')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_source_health_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', name=op.f('pk_source_health'))
    )
    op.create_table('page_validators',
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['raw_sha256'], ['raw_responses.sha256'], name=op.f('fk_page_validators_raw_sha256_raw_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_page_validators_run_id_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_page_validators_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'key', name=op.f('pk_page_validators'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_events_run_id_runs'), 'runs', ['run_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(
            'kind', "kind IN ('new', 'changed', 'expired', 'reopened', 'closing')")

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'status', "status IN ('running', 'complete', 'partial', 'failed', 'suspicious', 'aborted')")

    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_postings_last_seen_run_id_runs'), 'runs', ['last_seen_run_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint('status', "status IN ('open', 'expired')")

    with op.batch_alter_table('raw_responses', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_raw_responses_run_id_runs'), 'runs', ['run_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_versions_run_id_runs'), 'runs', ['run_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_versions_run_id_runs'), type_='foreignkey')

    with op.batch_alter_table('raw_responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_raw_responses_run_id_runs'), type_='foreignkey')

    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_postings_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_postings_last_seen_run_id_runs'), type_='foreignkey')

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_runs_status'), type_='check')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_events_run_id_runs'), type_='foreignkey')

    op.drop_table('page_validators')
    op.drop_table('source_health')
