"""Alembic environment: the URL comes from our settings, the schema from our models."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import hitl_studio.models  # noqa: F401  (registers every table on SQLModel.metadata)
from hitl_studio.db import build_engine
from hitl_studio.settings import get_settings

target_metadata = SQLModel.metadata


def _database_url() -> str:
    configured = context.config.attributes.get("database_url")
    return configured or get_settings().database_url


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) without a connection."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _database_url()
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
                render_as_batch=url.startswith("sqlite"),
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
