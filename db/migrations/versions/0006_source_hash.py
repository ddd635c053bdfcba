"""source hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

``postings.source_hash``: the hash of the raw input (page body, board
entry) that made a posting's current version, with the parser version in it
(``crawler.items.source_hash``). A run that meets the same input again
records the posting as seen without parsing it. Existing postings start
without one: their next run parses them once and fills it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_column('source_hash')
