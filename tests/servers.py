"""Reaching the real PostgreSQL and Redis that tests need.

Under ``CI=true`` a missing server is a failure; elsewhere the test is skipped
with the reason printed, as DEVELOPERS.md asks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_ADMIN_URL = os.environ.get("HITL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("HITL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: required services must be running)")
    pytest.skip(reason)


def redis_url_or_skip() -> str:
    """Return the test Redis URL after checking the server answers."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as err:
        unavailable(f"Redis is not reachable at {REDIS_TEST_URL}: {err}")
    return REDIS_TEST_URL


@contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """Create a throw-away database and yield its SQLAlchemy URL; drop it afterwards."""
    import psycopg

    name = f"hitl_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {err}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
