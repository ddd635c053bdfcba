"""history filters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Columns that let the web app and the API filter history by an index rather
than by reading JSON: ``company``, ``workplace_type``, ``employment_type``
and ``countries`` on versions, and ``company``, ``workplace_type`` and
``countries`` on events (see ``db.models.posting_facets``). Existing rows
are filled from the data they already hold, in batches.
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.models import posting_facets

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def _backfill(table: str, data_column: str, columns: tuple[str, ...]) -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    t = sa.Table(table, meta, autoload_with=conn)
    last = 0
    while True:
        rows = conn.execute(sa.select(t.c.id, t.c[data_column]).where(t.c.id > last)
                            .order_by(t.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for row_id, data in rows:
            if isinstance(data, str):  # SQLite hands JSON back as text through reflection
                data = json.loads(data)
            facets = posting_facets(data)
            values = {c: facets[c] for c in columns}
            if any(values.values()):
                conn.execute(t.update().where(t.c.id == row_id).values(**values))
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('workplace_type', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('employment_type', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('countries', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_versions_company', ['company', 'source_id', 'posting_id', 'valid_from', 'valid_to'], unique=False)
        batch_op.create_index('ix_versions_open', ['valid_to', 'posting_id'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('workplace_type', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('countries', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_events_company_id', ['company', 'id'], unique=False)
        batch_op.create_index('ix_events_posting', ['posting_id'], unique=False)
    _backfill('versions', 'data', ('company', 'workplace_type', 'employment_type', 'countries'))
    _backfill('events', 'posting', ('company', 'workplace_type', 'countries'))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_posting')
        batch_op.drop_index('ix_events_company_id')
        batch_op.drop_column('countries')
        batch_op.drop_column('workplace_type')
        batch_op.drop_column('company')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_index('ix_versions_open')
        batch_op.drop_index('ix_versions_company')
        batch_op.drop_column('countries')
        batch_op.drop_column('employment_type')
        batch_op.drop_column('workplace_type')
        batch_op.drop_column('company')
