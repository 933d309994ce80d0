"""Node descriptions and the schedule preview over HTTP: what the palette and the config panel read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role
from hitl_studio.settings import Settings
from tests.api.test_api import assert_error, signed_in

API = "/api/v1"
Headers = dict[str, str]


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def viewer(sqlite_database: Settings) -> Headers:
    return signed_in(Role.VIEWER)[1]


def by_type(client: TestClient, headers: Headers, **query: Any) -> dict[str, dict[str, Any]]:
    response = client.get(f"{API}/nodes", headers=headers, params=query)
    assert response.status_code == 200, response.text
    nodes = {described["type"]: described for described in response.json()}
    assert len(nodes) == len(response.json()), "a node type is listed twice"
    return nodes


def test_the_palette_lists_nodes_with_their_parameter_schemas(client: TestClient, viewer: Headers) -> None:
    nodes = by_type(client, viewer)

    assert {"core.set", "core.if", "trigger.webhook", "trigger.schedule", "trigger.manual"} <= set(nodes)
    for described in nodes.values():
        assert described["display_name"] and described["description"] and described["icon"], described["type"]
        assert described["parameters"]["type"] == "object", described["type"]
    edit = nodes["core.set"]["parameters"]["properties"]
    assert {"assignments", "include_other_fields"} <= set(edit)
    assert edit["assignments"]["type"] == "array"
    assert (edit["include_other_fields"]["type"], edit["include_other_fields"]["default"]) == ("boolean", True)

    webhook = nodes["trigger.webhook"]
    assert (webhook["category"], webhook["trigger"], webhook["inputs"]) == ("trigger", "webhook", [])
    assert webhook["parameters"]["required"] == ["path"]
    hook = webhook["parameters"]["properties"]
    assert hook["path"]["type"] == "string"
    assert hook["path"]["no_expressions"] is True
    assert (hook["method"]["enum"], hook["method"]["default"]) == (["GET", "POST", "PUT", "PATCH", "DELETE"], "POST")
    assert hook["response_mode"]["enum"] == ["immediately", "last_node", "respond_node"]
    assert hook["response_mode"]["default"] == "immediately"

    schedule = nodes["trigger.schedule"]["parameters"]
    assert schedule["required"] == ["cron"]
    assert schedule["properties"]["cron"]["widget"] == "cron"
    assert schedule["properties"]["timezone"]["default"] == "UTC"


def test_the_palette_filters_by_category(client: TestClient, viewer: Headers) -> None:
    triggers = by_type(client, viewer, category="trigger")

    assert {"trigger.webhook", "trigger.schedule", "trigger.manual"} <= set(triggers)
    assert {described["category"] for described in triggers.values()} == {"trigger"}
    assert all("trigger" in described for described in triggers.values())
    assert "core.set" not in triggers
    assert set(triggers) | set(by_type(client, viewer, category="data")) < set(by_type(client, viewer))
    assert by_type(client, viewer, category="no-such-category") == {}


def test_one_node_type_shows_its_outputs(client: TestClient, viewer: Headers) -> None:
    response = client.get(f"{API}/nodes/core.if", headers=viewer)

    assert response.status_code == 200, response.text
    described = response.json()
    assert (described["type"], described["version"], described["category"]) == ("core.if", 1, "flow")
    assert (described["inputs"], described["outputs"]) == (["main"], ["true", "false"])
    assert "conditions" in described["parameters"]["properties"]
    assert client.get(f"{API}/nodes/core.if", headers=viewer, params={"version": 1}).json() == described
    assert described == by_type(client, viewer)["core.if"]


@pytest.mark.parametrize(("path", "query"), [("core.nope", {}), ("core.if", {"version": 99})], ids=["type", "version"])
def test_an_unknown_node_type_is_a_json_404(
    client: TestClient, viewer: Headers, path: str, query: dict[str, Any]
) -> None:
    error = assert_error(client.get(f"{API}/nodes/{path}", headers=viewer, params=query), 404, "not_found")

    assert path in error["message"]


def test_the_schedule_preview_lists_the_next_fire_times_in_the_zone(client: TestClient, viewer: Headers) -> None:
    query = {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}

    response = client.get(f"{API}/schedules/preview", headers=viewer, params=query)

    assert response.status_code == 200, response.text
    moments = [datetime.fromisoformat(text) for text in response.json()["next"]]
    assert len(moments) == 5
    assert moments == sorted(set(moments))
    assert all(moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0 for moment in moments)
    in_paris = [moment.astimezone(ZoneInfo("Europe/Paris")) for moment in moments]
    assert all((local.hour, local.minute) == (9, 0) and local.weekday() < 5 for local in in_paris)
    assert len({local.date() for local in in_paris}) == 5
    counted = client.get(f"{API}/schedules/preview", headers=viewer, params={**query, "count": 2}).json()
    assert counted["next"] == response.json()["next"][:2]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"cron": "every monday"}, "cron", "not a valid cron expression"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"cron": "0 9 * * *", "count": 0}, "count", "greater than or equal to 1"),
        ({}, "cron", "required"),
    ],
    ids=["cron", "timezone", "count", "missing-cron"],
)
def test_a_bad_schedule_preview_is_422_naming_the_field(
    client: TestClient, viewer: Headers, query: dict[str, Any], field: str, message: str
) -> None:
    response = client.get(f"{API}/schedules/preview", headers=viewer, params=query)

    error = assert_error(response, 422, "invalid_input")
    assert list(error["fields"]) == [field]
    assert message in error["fields"][field]
    assert message in error["message"]
    assert "errors.pydantic.dev" not in response.text


@pytest.mark.parametrize(
    "path", ["/nodes", "/nodes/core.if", "/credential-types", "/schedules/preview?cron=0%209%20*%20*%20*"]
)
def test_no_credentials_is_401(client: TestClient, path: str) -> None:
    assert_error(client.get(f"{API}{path}"), 401, "unauthorized")
