"""Reaching the real servers tests need: PostgreSQL, Redis, MariaDB, RabbitMQ, Mosquitto (MQTT) and NATS.

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


MYSQL_ADMIN_URL = os.environ.get("HITL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
AMQP_TEST_URL = os.environ.get("HITL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
MQTT_TEST_URL = os.environ.get("HITL_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
NATS_TEST_URL = os.environ.get("HITL_TEST_NATS_URL", "nats://127.0.0.1:4222")


@contextmanager
def temporary_mysql_database() -> Iterator[str]:
    """Create a throw-away MySQL/MariaDB database and yield its URL (``mysql://user:password@host:port/name``).

    The database is dropped afterwards, whatever the test left in it.
    """
    from urllib.parse import urlsplit

    import pymysql

    parts = urlsplit(MYSQL_ADMIN_URL)
    login = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }
    name = f"hitl_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = pymysql.connect(**login, connect_timeout=3, autocommit=True)
    except pymysql.MySQLError as err:
        unavailable(f"MySQL/MariaDB is not reachable at {MYSQL_ADMIN_URL}: {err}")
    with admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"{MYSQL_ADMIN_URL.rstrip('/')}/{name}"
    finally:
        with pymysql.connect(**login, autocommit=True) as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def mysql_or_skip() -> str:
    """Return the MySQL/MariaDB admin URL after checking the server accepts the login."""
    from urllib.parse import urlsplit

    import pymysql

    parts = urlsplit(MYSQL_ADMIN_URL)
    try:
        pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=3,
        ).close()
    except pymysql.MySQLError as err:
        unavailable(f"MySQL/MariaDB is not reachable at {MYSQL_ADMIN_URL}: {err}")
    return MYSQL_ADMIN_URL


def amqp_url_or_skip() -> str:
    """Return the test RabbitMQ URL after checking the broker accepts the login."""
    import pika
    import pika.exceptions

    parameters = pika.URLParameters(AMQP_TEST_URL)
    parameters.socket_timeout = 3
    parameters.connection_attempts = 1
    try:
        pika.BlockingConnection(parameters).close()
    except pika.exceptions.AMQPError as err:
        unavailable(f"RabbitMQ is not reachable at {AMQP_TEST_URL}: {err!r}")
    return AMQP_TEST_URL


def mqtt_or_skip() -> tuple[str, int]:
    """Return the test MQTT broker's host and port after checking it accepts a connection."""
    import threading
    from urllib.parse import urlsplit

    import paho.mqtt.client as mqtt

    parts = urlsplit(MQTT_TEST_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    accepted = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hitl-test-probe-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda _client, _userdata, _flags, reason, _properties: (
        accepted.set() if not reason.is_failure else None
    )
    try:
        client.connect(host, port, keepalive=10)
        client.loop_start()
        if not accepted.wait(3):
            unavailable(f"the MQTT broker at {MQTT_TEST_URL} did not accept a connection")
    except OSError as err:
        unavailable(f"the MQTT broker is not reachable at {MQTT_TEST_URL}: {err}")
    finally:
        client.disconnect()
        client.loop_stop()
    return host, port


def nats_url_or_skip() -> str:
    """Return the test NATS URL after checking the server greets with INFO and has JetStream on."""
    import json
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(NATS_TEST_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=3) as probe:
            greeting = probe.makefile("rb").readline().decode()
    except OSError as err:
        unavailable(f"NATS is not reachable at {NATS_TEST_URL}: {err}")
    if not greeting.startswith("INFO "):
        unavailable(f"the server at {NATS_TEST_URL} is not NATS (it said {greeting[:40]!r})")
    if not json.loads(greeting[5:]).get("jetstream"):
        unavailable(f"NATS at {NATS_TEST_URL} runs without JetStream (start it with -js)")
    return NATS_TEST_URL
