"""OAuth sign-in states.

``oauth_state`` holds each authorization a user started for an OAuth2
credential, between "Connect" and the provider's callback: the SHA-256 of the
``state`` sent to the provider, the PKCE verifier sealed with the secret key,
the redirect URI, who started it and until when it may be used (once).
Nothing existing changes; the rows are short-lived, so the downgrade just
drops the table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:29:32.613364
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_state",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("encrypted_verifier", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credential.id"],
            name=op.f("fk_oauth_state_credential_id_credential"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_oauth_state_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_state")),
    )
    with op.batch_alter_table("oauth_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_state_credential_id"), ["credential_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_state_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_state_state_hash"), ["state_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_oauth_state_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_state_user_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_state_state_hash"))
        batch_op.drop_index(batch_op.f("ix_oauth_state_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth_state_credential_id"))
    op.drop_table("oauth_state")
