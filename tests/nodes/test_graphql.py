"""GraphQL (http.graphql) run through the engine against a real GraphQL server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import OAUTH2_RENEW
from tests.fakes.graphql_server import ORDERS, FakeGraphqlServer, fake_graphql_server
from tests.workflows import node, output_json, run, workflow

TYPE = "http.graphql"
SECRET = "gql-secret-7c1d2e3f"
CREDENTIALS: dict[str, tuple[str, dict[str, Any]]] = {
    "header": ("http_header_auth", {"name": "X-Api-Key", "value": SECRET}),
    "bearer": ("http_bearer_auth", {"token": SECRET}),
    "basic": ("http_basic_auth", {"user": "ada", "password": SECRET}),
    "query": ("http_query_auth", {"name": "api_key", "value": SECRET}),
}
ORDERS_QUERY = "query Orders($first: Int) { orders(first: $first) { id total } }"


@pytest.fixture
def server() -> Iterator[FakeGraphqlServer]:
    with fake_graphql_server() as fake:
        yield fake


def call(
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    auth: str | None = None,
    host: LocalHost | None = None,
    **settings: Any,
) -> RunResult:
    if auth is not None:
        parameters = {"authentication": auth, **parameters}
        type_id = CREDENTIALS[auth][0] if auth in CREDENTIALS else "oauth2"
        settings["credentials"] = {type_id: {"id": f"{auth}-credential"}}
    host = host or LocalHost(credentials={f"{kind}-credential": data for kind, (_, data) in CREDENTIALS.items()})
    data = workflow(
        [node("Start", "trigger.manual"), node("GraphQL", TYPE, parameters, **settings)], [("Start", "GraphQL")]
    )
    return run(data, items if items is not None else [{}], host=host)


def succeeded(result: RunResult) -> list[dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "GraphQL")


def failure(result: RunResult) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED, result.status
    assert result.error is not None and result.error["node"] == "GraphQL"
    return result.error


def test_a_post_query_sends_json_with_variables_from_the_item(server: FakeGraphqlServer) -> None:
    produced = succeeded(
        call(
            {"endpoint": server.url("/graphql"), "query": ORDERS_QUERY, "variables": {"first": "{{ $json.count }}"}},
            [{"count": 2}, {"count": 1}],
        )
    )

    assert produced == [
        {"orders": [{"id": "1", "total": 12.5}, {"id": "2", "total": 99.0}]},
        {"orders": [{"id": "1", "total": 12.5}]},
    ]
    first, second = server.received("/graphql")
    assert first.method == "POST" and first.headers["content-type"] == "application/json"
    assert json.loads(first.body) == {"query": ORDERS_QUERY, "variables": {"first": 2}}
    assert json.loads(second.body)["variables"] == {"first": 1}
    assert first.headers["user-agent"] == "HITL-Studio"


def test_variables_given_as_json_text_are_parsed(server: FakeGraphqlServer) -> None:
    (data,) = succeeded(call({"endpoint": server.url("/graphql"), "query": ORDERS_QUERY, "variables": '{"first": 1}'}))

    assert data == {"orders": [{"id": "1", "total": 12.5}]}


def test_get_sends_the_query_variables_and_operation_as_url_parameters(server: FakeGraphqlServer) -> None:
    query = ORDERS_QUERY + " query Who { whoami }"
    (data,) = succeeded(
        call(
            {
                "endpoint": server.url("/graphql"),
                "request_method": "GET",
                "query": query,
                "variables": {"first": 3},
                "operation_name": "Orders",
            }
        )
    )

    assert [order["id"] for order in data["orders"]] == ["1", "2", "3"]
    (received,) = server.received("/graphql")
    assert received.method == "GET" and received.body == b""
    assert received.query == {"query": [query], "variables": ['{"first": 3}'], "operationName": ["Orders"]}


def test_the_operation_name_picks_one_of_several_operations(server: FakeGraphqlServer) -> None:
    query = ORDERS_QUERY + " query Who { whoami }"
    (data,) = succeeded(call({"endpoint": server.url("/graphql"), "query": query, "operation_name": "Who"}))

    assert data == {"whoami": None}
    assert json.loads(server.received("/graphql")[0].body)["operationName"] == "Who"


def test_an_operation_name_the_query_lacks_fails_before_sending(server: FakeGraphqlServer) -> None:
    query = ORDERS_QUERY + " query Who { whoami }"
    error = failure(call({"endpoint": server.url("/graphql"), "query": query, "operation_name": "Nope"}))

    assert error["message"] == "item 0: the query defines no operation named 'Nope' (it defines Orders, Who)"
    assert server.received("/graphql") == []


def test_a_mutation_is_sent_with_extra_headers(server: FakeGraphqlServer) -> None:
    (data,) = succeeded(
        call(
            {
                "endpoint": server.url("/graphql"),
                "query": "mutation Add($total: Float!, $who: String!) "
                "{ addOrder(total: $total, customer: $who) { id } }",
                "variables": {"total": 5.5, "who": "{{ $json.name }}"},
                "headers": [{"name": "X-Trace", "value": "abc-123"}],
            },
            [{"name": "Edsger"}],
        )
    )

    assert data == {"addOrder": {"id": "4"}}
    assert server.added == [{"id": "4", "total": 5.5, "customer": "Edsger"}]
    assert server.received("/graphql")[0].headers["x-trace"] == "abc-123"


def test_split_makes_one_item_per_element_of_the_list(server: FakeGraphqlServer) -> None:
    produced = succeeded(
        call({"endpoint": server.url("/graphql"), "query": "{ orders { id customer } }", "split_path": "orders"})
    )

    assert produced == [{"id": order["id"], "customer": order["customer"]} for order in ORDERS]


def test_split_at_a_path_without_a_list_fails(server: FakeGraphqlServer) -> None:
    error = failure(
        call({"endpoint": server.url("/graphql"), "query": "{ orders { id } }", "split_path": "orders.missing"})
    )

    assert error["message"] == "item 0: the data holds nothing at 'orders.missing', not a list to split"


@pytest.mark.parametrize("kind", ["header", "bearer", "basic", "query"])
def test_each_credential_is_sent_the_way_the_server_checks(server: FakeGraphqlServer, kind: str) -> None:
    expected = {
        "header": ("X-Api-Key", SECRET),
        "bearer": ("Authorization", f"Bearer {SECRET}"),
        "basic": ("Authorization", "Basic " + base64.b64encode(f"ada:{SECRET}".encode()).decode()),
    }
    if kind == "query":
        server.auth_query = ("api_key", SECRET)
    else:
        server.auth_header = expected[kind]

    (data,) = succeeded(call({"endpoint": server.url("/secure"), "query": "{ orders { id } }"}, auth=kind))

    assert [order["id"] for order in data["orders"]] == ["1", "2", "3"]
    assert len(server.received("/secure")) == 1


def test_a_refused_credential_fails_with_the_status_and_hides_the_secret(server: FakeGraphqlServer) -> None:
    server.auth_header = ("X-Api-Key", "another-key")

    error = failure(call({"endpoint": server.url("/secure"), "query": "{ whoami }"}, auth="header"))

    assert error["message"].startswith(f"item 0: POST {server.url('/secure')} returned 401 Unauthorized: ")
    assert "not authenticated" in error["message"]
    assert error["description"] == "Check the credential and what it is allowed to do."


def test_an_oauth2_token_refused_once_is_renewed_and_sent_again(server: FakeGraphqlServer) -> None:
    server.auth_header = ("Authorization", "Bearer token-new")
    stored: dict[str, Any] = {"access_token": "token-old"}

    def renew(refused: str) -> None:
        assert refused == "token-old"
        stored["access_token"] = "token-new"

    stored[OAUTH2_RENEW] = renew
    host = LocalHost(credentials={"oauth2-credential": stored})

    (data,) = succeeded(call({"endpoint": server.url("/secure"), "query": "{ whoami }"}, auth="oauth2", host=host))

    assert data == {"whoami": "Bearer token-new"}
    assert [r.headers["authorization"] for r in server.received("/secure")] == ["Bearer token-old", "Bearer token-new"]


def test_graphql_errors_fail_with_their_messages_and_paths(server: FakeGraphqlServer) -> None:
    error = failure(
        call({"endpoint": server.url("/graphql"), "query": '{ a: order(id: "9") { id } b: order(id: "8") { id } }'})
    )

    assert error["message"] == (
        "item 0: the GraphQL server answered with 2 errors: no order 9 (path a); no order 8 (path b)"
    )


def test_graphql_errors_can_be_output_with_the_partial_data(server: FakeGraphqlServer) -> None:
    (answer,) = succeeded(
        call(
            {
                "endpoint": server.url("/graphql"),
                "query": '{ orders(first: 1) { id } order(id: "9") { id } }',
                "errors": "include",
            }
        )
    )

    assert answer["data"] == {"orders": [{"id": "1"}], "order": None}
    assert [(e["message"], e["path"]) for e in answer["errors"]] == [("no order 9", ["order"])]


def test_a_validation_error_from_the_server_fails_the_item(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": server.url("/graphql"), "query": "{ orders { nope } }"}))

    assert "answered with 1 error: Cannot query field 'nope' on type 'Order'." in error["message"]


def test_a_syntax_error_names_line_and_column_and_nothing_is_sent(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": server.url("/graphql"), "query": "query {\n  orders { id \n}"}))

    assert (
        error["message"]
        == "item 0: the query has a syntax error at line 3, column 2: Syntax Error: Expected Name, found <EOF>."
    )
    assert error["description"] == "Fix the query; the endpoint was not called."
    assert server.requests == []


def test_a_non_2xx_answer_fails_with_status_and_body(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": server.url("/status/503"), "query": "{ whoami }"}))

    assert error["message"] == (
        f"item 0: POST {server.url('/status/503')} returned 503 Service Unavailable: the fake answered 503"
    )


def test_a_redirect_is_not_followed(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": server.url("/redirect"), "query": "{ whoami }"}, auth="bearer"))

    assert error["message"] == (
        f"item 0: POST {server.url('/redirect')} returned 302 Found to {server.url('/graphql')}"
    )
    assert server.received("/graphql") == []


def test_an_endpoint_that_is_not_graphql_fails_clearly(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": server.url("/not-graphql"), "query": "{ whoami }"}))

    assert error["message"].startswith(f"item 0: {server.url('/not-graphql')} did not answer with GraphQL JSON: <html>")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("{oops", "item 0: the variables are not valid JSON"),
        ([1, 2], "item 0: the variables must be a JSON object, not list"),
    ],
)
def test_variables_that_are_not_an_object_fail(server: FakeGraphqlServer, variables: Any, message: str) -> None:
    error = failure(call({"endpoint": server.url("/graphql"), "query": ORDERS_QUERY, "variables": variables}))

    assert error["message"].startswith(message)
    assert server.requests == []


def test_the_timeout_option_ends_a_slow_request(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": server.url("/slow"), "query": "{ whoami }", "timeout": 0.2}))

    assert error["message"] == f"item 0: POST {server.url('/slow')} timed out after 0.2 s"


def test_an_endpoint_that_is_not_http_fails(server: FakeGraphqlServer) -> None:
    error = failure(call({"endpoint": "ftp://example.com/graphql", "query": "{ whoami }"}))

    assert error["message"] == "item 0: the endpoint 'ftp://example.com/graphql' is not an http:// or https:// URL"


def test_continue_on_fail_turns_the_error_into_an_item(server: FakeGraphqlServer) -> None:
    (entry,) = succeeded(call({"endpoint": server.url("/graphql"), "query": "{ orders {"}, on_error="continue"))

    assert entry["error"].startswith("item 0: the query has a syntax error at line 1, column 11")
    assert entry["error_details"]["item_index"] == 0
