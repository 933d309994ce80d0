"""The MySQL credential, and opening a connection with it (shared by the MySQL nodes)."""

from __future__ import annotations

import math
import ssl
from collections.abc import Mapping
from typing import Any, Literal

import pymysql
from pydantic import BaseModel

from nodes.sdk import CredentialType, NodeError, param

CONNECT_TIMEOUT_SECONDS = 10
SslMode = Literal["disable", "prefer", "require", "verify_identity"]


class MysqlFields(BaseModel):
    host: str = param(title="Host", placeholder="db.example.com", min_length=1)
    port: int = param(3306, title="Port", ge=1, le=65535)
    database: str = param(title="Database", min_length=1)
    user: str = param(title="User", min_length=1)
    password: str = param("", title="Password", widget="password")
    ssl_mode: SslMode = param(
        "prefer",
        title="SSL",
        description="disable: never; prefer: when the server offers it; require: refuse unencrypted connections; "
        "verify_identity: also check the server's certificate and host name against the system's CAs.",
    )


class MysqlCredential(CredentialType):
    id = "mysql"
    display_name = "MySQL"
    description = "A MySQL or MariaDB database login."
    Fields = MysqlFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: MysqlFields | Mapping[str, Any]) -> str:
        """Connect and run ``SELECT 1``; returns ``Connected to host:port/database (server version)``.

        Raises:
            NodeError: The server cannot be reached, refuses the login, or offers no SSL when it is required.
        """
        checked = MysqlCredential.parse(fields)
        with connect(checked) as connection, connection.cursor() as cursor:
            try:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            except pymysql.MySQLError as err:
                raise NodeError(f"SELECT 1 failed on {where(checked)}: {reason(err)}") from err
            return f"Connected to {where(checked)} ({connection.get_server_info()})"


def where(fields: MysqlFields) -> str:
    """How messages name the server: ``host:port/database``."""
    return f"{fields.host}:{fields.port}/{fields.database}"


def reason(err: BaseException) -> str:
    """A driver error as one line: ``message (code)`` for the server's errors."""
    args = getattr(err, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return f"{' '.join(str(args[1]).split())} ({args[0]})"
    return " ".join(str(err).split()) or type(err).__name__


def _ssl_context(mode: SslMode) -> ssl.SSLContext | None:
    """What PyMySQL's ``ssl`` takes: a context makes SSL required; ``None`` leaves it to ``ssl_disabled``."""
    if mode in ("disable", "prefer"):
        return None
    context = ssl.create_default_context()
    if mode == "require":
        # Encrypted without checking who answers, like libmysqlclient's REQUIRED mode.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(fields: MysqlFields, *, timeout: float | None = None) -> pymysql.connections.Connection:
    """A connection outside autocommit: callers commit or roll back what they did.

    Args:
        fields: The MySQL credential.
        timeout: Seconds left for the whole node, if limited: caps connecting, reading and writing, and
            asks the server to stop a statement still running when the time is up.

    Raises:
        NodeError: Naming the server and what to check.
    """
    connect_timeout = CONNECT_TIMEOUT_SECONDS
    io_timeout: int | None = None
    if timeout is not None:
        connect_timeout = max(2, min(connect_timeout, math.ceil(timeout)))
        io_timeout = max(1, math.ceil(timeout))
    context = _ssl_context(fields.ssl_mode)
    try:
        connection = pymysql.connect(
            host=fields.host,
            port=fields.port,
            user=fields.user,
            password=fields.password,
            database=fields.database,
            charset="utf8mb4",
            ssl=context,
            # Without a context and not disabled, PyMySQL uses SSL when the server offers it (prefer).
            ssl_disabled=fields.ssl_mode == "disable",
            connect_timeout=connect_timeout,
            read_timeout=io_timeout,
            write_timeout=io_timeout,
            autocommit=False,
            # LOAD DATA LOCAL would let a query read the studio's own files.
            local_infile=False,
            program_name="hitl-studio",
        )
    except pymysql.MySQLError as err:
        raise NodeError(
            f"cannot connect to MySQL at {where(fields)}: {reason(err)}",
            description="Check the host, port, database, user, password and SSL setting of the credential.",
        ) from err
    if io_timeout is not None:
        try:
            with connection.cursor() as cursor:
                _limit_statements(cursor, connection.get_server_info(), io_timeout)
        except pymysql.MySQLError as err:
            connection.close()
            raise NodeError(f"setting up the session on {where(fields)} failed: {reason(err)}") from err
    return connection


def _limit_statements(cursor: pymysql.cursors.Cursor, server: str, seconds: int) -> None:
    """Have the server stop a statement that outlives the node's time (the client alone would only stop waiting)."""
    if "mariadb" in server.lower():
        cursor.execute("SET SESSION max_statement_time = %s", (seconds,))
    else:
        # MySQL's limit applies to SELECT only; it is in milliseconds.
        cursor.execute("SET SESSION max_execution_time = %s", (seconds * 1000,))
