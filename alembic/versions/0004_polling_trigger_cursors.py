"""Polling trigger cursors.

A polling trigger (RSS Feed Trigger, ...) is booked like a schedule, in the
``schedule`` table; ``poll_cursor`` keeps what its last poll saw, so the next
one outputs only what is new. ``NULL`` means not polled since activation. The
downgrade drops the column (the next poll after an upgrade again only takes
its cursor).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poll_cursor", JSON_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_column("poll_cursor")
