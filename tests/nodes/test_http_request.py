"""HTTP Request (http.request) run through the engine against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text

from hitl_studio.db import session_scope
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.users import Role
from hitl_studio.services import executions, workflows
from hitl_studio.services.credentials import create_credential
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from nodes.sdk import Item
from tests.factories import make_user
from tests.fakes.http_server import (
    BASIC_PASSWORD,
    BASIC_USER,
    FILE_BYTES,
    SLOW_SECONDS,
    FakeHttpServer,
    fake_http_server,
)
from tests.runs import wait_for_run
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
SECRET = "sk-live-9f8e7d6c5b4a"
CREDENTIALS = {
    "header": ("http_header_auth", {"name": "X-Api-Key", "value": SECRET}),
    "bearer": ("http_bearer_auth", {"token": SECRET}),
    "query": ("http_query_auth", {"name": "api_key", "value": SECRET}),
    "basic": ("http_basic_auth", {"user": BASIC_USER, "password": BASIC_PASSWORD}),
}


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with fake_http_server() as fake:
        yield fake


def request_flow(parameters: dict[str, Any], *, auth: str | None = None, **settings: Any) -> dict[str, Any]:
    if auth is not None:
        parameters = {"authentication": auth, **parameters}
        settings["credentials"] = {CREDENTIALS[auth][0]: {"id": f"{auth}-credential"}}
    return workflow([MANUAL, node("HTTP", "http.request", parameters, **settings)], [("Start", "HTTP")])


def call(
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    host: LocalHost | None = None,
    auth: str | None = None,
    **settings: Any,
) -> RunResult:
    host = host or LocalHost(credentials={f"{kind}-credential": data for kind, (_, data) in CREDENTIALS.items()})
    return run(request_flow(parameters, auth=auth, **settings), items, host=host)


def succeeded(result: RunResult) -> list[dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "HTTP")


def failure(result: RunResult) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "HTTP"
    return result.error


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_reaches_the_server(server: FakeHttpServer, method: str) -> None:
    (echoed,) = succeeded(call({"method": method, "url": server.url("/echo")}))

    assert echoed["method"] == method
    assert echoed["headers"]["user-agent"] == "HITL-Studio"
    assert [request.method for request in server.received("/echo")] == [method]


def test_head_gets_headers_only(server: FakeHttpServer) -> None:
    assert succeeded(call({"method": "HEAD", "url": server.url("/echo")})) == [{}]
    (full,) = succeeded(call({"method": "HEAD", "url": server.url("/echo"), "full_response": True}))

    assert full["statusCode"] == 200 and full["body"] is None
    assert full["headers"]["content-type"] == "application/json"
    assert [request.method for request in server.received("/echo")] == ["HEAD", "HEAD"]


def test_query_parameters_and_headers_are_sent(server: FakeHttpServer) -> None:
    (echoed,) = succeeded(
        call(
            {
                "url": server.url("/echo?fixed=1"),
                "query": [
                    {"name": "q", "value": "red shoes"},
                    {"name": "limit", "value": 10},
                    {"name": "tag", "value": "a"},
                    {"name": "tag", "value": "b"},
                    {"name": "exact", "value": True},
                ],
                "headers": [{"name": "X-Trace", "value": "abc-123"}, {"name": "User-Agent", "value": "acme/1"}],
            }
        )
    )

    assert echoed["query"] == {"fixed": "1", "q": "red shoes", "limit": "10", "tag": ["a", "b"], "exact": "true"}
    assert echoed["headers"]["x-trace"] == "abc-123"
    assert echoed["headers"]["user-agent"] == "acme/1"


def test_a_json_body_is_sent_as_json(server: FakeHttpServer) -> None:
    body = {"order": {"id": 7, "lines": [1, 2.5, None]}, "paid": True, "note": "café"}

    (echoed,) = succeeded(call({"method": "POST", "url": server.url("/echo"), "body_type": "json", "json_body": body}))
    (from_text,) = succeeded(
        call({"method": "PUT", "url": server.url("/echo"), "body_type": "json", "json_body": json.dumps([1, 2])})
    )

    assert echoed["json"] == body
    assert echoed["headers"]["content-type"] == "application/json"
    assert from_text["json"] == [1, 2]


def test_a_json_body_that_is_not_json_fails_with_the_item(server: FakeHttpServer) -> None:
    error = failure(call({"method": "POST", "url": server.url("/echo"), "body_type": "json", "json_body": "{oops"}))

    assert error["message"].startswith("item 0: the JSON body is not valid JSON")
    assert error["item_index"] == 0
    assert server.requests == []


def test_a_form_body_is_url_encoded(server: FakeHttpServer) -> None:
    fields = [{"name": "name", "value": "Ada & co"}, {"name": "age", "value": 36}, {"name": "tag", "value": "x"}]
    fields.append({"name": "tag", "value": "y"})

    (echoed,) = succeeded(
        call({"method": "POST", "url": server.url("/echo"), "body_type": "form", "form_fields": fields})
    )

    assert echoed["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert echoed["form"] == {"name": "Ada & co", "age": "36", "tag": ["x", "y"]}


def test_a_multipart_body_sends_fields_and_a_file_of_the_item(server: FakeHttpServer) -> None:
    host = LocalHost()
    reference = host.store_binary(b"id,total\n1,9.5\n", file_name="orders.csv", mime_type="text/csv")
    parameters = {
        "method": "POST",
        "url": server.url("/echo"),
        "body_type": "multipart",
        "multipart_fields": [
            {"name": "note", "value": "monthly export"},
            {"name": "upload", "kind": "file", "binary_property": "report"},
        ],
    }

    result = run(request_flow(parameters), host=host, pinned={"Start": [Item({}, binary={"report": reference})]})

    (echoed,) = succeeded(result)
    assert echoed["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert echoed["multipart"] == [
        {"name": "note", "filename": None, "content_type": None, "value": "monthly export"},
        {
            "name": "upload",
            "filename": "orders.csv",
            "content_type": "text/csv",
            "base64": base64.b64encode(b"id,total\n1,9.5\n").decode(),
        },
    ]


def test_a_multipart_file_the_item_lacks_names_the_item_and_its_files(server: FakeHttpServer) -> None:
    parameters = {
        "method": "POST",
        "url": server.url("/echo"),
        "body_type": "multipart",
        "multipart_fields": [{"name": "upload", "kind": "file", "binary_property": "missing"}],
    }

    error = failure(call(parameters, [{"a": 1}]))

    assert error["message"] == "item 0 has no binary property 'missing' (its binary properties: none)"
    assert error["item_index"] == 0
    assert server.requests == []


def test_a_raw_body_is_sent_as_typed_with_its_content_type(server: FakeHttpServer) -> None:
    parameters = {
        "method": "POST",
        "url": server.url("/echo"),
        "body_type": "raw",
        "raw_body": "<order id='7'/>",
        "raw_content_type": "application/xml",
    }

    (echoed,) = succeeded(call(parameters))

    assert echoed["body"] == "<order id='7'/>"
    assert echoed["headers"]["content-type"] == "application/xml"


@pytest.mark.parametrize(
    ("auth", "seen"),
    [
        ("header", lambda request: request.headers.get("x-api-key")),
        ("bearer", lambda request: request.headers.get("authorization", "").removeprefix("Bearer ")),
        ("query", lambda request: request.query.get("api_key", [None])[0]),
    ],
)
def test_each_secret_credential_reaches_the_server(server: FakeHttpServer, auth: str, seen: Any) -> None:
    assert succeeded(call({"url": server.url("/ok")}, auth=auth)) == [{"ok": True}]

    (request,) = server.received("/ok")
    assert seen(request) == SECRET


def test_basic_auth_passes_the_protected_endpoint_and_a_wrong_password_fails(server: FakeHttpServer) -> None:
    assert succeeded(call({"url": server.url("/basic")}, auth="basic")) == [{"user": BASIC_USER}]

    wrong = LocalHost(credentials={"basic-credential": {"user": BASIC_USER, "password": "guess-again"}})
    error = failure(call({"url": server.url("/basic")}, host=wrong, auth="basic"))

    assert "returned 401 Unauthorized" in error["message"]
    assert "Check the credential" in error["description"]
    assert "guess-again" not in json.dumps(error)
    expected = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    assert server.received("/basic")[0].headers["authorization"] == f"Basic {expected}"


def test_a_missing_or_incomplete_credential_fails_clearly(server: FakeHttpServer) -> None:
    error = failure(call({"url": server.url("/ok")}, host=LocalHost(), auth="header"))
    assert "no http_header_auth credential is selected" in error["message"]

    incomplete = LocalHost(credentials={"header-credential": {"name": "X-Api-Key"}})
    error = failure(call({"url": server.url("/ok")}, host=incomplete, auth="header"))
    assert error["message"] == "the HTTP header credential is not valid: value: Field required"
    assert server.requests == []


def test_credentials_are_not_sent_to_another_host_on_redirect(server: FakeHttpServer) -> None:
    with fake_http_server() as elsewhere:
        target = quote(elsewhere.url("/echo"), safe="")
        (echoed,) = succeeded(call({"url": server.url(f"/redirect?to={target}")}, auth="header"))

        assert echoed["path"] == "/echo"
        assert "x-api-key" not in echoed["headers"]
        assert server.received("/redirect")[0].headers["x-api-key"] == SECRET


def test_credentials_are_not_sent_to_a_next_page_on_another_host(server: FakeHttpServer) -> None:
    with fake_http_server() as elsewhere:
        # /echo echoes its query, so the first page's body names the next page: another server.
        parameters = {
            "url": server.url("/echo"),
            "query": [{"name": "next", "value": elsewhere.url("/echo")}],
            "pagination": "next_url_in_body",
            "next_url_field": "query.next",
        }

        first, second = succeeded(call(parameters, auth="header"))

        assert first["headers"]["x-api-key"] == SECRET
        assert second["headers"]["host"] == f"127.0.0.1:{elsewhere.port}"
        assert "x-api-key" not in second["headers"]


def test_redirects_are_followed_only_when_asked(server: FakeHttpServer) -> None:
    assert succeeded(call({"url": server.url("/redirect?to=/ok")})) == [{"ok": True}]

    (full,) = succeeded(
        call(
            {
                "url": server.url("/redirect?to=/ok"),
                "follow_redirects": False,
                "never_error": True,
                "full_response": True,
            }
        )
    )
    assert full["statusCode"] == 302 and full["headers"]["location"] == "/ok"


def test_page_number_pagination_stops_at_the_empty_page(server: FakeHttpServer) -> None:
    parameters = {
        "url": server.url("/pages"),
        "pagination": "page_number",
        "page_parameter": "page",
        "stop_when_empty": "results",
    }

    pages = succeeded(call(parameters))

    assert [page["page"] for page in pages] == [1, 2, 3]
    assert [row["id"] for page in pages for row in page["results"]] == [1, 2, 3, 4, 5, 6]
    assert [request.query["page"] for request in server.received("/pages")] == [["1"], ["2"], ["3"], ["4"]]


def test_page_number_pagination_honours_start_step_and_max_pages(server: FakeHttpServer) -> None:
    parameters = {
        "url": server.url("/pages"),
        "pagination": "page_number",
        "page_start": 0,
        "page_step": 2,
        "stop_when_empty": "results",
        "max_pages": 2,
    }

    pages = succeeded(call(parameters))

    # Page 0 is empty: pagination stops before anything is output.
    assert pages == []
    capped = succeeded(call({**parameters, "page_start": 1}))
    assert [page["page"] for page in capped] == [1, 3]


def test_next_url_pagination_follows_the_body_until_it_ends_or_hits_max_pages(server: FakeHttpServer) -> None:
    parameters = {"url": server.url("/cursor"), "pagination": "next_url_in_body", "next_url_field": "next"}

    pages = succeeded(call(parameters))
    capped = succeeded(call({**parameters, "max_pages": 2}))

    assert [row["id"] for page in pages for row in page["results"]] == [1, 2, 3, 4, 5, 6]
    assert pages[-1]["next"] is None
    assert [row["id"] for page in capped for row in page["results"]] == [1, 2, 3, 4]
    assert [request.query.get("after") for request in server.received("/cursor")] == [
        None,
        ["2"],
        ["4"],
        None,
        ["2"],
    ]


def test_a_json_array_becomes_one_item_per_element(server: FakeHttpServer) -> None:
    result = call({"url": server.url("/items")})

    assert succeeded(result) == [{"id": 1}, {"id": 2}, {"data": "three"}]
    assert [item.paired_item for item in result.last_outputs["HTTP"][0]] == [0, 0, 0]


def test_retries_on_503_until_the_flaky_endpoint_answers(server: FakeHttpServer) -> None:
    parameters = {"url": server.url("/flaky"), "retry_on_status": True, "max_tries": 3, "retry_wait": 0.01}

    assert succeeded(call(parameters)) == [{"ok": True, "calls": 3}]
    assert len(server.received("/flaky")) == 3


def test_without_enough_tries_the_flaky_endpoint_fails_the_run(server: FakeHttpServer) -> None:
    error = failure(call({"url": server.url("/flaky"), "retry_on_status": True, "max_tries": 2, "retry_wait": 0.01}))

    assert "returned 503 Service Unavailable: busy, try again" in error["message"]
    assert "Retry on 429 and 5xx" in error["description"]
    assert len(server.received("/flaky")) == 2


def test_a_slow_server_times_out_with_a_clear_error(server: FakeHttpServer) -> None:
    started = time.monotonic()

    error = failure(call({"url": server.url("/slow"), "timeout": 0.3}))

    assert time.monotonic() - started < SLOW_SECONDS
    assert error["message"] == f"item 0: GET {server.url('/slow')} timed out after 0.3 s (the Timeout option)"
    assert "Raise the Timeout option" in error["description"]
    assert error["item_index"] == 0


def test_the_nodes_own_timeout_also_stops_the_request(server: FakeHttpServer) -> None:
    started = time.monotonic()

    error = failure(call({"url": server.url("/slow")}, timeout=0.4))

    # Whichever stops first, the engine at its deadline or the request bounded by it, says so.
    assert error["message"] == "timed out after 0.4 s" or error["message"].endswith(
        "(what was left of the node's timeout)"
    )
    # The engine gives up at the node's timeout; the request itself must not linger on its thread.
    deadline = time.monotonic() + 1.0
    while any(thread.name == "node:HTTP" for thread in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(thread.name == "node:HTTP" for thread in threading.enumerate())
    assert time.monotonic() - started < SLOW_SECONDS


def test_a_non_2xx_status_fails_the_run_naming_the_status_and_item(server: FakeHttpServer) -> None:
    error = failure(call({"url": server.url("/status/{{ $json.code }}")}, [{"code": 200}, {"code": 404}]))

    assert error["message"] == f"item 1: GET {server.url('/status/404')} returned 404 Not Found: the fake answered 404"
    assert error["item_index"] == 1
    assert "Check the URL" in error["description"]


def test_never_error_passes_a_non_2xx_response_on(server: FakeHttpServer) -> None:
    parameters = {"url": server.url("/status/422"), "never_error": True, "full_response": True}

    (full,) = succeeded(call(parameters))
    body_only = succeeded(call({**parameters, "full_response": False}))

    assert full["statusCode"] == 422 and full["statusMessage"] == "Unprocessable Entity"
    assert full["body"] == "the fake answered 422"
    assert body_only == [{"data": "the fake answered 422"}]


def test_an_error_message_never_shows_a_query_credential(server: FakeHttpServer) -> None:
    error = failure(call({"url": server.url("/status/403")}, auth="query"))

    assert "returned 403 Forbidden" in error["message"]
    assert "api_key=***" in error["message"]
    assert SECRET not in json.dumps(error)


def test_a_file_response_is_stored_as_binary_with_its_file_name(server: FakeHttpServer) -> None:
    host = LocalHost()

    result = call({"url": server.url("/file")}, host=host)
    named_by_url = call({"url": server.url("/file/export.bin"), "response_format": "file"}, host=host)

    (item,) = result.last_outputs["HTTP"][0]
    assert item.json == {}
    assert item.binary["data"]["file_name"] == "report.pdf"
    assert item.binary["data"]["mime_type"] == "application/pdf"
    assert host.read_binary(item.binary["data"]) == FILE_BYTES
    (by_url,) = named_by_url.last_outputs["HTTP"][0]
    assert by_url.binary["data"]["file_name"] == "export.bin"


def test_a_server_chosen_file_name_keeps_no_directories(server: FakeHttpServer) -> None:
    name = quote("../../etc/naïve report.pdf")

    result = call({"url": server.url(f"/file?name={name}")})

    (item,) = result.last_outputs["HTTP"][0]
    assert item.binary["data"]["file_name"] == "naïve report.pdf"


def test_a_json_response_can_be_kept_as_a_file_or_text(server: FakeHttpServer) -> None:
    host = LocalHost()
    as_file = call({"url": server.url("/ok"), "response_format": "file", "file_property": "raw"}, host=host)
    as_text = succeeded(call({"url": server.url("/ok"), "response_format": "text"}))

    (item,) = as_file.last_outputs["HTTP"][0]
    assert json.loads(host.read_binary(item.binary["raw"])) == {"ok": True}
    assert item.binary["raw"]["file_name"] == "ok"
    assert as_text == [{"data": '{"ok": true}'}]


def test_asking_for_json_from_a_non_json_response_fails(server: FakeHttpServer) -> None:
    error = failure(call({"url": server.url("/status/200"), "response_format": "json"}))

    assert "is not JSON: the fake answered 200" in error["message"]


def test_the_full_response_has_status_headers_and_body(server: FakeHttpServer) -> None:
    (full,) = succeeded(call({"url": server.url("/ok"), "full_response": True}))

    assert full["statusCode"] == 200 and full["statusMessage"] == "OK"
    assert full["headers"]["content-type"] == "application/json"
    assert full["body"] == {"ok": True}


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "127.0.0.1/echo", "http://"])
def test_a_url_that_is_not_http_is_refused(server: FakeHttpServer, url: str) -> None:
    error = failure(call({"url": url}))

    assert error["message"].startswith("item 0: the URL")
    assert "https://" in error["description"]
    assert server.requests == []


def test_expressions_in_url_and_body_are_evaluated_per_item(server: FakeHttpServer) -> None:
    parameters = {
        "method": "POST",
        "url": server.url("/echo/{{ $json.id }}"),
        "body_type": "json",
        "json_body": {"id": "{{ $json.id }}", "label": "order {{ $json.id }}"},
    }

    result = call(parameters, [{"id": 5}, {"id": 9}])

    echoed = succeeded(result)
    assert [(entry["path"], entry["json"]) for entry in echoed] == [
        ("/echo/5", {"id": 5, "label": "order 5"}),
        ("/echo/9", {"id": 9, "label": "order 9"}),
    ]
    assert [item.paired_item for item in result.last_outputs["HTTP"][0]] == [0, 1]


def _studio_flow(url: str, credential_id: str, name: str) -> WorkflowInput:
    data = workflow(
        [
            MANUAL,
            node(
                "HTTP",
                "http.request",
                {"url": url, "authentication": "header"},
                credentials={"http_header_auth": {"id": credential_id}},
            ),
        ],
        [("Start", "HTTP")],
    )
    return WorkflowInput(**{**data, "name": name})


def test_the_studio_runs_it_with_a_stored_credential_that_never_leaks(
    sqlite_database: Settings, server: FakeHttpServer
) -> None:
    builder = make_user(Role.BUILDER)
    credential = create_credential("api", "http_header_auth", {"name": "X-Api-Key", "value": SECRET}, actor=builder)
    saved = workflows.create_workflow(_studio_flow(server.url("/ok"), credential.id, "call api"), actor=builder)

    execution = executions.start_execution(saved.id, [{"order": 1}])
    finished = wait_for_run(execution.id)

    assert finished.status == RunStatus.SUCCEEDED, finished.error
    (request,) = server.received("/ok")
    assert request.headers["x-api-key"] == SECRET
    stored, steps, history = executions.get_execution(execution.id)
    assert steps[-1].output_items == {"main": [[{"json": {"ok": True}, "paired_item": 0}]]}
    recorded = json.dumps(
        [
            stored.trigger_data,
            stored.error,
            [step.model_dump(mode="json") for step in steps],
            [event.model_dump(mode="json") for event in history],
        ]
    )
    assert SECRET not in recorded
    with session_scope() as session:
        rows = session.execute(text("SELECT * FROM execution_step")).all()
    assert rows and SECRET not in repr(rows)

    other = make_user(Role.BUILDER)
    borrowed = workflows.create_workflow(_studio_flow(server.url("/ok"), credential.id, "borrowed"), actor=other)
    refused = wait_for_run(executions.start_execution(borrowed.id, [{}]).id)

    assert refused.status == RunStatus.FAILED
    assert refused.error is not None and refused.error["node"] == "HTTP"
    assert "not shared with this workflow's owner" in refused.error["message"]
    assert len(server.received("/ok")) == 1


def test_a_secret_echoed_back_by_the_server_is_masked_in_the_run_data(
    sqlite_database: Settings, server: FakeHttpServer
) -> None:
    builder = make_user(Role.BUILDER)
    credential = create_credential("api", "http_header_auth", {"name": "X-Api-Key", "value": SECRET}, actor=builder)
    saved = workflows.create_workflow(_studio_flow(server.url("/echo"), credential.id, "echo"), actor=builder)

    finished = wait_for_run(executions.start_execution(saved.id, [{}]).id)

    assert finished.status == RunStatus.SUCCEEDED, finished.error
    (request,) = server.received("/echo")
    assert request.headers["x-api-key"] == SECRET
    _, steps, _ = executions.get_execution(finished.id)
    output = json.dumps(executions.step_data(steps[-1])[1])
    assert SECRET not in output
    assert '"x-api-key": "***"' in output.lower()
