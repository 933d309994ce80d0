"""After full runs that use credentials, no secret is anywhere: not in the database, the logs, or any API response.

The runs are built to tempt leaks: the API echoes the key header back, the OAuth
resource echoes the bearer token, and a failing call puts a query credential in
its URL. The search covers every table (and, on SQLite, the raw database files),
every file the studio wrote, everything logged at DEBUG, and the answers of
every GET route of the API plus those of the calls that made and ran things.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import SQLModel

from hitl_studio.api.app import create_app
from hitl_studio.db import session_scope
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.users import Role
from hitl_studio.settings import Settings
from hitl_studio.startup import configure_logging
from tests.factories import make_api_key, make_user
from tests.fakes.http_server import FakeHttpServer, fake_http_server
from tests.fakes.oauth_server import CLIENT_SECRET, FakeOAuthServer, fake_oauth_server
from tests.runs import wait_for_run
from tests.workflows import node, workflow

HEADER_SECRET = "sk-live-header-3e1f0c9d8b7a"
QUERY_SECRET = "sk-live-query-6a5b4c3d2e1f"


@pytest.fixture
def api() -> Iterator[FakeHttpServer]:
    with fake_http_server() as fake:
        yield fake


@pytest.fixture
def provider() -> Iterator[FakeOAuthServer]:
    with fake_oauth_server() as fake:
        yield fake


def _database_dump(settings: Settings) -> str:
    with session_scope() as session:
        dump = [
            repr(session.execute(text(f'SELECT * FROM "{table.name}"')).all())
            for table in SQLModel.metadata.sorted_tables
        ]
    if settings.is_sqlite:
        database_file = Path(settings.database_url.removeprefix("sqlite:///"))
        for path in database_file.parent.glob(database_file.name + "*"):
            dump.append(path.read_bytes().decode("latin-1"))
    return "\n".join(dump)


def _files_written(settings: Settings) -> str:
    return "\n".join(
        path.read_bytes().decode("latin-1")
        for path in settings.data_dir.rglob("*")
        if path.is_file() and path.name != "secret.key" and not path.name.startswith("hitl.db")
    )


def _every_get_route(client: TestClient, auth: dict[str, str], ids: dict[str, str]) -> list[str]:
    spec = client.get("/api/v1/openapi.json").json()
    answers = []
    for path, operations in spec["paths"].items():
        if "get" not in operations or path == "/api/v1/oauth/callback":
            continue
        concrete = re.sub(r"\{([a-z_]+)\}", lambda match: ids.get(match.group(1), "1"), path)
        answers.append(client.get(concrete, headers=auth).text)
    return answers


def test_no_secret_is_left_anywhere_after_full_runs(
    database: Settings,
    api: FakeHttpServer,
    provider: FakeOAuthServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging(database)
    caplog.set_level(logging.DEBUG)
    admin = make_user(Role.ADMIN)
    auth = {"Authorization": f"Bearer {make_api_key(admin)}"}
    answers: list[str] = []
    with TestClient(create_app()) as client:

        def call(method: str, path: str, **options: object) -> dict:
            response = client.request(method, path, headers=auth, **options)  # type: ignore[arg-type]
            assert response.status_code < 300, response.text
            answers.append(response.text)
            return response.json() if response.content else {}

        header = call(
            "POST",
            "/api/v1/credentials",
            json={"name": "key", "type": "http_header_auth", "data": {"name": "X-Api-Key", "value": HEADER_SECRET}},
        )
        query = call(
            "POST",
            "/api/v1/credentials",
            json={"name": "query", "type": "http_query_auth", "data": {"name": "api_key", "value": QUERY_SECRET}},
        )
        connected = call(
            "POST", "/api/v1/credentials", json={"name": "oauth", "type": "oauth2", "data": provider.credential_data()}
        )
        start = call("POST", f"/api/v1/credentials/{connected['id']}/oauth/authorize")
        back = httpx.get(start["authorization_url"], follow_redirects=False).headers["location"]
        assert client.get(httpx.URL(back).raw_path.decode(), follow_redirects=False).status_code == 303
        flow = call(
            "POST",
            "/api/v1/workflows",
            json=workflow(
                [
                    node("Start", "trigger.manual"),
                    node(
                        "Echo",
                        "http.request",
                        {"url": api.url("/echo"), "authentication": "header"},
                        credentials={"http_header_auth": {"id": header["id"]}},
                    ),
                    node(
                        "OAuth",
                        "http.request",
                        {"url": provider.url("/resource"), "authentication": "oauth2"},
                        credentials={"oauth2": {"id": connected["id"]}},
                    ),
                    node(
                        "Broken",
                        "http.request",
                        {"url": api.url("/status/500"), "authentication": "query"},
                        credentials={"http_query_auth": {"id": query["id"]}},
                    ),
                ],
                [("Start", "Echo"), ("Echo", "OAuth"), ("OAuth", "Broken")],
            ),
        )
        provider.expire_access_tokens()  # the first call gets a 401 and a refreshed token
        run = call("POST", f"/api/v1/workflows/{flow['id']}/run", json={"items": [{"order": 1}]})
        finished = wait_for_run(run["execution_id"])
        assert finished.status == RunStatus.FAILED
        assert finished.error is not None and "returned 500" in finished.error["message"]
        (echoed,) = api.received("/echo")
        assert echoed.headers["x-api-key"] == HEADER_SECRET
        assert api.received("/status/500")[0].query["api_key"] == [QUERY_SECRET]
        assert provider.resource_calls == ["401", "ok"]

        ids = {
            "credential_id": connected["id"],
            "workflow_id": flow["id"],
            "execution_id": run["execution_id"],
            "user_id": admin.id,
        }
        answers.extend(_every_get_route(client, auth, ids))

    tokens = [*provider.access_tokens, *provider.refresh_tokens, *provider.revoked]
    secrets = [HEADER_SECRET, QUERY_SECRET, CLIENT_SECRET, *tokens]
    assert len(tokens) >= 3
    places = {
        "the database": _database_dump(database),
        "the files": _files_written(database),
        "the logs": caplog.text,
        "the API responses": "\n".join(answers),
    }
    assert "***" in places["the API responses"]
    leaks = [(secret, where) for secret in secrets for where, found in places.items() if secret in found]
    assert leaks == []
