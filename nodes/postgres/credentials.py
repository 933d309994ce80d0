"""The PostgreSQL credential, and opening a connection with it (shared by the PostgreSQL nodes)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import psycopg
from pydantic import BaseModel

from nodes.sdk import CredentialType, NodeError, param

CONNECT_TIMEOUT_SECONDS = 10


class PostgresFields(BaseModel):
    host: str = param(title="Host", placeholder="db.example.com", min_length=1)
    port: int = param(5432, title="Port", ge=1, le=65535)
    database: str = param(title="Database", min_length=1)
    user: str = param(title="User", min_length=1)
    password: str = param("", title="Password", widget="password")
    ssl_mode: Literal["disable", "prefer", "require"] = param(
        "prefer",
        title="SSL",
        description="disable: never; prefer: when the server offers it; require: refuse unencrypted connections.",
    )


class PostgresCredential(CredentialType):
    id = "postgres"
    display_name = "PostgreSQL"
    description = "A PostgreSQL database login."
    Fields = PostgresFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: PostgresFields | Mapping[str, Any]) -> str:
        """Connect and run ``SELECT 1``; returns ``Connected to host:port/database``.

        Raises:
            NodeError: The server cannot be reached or refuses the login.
        """
        checked = PostgresCredential.parse(fields)
        with connect(checked) as connection:
            try:
                connection.execute("SELECT 1").fetchone()
            except psycopg.Error as err:
                raise NodeError(f"SELECT 1 failed on {_where(checked)}: {err}") from err
        return f"Connected to {_where(checked)}"


def _where(fields: PostgresFields) -> str:
    return f"{fields.host}:{fields.port}/{fields.database}"


def connect(fields: PostgresFields, *, timeout: float | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection; callers open transactions explicitly with ``connection.transaction()``.

    Args:
        fields: The PostgreSQL credential.
        timeout: Seconds left for the whole node, if limited: caps connecting and every statement.

    Raises:
        NodeError: Naming the server and what to check.
    """
    connect_timeout = CONNECT_TIMEOUT_SECONDS
    options = ""
    if timeout is not None:
        connect_timeout = max(2, min(connect_timeout, math.ceil(timeout)))
        # The server cancels a statement still running when the node's time is up.
        options = f"-c statement_timeout={max(1, int(timeout * 1000))}"
    try:
        return psycopg.connect(
            host=fields.host,
            port=fields.port,
            dbname=fields.database,
            user=fields.user,
            password=fields.password or None,
            sslmode=fields.ssl_mode,
            connect_timeout=connect_timeout,
            application_name="hitl-studio",
            options=options or None,
            autocommit=True,
        )
    except psycopg.Error as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise NodeError(
            f"cannot connect to PostgreSQL at {_where(fields)}: {reason}",
            description="Check the host, port, database, user, password and SSL setting of the credential.",
        ) from err
