"""The Alembic migrations on SQLite and PostgreSQL: reversible, and in step with the models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import hitl_studio.models  # noqa: F401  (registers every table on SQLModel.metadata)
from hitl_studio import migrations
from hitl_studio.db import build_engine
from hitl_studio.settings import Settings


@contextmanager
def _connect(url: str) -> Iterator[Connection]:
    """A connection of its own, so no pooled connection holds locks while Alembic migrates."""
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    with _connect(url) as connection:
        return set(inspect(connection).get_table_names())


def _revision(url: str) -> str | None:
    with _connect(url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(migrations.alembic_config(url)).get_current_head()


def test_up_down_up(database: Settings) -> None:
    url = database.database_url
    model_tables = set(SQLModel.metadata.tables)
    assert _tables(url) == model_tables | {"alembic_version"}
    assert _revision(url) == _head(url)

    migrations.downgrade(url)

    assert _tables(url) == {"alembic_version"}
    assert _revision(url) is None

    migrations.upgrade(url)

    assert _tables(url) == model_tables | {"alembic_version"}
    assert _revision(url) == _head(url)


def test_migrated_schema_matches_the_models(database: Settings) -> None:
    with _connect(database.database_url) as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)

    assert diff == []
