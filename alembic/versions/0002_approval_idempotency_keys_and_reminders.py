"""Approval idempotency keys and reminders.

``approval.idempotency_key`` (unique per requester) and ``idempotency_hash`` make
a retried ``POST /api/v1/approvals`` return the request it already created;
``reminders`` (seconds before the deadline) and ``next_reminder_at`` drive the
reminder jobs. Existing requests get no key and no reminders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:24:36.271140
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default fills the rows that exist already; the second batch drops it so
    # the column matches the model, where the application always writes the value.
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("idempotency_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reminders", JSON_TYPE, nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_approval_idempotency", ["requested_by", "idempotency_key"], unique=True)
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.alter_column("reminders", existing_type=JSON_TYPE, existing_nullable=False, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_idempotency")
        batch_op.drop_column("next_reminder_at")
        batch_op.drop_column("reminders")
        batch_op.drop_column("idempotency_hash")
        batch_op.drop_column("idempotency_key")
