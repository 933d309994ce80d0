"""Workflows over HTTP: saving and validation, listing, versions, deletion, activation, runs and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role
from hitl_studio.settings import Settings
from tests.api.test_api import assert_error, signed_in
from tests.runs import wait_for_run
from tests.workflows import node, workflow

API = "/api/v1/workflows"
Headers = dict[str, str]


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def builder(sqlite_database: Settings) -> Headers:
    return signed_in(Role.BUILDER)[1]


def doubling_flow(name: str = "Doubler", **fields: Any) -> dict[str, Any]:
    """Manual Trigger → Double (n * 2) → Label (reads Double's field)."""
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node("Double", "core.set", {"assignments": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]}),
            node("Label", "core.set", {"assignments": [{"name": "label", "value": "{{ $json.doubled + 1 }}"}]}),
        ],
        [("Start", "Double"), ("Double", "Label")],
    )
    return {**data, "name": name, **fields}


def webhook_flow(name: str, path: str) -> dict[str, Any]:
    data = workflow(
        [node("Hook", "trigger.webhook", {"path": path}), node("Pass", "core.no_op")],
        [("Hook", "Pass")],
    )
    return {**data, "name": name}


def create(client: TestClient, headers: Headers, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(API, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def finished_run(client: TestClient, headers: Headers, execution_id: str) -> dict[str, Any]:
    """Wait for the run to end and return it as ``GET /executions/{id}`` shows it."""
    wait_for_run(execution_id)
    response = client.get(f"/api/v1/executions/{execution_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def step_json(run: dict[str, Any], node_name: str, key: str = "output") -> list[dict[str, Any]]:
    """The JSON of the items on the first output (or input) of ``node_name``'s step."""
    (step,) = [step for step in run["steps"] if step["node"] == node_name]
    return [item["json"] for item in step[key][0]]


def start_run(client: TestClient, headers: Headers, workflow_id: str, body: dict[str, Any] | None = None) -> str:
    response = client.post(f"{API}/{workflow_id}/run", headers=headers, json=body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["execution_id"]


def test_create_returns_version_1_inactive_and_round_trips_the_body(client: TestClient, builder: Headers) -> None:
    body = doubling_flow(
        description="doubles n",
        settings={"timezone": "Europe/Paris"},
        tags=["finance", "demo"],
        version_note="first draft",
    )

    created = create(client, builder, body)

    assert created["id"]
    assert (created["version"], created["active"], created["last_run_status"]) == (1, False, None)
    assert (created["name"], created["description"]) == ("Doubler", "doubles n")
    assert created["nodes"] == body["nodes"]
    assert created["connections"] == body["connections"]
    assert created["settings"] == {"timezone": "Europe/Paris"}
    assert created["tags"] == ["demo", "finance"]
    fetched = client.get(f"{API}/{created['id']}", headers=builder)
    assert fetched.status_code == 200
    assert fetched.json() == created


def _with(nodes: list[dict[str, Any]], links: list[Any]) -> dict[str, Any]:
    return {**workflow([node("Start", "trigger.manual"), *nodes], links), "name": "broken"}


INVALID_WORKFLOWS: dict[str, tuple[dict[str, Any], str, str | None, str]] = {
    "unknown-type": (
        _with([node("Mystery", "core.does_not_exist")], [("Start", "Mystery")]),
        "Mystery",
        None,
        "core.does_not_exist",
    ),
    "unknown-target": (_with([], [("Start", "Ghost")]), "Start", None, "unknown node 'Ghost'"),
    "missing-output": (
        _with([node("Check", "core.if"), node("Done", "core.no_op")], [("Start", "Check"), ("Check", 5, "Done")]),
        "Check",
        None,
        "has no output 5",
    ),
    "missing-required": (_with([node("Hook", "trigger.webhook")], []), "Hook", "path", "is required"),
    "wrong-type": (
        _with([node("Keep", "core.limit", {"max_items": "abc"})], [("Start", "Keep")]),
        "Keep",
        "max_items",
        "integer",
    ),
    "bad-expression": (
        _with(
            [node("Shape", "core.set", {"assignments": [{"name": "x", "value": "{{ $json. }}"}]})], [("Start", "Shape")]
        ),
        "Shape",
        "assignments",
        "Expression error in {{ $json. }}",
    ),
    "expression-refused": (
        _with([node("Hook", "trigger.webhook", {"path": "orders", "method": "{{ 'GET' }}"})], []),
        "Hook",
        "method",
        "does not take expressions",
    ),
    "cycle": (
        _with([node("A", "core.no_op"), node("B", "core.no_op")], [("Start", "A"), ("A", "B"), ("B", "A")]),
        "A",
        None,
        "cycle",
    ),
}


@pytest.mark.parametrize(
    ("body", "node_name", "parameter", "message"), INVALID_WORKFLOWS.values(), ids=INVALID_WORKFLOWS
)
def test_an_invalid_workflow_is_refused_with_its_problems_by_node(
    client: TestClient, builder: Headers, body: dict[str, Any], node_name: str, parameter: str | None, message: str
) -> None:
    error = assert_error(client.post(API, headers=builder, json=body), 422, "invalid_input")

    assert [(problem["node"], problem["parameter"]) for problem in error["problems"]] == [(node_name, parameter)]
    assert message in error["problems"][0]["message"]
    assert client.get(API, headers=builder).json()["total"] == 0


def test_every_problem_is_listed_at_once(client: TestClient, builder: Headers) -> None:
    body = _with(
        [
            node("Mystery", "core.does_not_exist"),
            node("Keep", "core.limit", {"max_items": "abc"}),
            node("Hook", "trigger.webhook", {"method": "{{ 'GET' }}"}),
        ],
        [("Start", "Mystery"), ("Start", "Keep")],
    )

    error = assert_error(client.post(API, headers=builder, json=body), 422, "invalid_input")

    assert {(problem["node"], problem["parameter"]) for problem in error["problems"]} == {
        ("Mystery", None),
        ("Keep", "max_items"),
        ("Hook", "path"),
        ("Hook", "method"),
    }
    assert "4 problem(s)" in error["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"owner_id": "someone"}, "owner_id"), ({"name": None}, "name"), ({"name": ""}, "name")],
    ids=["extra-field", "missing-name", "empty-name"],
)
def test_a_malformed_body_is_422_naming_the_field(
    client: TestClient, builder: Headers, change: dict[str, Any], field: str
) -> None:
    body = {key: value for key, value in {**doubling_flow(), **change}.items() if value is not None}

    error = assert_error(client.post(API, headers=builder, json=body), 422, "invalid_input")

    assert list(error["fields"]) == [field]


def test_the_list_filters_by_search_tag_and_active_and_pages(client: TestClient, builder: Headers) -> None:
    sync = create(client, builder, {**webhook_flow("Sync orders", "sync"), "tags": ["sales"]})
    create(client, builder, doubling_flow("Export ORDERS", tags=["sales", "ops"]))
    create(client, builder, doubling_flow("Triage inbox", tags=["ops"]))
    assert client.post(f"{API}/{sync['id']}/activate", headers=builder).status_code == 200

    def names(**query: Any) -> tuple[list[str], int]:
        response = client.get(API, headers=builder, params=query)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]], response.json()["total"]

    # Newest edit first: activating Sync orders made it the latest.
    assert names() == (["Sync orders", "Triage inbox", "Export ORDERS"], 3)
    assert names(search="orders") == (["Sync orders", "Export ORDERS"], 2)
    assert names(search="nothing like it") == ([], 0)
    assert names(tag="ops") == (["Triage inbox", "Export ORDERS"], 2)
    assert names(tag="ops", limit=1, offset=1) == (["Export ORDERS"], 2)
    assert names(active="true") == (["Sync orders"], 1)
    assert names(active="false", tag="sales") == (["Export ORDERS"], 1)
    assert names(limit=2) == (["Sync orders", "Triage inbox"], 3)
    assert names(limit=2, offset=2) == (["Export ORDERS"], 3)
    too_small = assert_error(client.get(API, headers=builder, params={"limit": 0}), 422, "invalid_input")
    assert list(too_small["fields"]) == ["limit"]


def test_an_unknown_workflow_is_a_json_404(client: TestClient, builder: Headers) -> None:
    for method, suffix in [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("GET", "/versions"),
        ("POST", "/activate"),
        ("POST", "/run"),
    ]:
        body = doubling_flow() if method == "PUT" else None
        response = client.request(method, f"{API}/no-such-id{suffix}", headers=builder, json=body)

        assert "no-such-id" in assert_error(response, 404, "not_found")["message"], (method, suffix)


def test_saving_makes_versions_and_a_restore_is_a_new_version(client: TestClient, builder: Headers) -> None:
    original = create(client, builder, doubling_flow())
    edited = doubling_flow("Tripler", version_note="triple it")
    edited["nodes"][1]["parameters"] = {"assignments": [{"name": "doubled", "value": "{{ $json.n * 3 }}"}]}

    updated = client.put(f"{API}/{original['id']}", headers=builder, json=edited)

    assert updated.status_code == 200, updated.text
    assert (updated.json()["version"], updated.json()["name"]) == (2, "Tripler")
    assert updated.json()["nodes"] == edited["nodes"]
    versions = client.get(f"{API}/{original['id']}/versions", headers=builder).json()
    assert [(v["version"], v["name"], v["note"]) for v in versions] == [
        (2, "Tripler", "triple it"),
        (1, "Doubler", "created"),
    ]
    assert versions[1]["nodes"] == original["nodes"]
    assert versions[1]["connections"] == original["connections"]

    restored = client.post(f"{API}/{original['id']}/versions/1/restore", headers=builder)

    assert restored.status_code == 200, restored.text
    assert (restored.json()["version"], restored.json()["name"]) == (3, "Doubler")
    assert restored.json()["nodes"] == original["nodes"]
    current = client.get(f"{API}/{original['id']}", headers=builder).json()
    assert (current["version"], current["nodes"]) == (3, original["nodes"])
    versions = client.get(f"{API}/{original['id']}/versions", headers=builder).json()
    assert [(v["version"], v["note"]) for v in versions] == [
        (3, "restored version 1"),
        (2, "triple it"),
        (1, "created"),
    ]
    missing = client.post(f"{API}/{original['id']}/versions/9/restore", headers=builder)
    assert "version 9" in assert_error(missing, 404, "not_found")["message"]


def test_an_invalid_edit_keeps_the_current_version(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())
    broken = doubling_flow()
    broken["nodes"][1]["type"] = "core.does_not_exist"

    error = assert_error(client.put(f"{API}/{saved['id']}", headers=builder, json=broken), 422, "invalid_input")

    assert [problem["node"] for problem in error["problems"]] == ["Double"]
    assert client.get(f"{API}/{saved['id']}", headers=builder).json() == saved
    assert len(client.get(f"{API}/{saved['id']}/versions", headers=builder).json()) == 1


def test_delete_removes_the_workflow_and_its_runs(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())
    execution_id = start_run(client, builder, saved["id"], {"items": [{"n": 1}]})
    assert finished_run(client, builder, execution_id)["status"] == "succeeded"

    response = client.delete(f"{API}/{saved['id']}", headers=builder)

    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(f"{API}/{saved['id']}", headers=builder), 404, "not_found")
    assert_error(client.get(f"/api/v1/executions/{execution_id}", headers=builder), 404, "not_found")
    runs = client.get("/api/v1/executions", headers=builder, params={"workflow_id": saved["id"]}).json()
    assert runs == {"items": [], "total": 0}


def test_activation_needs_a_trigger_and_a_free_webhook_path(client: TestClient, builder: Headers) -> None:
    manual = create(client, builder, doubling_flow())
    first = create(client, builder, webhook_flow("first", "orders"))
    second = create(client, builder, webhook_flow("second", "orders"))

    refused = assert_error(client.post(f"{API}/{manual['id']}/activate", headers=builder), 422, "invalid_input")
    assert "no trigger to activate" in refused["message"]
    assert client.get(f"{API}/{manual['id']}", headers=builder).json()["active"] is False

    activated = client.post(f"{API}/{first['id']}/activate", headers=builder)
    assert activated.status_code == 200, activated.text
    assert activated.json()["active"] is True
    assert client.post("/webhook/orders", json={}).status_code == 202

    clash = assert_error(client.post(f"{API}/{second['id']}/activate", headers=builder), 409, "conflict")
    assert "/webhook/orders" in clash["message"] and "'first'" in clash["message"]
    assert client.get(f"{API}/{second['id']}", headers=builder).json()["active"] is False

    deactivated = client.post(f"{API}/{first['id']}/deactivate", headers=builder)
    assert deactivated.status_code == 200
    assert deactivated.json()["active"] is False
    assert client.post("/webhook/orders", json={}).status_code == 404
    assert client.post(f"{API}/{second['id']}/activate", headers=builder).json()["active"] is True


def test_an_active_workflow_cannot_be_edited_onto_a_taken_path(client: TestClient, builder: Headers) -> None:
    taken = create(client, builder, webhook_flow("taken", "orders"))
    mine = create(client, builder, webhook_flow("mine", "mine"))
    for saved in (taken, mine):
        assert client.post(f"{API}/{saved['id']}/activate", headers=builder).status_code == 200

    response = client.put(f"{API}/{mine['id']}", headers=builder, json=webhook_flow("mine", "orders"))

    assert_error(response, 409, "conflict")
    current = client.get(f"{API}/{mine['id']}", headers=builder).json()
    assert (current["version"], current["nodes"][0]["parameters"]["path"]) == (1, "mine")


def test_a_run_gets_the_posted_items_and_succeeds(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())

    execution_id = start_run(client, builder, saved["id"], {"items": [{"n": 2}, {"n": 5}]})

    run = finished_run(client, builder, execution_id)
    assert (run["status"], run["mode"], run["workflow_version"]) == ("succeeded", "manual", 1)
    assert [step["node"] for step in run["steps"]] == ["Start", "Double", "Label"]
    assert step_json(run, "Start") == [{"n": 2}, {"n": 5}]
    assert step_json(run, "Label") == [{"n": 2, "doubled": 4, "label": 5}, {"n": 5, "doubled": 10, "label": 11}]
    listed = client.get(API, headers=builder).json()["items"]
    assert [(item["id"], item["last_run_status"]) for item in listed] == [(saved["id"], "succeeded")]


def test_a_run_without_a_body_starts_with_one_empty_item(client: TestClient, builder: Headers) -> None:
    data = workflow(
        [node("Start", "trigger.manual"), node("Mark", "core.set", {"assignments": [{"name": "seen", "value": True}]})],
        [("Start", "Mark")],
    )
    saved = create(client, builder, {**data, "name": "no body"})

    execution_id = start_run(client, builder, saved["id"])

    run = finished_run(client, builder, execution_id)
    assert run["status"] == "succeeded"
    assert step_json(run, "Mark") == [{"seen": True}]


def test_a_run_from_a_node_reuses_the_earlier_runs_upstream_output(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())
    first = finished_run(client, builder, start_run(client, builder, saved["id"], {"items": [{"n": 2}]}))
    assert first["status"] == "succeeded"

    body = {"items": [{"n": 100}], "start_node": "Label", "reuse_execution_id": first["id"]}
    again = finished_run(client, builder, start_run(client, builder, saved["id"], body))

    assert again["status"] == "succeeded"
    assert [step["node"] for step in again["steps"]] == ["Label"]
    assert step_json(again, "Label", "input") == step_json(first, "Double")
    assert step_json(again, "Label") == [{"n": 2, "doubled": 4, "label": 5}]


def test_running_one_node_runs_nothing_after_it(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())
    first = finished_run(client, builder, start_run(client, builder, saved["id"], {"items": [{"n": 2}]}))

    body = {"start_node": "Double", "reuse_execution_id": first["id"], "only_start_node": True}
    one = finished_run(client, builder, start_run(client, builder, saved["id"], body))

    assert one["status"] == "succeeded"
    assert [step["node"] for step in one["steps"]] == ["Double"]
    assert step_json(one, "Double") == [{"n": 2, "doubled": 4}]
    wrong = client.post(f"{API}/{saved['id']}/run", headers=builder, json={"only_start_node": "yes please"})
    assert "only_start_node" in assert_error(wrong, 422, "invalid_input")["fields"]


def test_a_run_with_pinned_data_uses_it_instead_of_running_the_node(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())

    body = {"items": [{"n": 2}], "pinned": {"Double": [{"doubled": 99}]}}
    run = finished_run(client, builder, start_run(client, builder, saved["id"], body))

    assert run["status"] == "succeeded"
    assert step_json(run, "Double") == [{"doubled": 99}]
    assert step_json(run, "Label") == [{"doubled": 99, "label": 100}]


def test_a_run_needs_a_manual_trigger_and_known_nodes(client: TestClient, builder: Headers) -> None:
    hooked = create(client, builder, webhook_flow("hooked", "orders"))
    manual = create(client, builder, doubling_flow())

    no_trigger = assert_error(client.post(f"{API}/{hooked['id']}/run", headers=builder, json={}), 422, "invalid_input")
    assert "Manual Trigger" in no_trigger["fields"]["start_node"]
    unknown = client.post(f"{API}/{manual['id']}/run", headers=builder, json={"start_node": "Nope"})
    assert "start_node" in assert_error(unknown, 422, "invalid_input")["fields"]
    extra = client.post(f"{API}/{manual['id']}/run", headers=builder, json={"item": [{"n": 1}]})
    assert "item" in assert_error(extra, 422, "invalid_input")["fields"]
    runs = client.get("/api/v1/executions", headers=builder).json()
    assert runs["total"] == 0


def _writes(workflow_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", API, doubling_flow("from a viewer")),
        ("PUT", f"{API}/{workflow_id}", doubling_flow("edited")),
        ("DELETE", f"{API}/{workflow_id}", None),
        ("POST", f"{API}/{workflow_id}/versions/1/restore", None),
        ("POST", f"{API}/{workflow_id}/activate", None),
        ("POST", f"{API}/{workflow_id}/deactivate", None),
        ("POST", f"{API}/{workflow_id}/run", {"items": [{"n": 1}]}),
    ]


def test_a_viewer_reads_workflows_but_cannot_change_or_run_them(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, webhook_flow("watched", "orders"))
    _, viewer = signed_in(Role.VIEWER)

    assert client.get(API, headers=viewer).json()["total"] == 1
    assert client.get(f"{API}/{saved['id']}", headers=viewer).json() == saved
    assert [v["version"] for v in client.get(f"{API}/{saved['id']}/versions", headers=viewer).json()] == [1]
    for method, path, body in _writes(saved["id"]):
        response = client.request(method, path, headers=viewer, json=body)
        assert_error(response, 403, "forbidden")
        assert "viewer" in response.json()["error"]["message"], (method, path)

    assert client.get(f"{API}/{saved['id']}", headers=builder).json() == saved
    assert client.get(API, headers=builder).json()["total"] == 1
    assert client.get("/api/v1/executions", headers=builder).json()["total"] == 0


def test_an_approver_can_read_but_not_create_or_run(client: TestClient, builder: Headers) -> None:
    saved = create(client, builder, doubling_flow())
    _, approver = signed_in(Role.APPROVER)

    assert client.get(f"{API}/{saved['id']}", headers=approver).status_code == 200
    assert_error(client.post(API, headers=approver, json=doubling_flow("mine")), 403, "forbidden")
    assert_error(client.post(f"{API}/{saved['id']}/run", headers=approver, json={}), 403, "forbidden")
    assert client.get(API, headers=builder).json()["total"] == 1
    assert client.get("/api/v1/executions", headers=builder).json()["total"] == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get(API),
        lambda c: c.get(f"{API}/any-id"),
        lambda c: c.post(API, json=doubling_flow()),
        lambda c: c.post(f"{API}/any-id/run", json={}),
    ],
    ids=["list", "get", "create", "run"],
)
def test_no_credentials_is_401(client: TestClient, call: Callable[[TestClient], Any]) -> None:
    response = call(client)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
