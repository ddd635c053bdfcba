"""roles: postings of one job linked across boards and reposts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

``roles`` holds one row per job; ``role_links`` puts each posting in one
role with a confidence, a reason and the fingerprint it was matched on;
``role_keys`` holds the blocking keys (requisition id, title variants) that
candidate postings are looked up by.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('roles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('founded_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles'))
    )
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roles_founded_by'), ['founded_by'], unique=False)

    op.create_table('role_keys',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('posting_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_role_keys_posting_id_postings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'posting_id', name=op.f('pk_role_keys'))
    )
    with op.batch_alter_table('role_keys', schema=None) as batch_op:
        batch_op.create_index('ix_role_keys_posting', ['posting_id'], unique=False)

    op.create_table('role_links',
    sa.Column('posting_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('linked_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('company_key', sa.String(length=300), nullable=False),
    sa.Column('title_tokens', sa.Text(), nullable=True),
    sa.Column('requisition_id', sa.String(length=200), nullable=True),
    sa.Column('places', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sketch', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_role_links_posting_id_postings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_role_links_role_id_roles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('posting_id', name=op.f('pk_role_links'))
    )
    with op.batch_alter_table('role_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_links_role_id'), ['role_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('role_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_links_role_id'))

    op.drop_table('role_links')
    with op.batch_alter_table('role_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_role_keys_posting')

    op.drop_table('role_keys')
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roles_founded_by'))

    op.drop_table('roles')
