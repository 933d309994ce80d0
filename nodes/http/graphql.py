"""GraphQL: send a query or mutation to a GraphQL endpoint, once per item, and output its data."""

from __future__ import annotations

import json
from typing import Any, Literal

import graphql
import httpx

from nodes.files._common import MISSING, get_field
from nodes.http._auth import (
    AUTH_DESCRIPTION,
    CREDENTIAL_REQUIREMENTS,
    Auth,
    AuthKind,
    checked_url,
    redact,
    resolve_auth,
)
from nodes.http.request import USER_AGENT, NameValue
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

EXCERPT_CHARS = 300
ACCEPT = "application/graphql-response+json, application/json"


class GraphqlParameters(Parameters):
    endpoint: str = param(title="Endpoint", placeholder="https://api.example.com/graphql", min_length=1)
    request_method: Literal["POST", "GET"] = param(
        "POST",
        title="Send as",
        description="POST: a JSON body; GET: query, variables and operation name as URL parameters.",
        no_expressions=True,
    )
    query: str = param(
        title="Query",
        description="A GraphQL query or mutation; pass changing values as variables.",
        widget="code",
        placeholder="query Orders($first: Int) { orders(first: $first) { id total } }",
        min_length=1,
    )
    variables: Any = param(
        None,
        title="Variables",
        description="A JSON object of the query's variables; values may be expressions.",
        widget="json",
    )
    operation_name: str = param(
        "",
        title="Operation name",
        description="Which operation of the query to run, when it defines several.",
    )
    authentication: AuthKind = param("none", title="Authentication", description=AUTH_DESCRIPTION, no_expressions=True)
    headers: list[NameValue] = param(default_factory=list, title="Headers")
    split_path: str = param(
        "",
        title="Split into items at",
        description="Dotted path to a list in the data (e.g. orders.nodes) to output one item per element; "
        "empty: the data is one item.",
        advanced=True,
    )
    errors: Literal["fail", "include"] = param(
        "fail",
        title="GraphQL errors",
        description="fail: an answer with errors fails the item; include: output {data, errors} instead.",
        advanced=True,
        no_expressions=True,
    )
    timeout: float = param(
        60.0,
        title="Timeout (seconds)",
        description="Per request; the node's own timeout setting, when shorter, wins.",
        advanced=True,
        gt=0,
        le=3600,
    )


def _checked_query(params: GraphqlParameters, index: int) -> None:
    """Refuse a query that does not parse, or lacks the named operation, before anything is sent."""
    try:
        document = graphql.parse(params.query)
    except graphql.GraphQLError as err:
        where = ""
        if err.locations:
            where = f" at line {err.locations[0].line}, column {err.locations[0].column}"
        raise NodeError(
            f"item {index}: the query has a syntax error{where}: {err.message}",
            description="Fix the query; the endpoint was not called.",
            item_index=index,
        ) from err
    names = [
        definition.name.value
        for definition in document.definitions
        if isinstance(definition, graphql.OperationDefinitionNode) and definition.name is not None
    ]
    wanted = params.operation_name.strip()
    if wanted and wanted not in names:
        raise NodeError(
            f"item {index}: the query defines no operation named {wanted!r}"
            + (f" (it defines {', '.join(names)})" if names else ""),
            description="Set 'Operation name' to one of the query's operations, or leave it empty.",
            item_index=index,
        )


def _variables(value: Any, index: int) -> dict[str, Any] | None:
    if isinstance(value, str):
        if not value.strip():
            return None
        # The panel's JSON widget and expressions may hand over JSON as text.
        try:
            value = json.loads(value)
        except ValueError as err:
            raise NodeError(
                f"item {index}: the variables are not valid JSON ({err})",
                description='Write the variables as a JSON object, e.g. {"first": 10}.',
                item_index=index,
            ) from err
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise NodeError(
            f"item {index}: the variables must be a JSON object, not {type(value).__name__}",
            description='Write the variables as a JSON object, e.g. {"first": 10}.',
            item_index=index,
        )
    return value


def _error_summary(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            parts.append(str(error))
            continue
        text = str(error.get("message") or "unknown error")
        path = error.get("path")
        if isinstance(path, list) and path:
            text += f" (path {'.'.join(str(step) for step in path)})"
        parts.append(text)
    return "; ".join(parts)


class _ItemCall:
    """The request made for one input item, and what its answer becomes."""

    def __init__(self, ctx: Context, client: httpx.Client, params: GraphqlParameters, index: int, auth: Auth) -> None:
        self.ctx = ctx
        self.client = client
        self.params = params
        self.index = index
        self.auth = auth
        self.url = checked_url(params.endpoint, index, what="the endpoint")

    def _fail(self, message: str, description: str = "") -> NodeError:
        return NodeError(
            redact(f"item {self.index}: {message}", self.auth.secrets), description=description, item_index=self.index
        )

    def _timeout(self) -> float:
        remaining = self.ctx.remaining_seconds()
        if remaining is None:
            return self.params.timeout
        if remaining <= 0:
            raise self._fail("the node's timeout ran out", "Raise the node's timeout setting.")
        return min(self.params.timeout, remaining)

    def _build(self, variables: dict[str, Any] | None) -> httpx.Request:
        params = self.params
        headers = httpx.Headers({"User-Agent": USER_AGENT, "Accept": ACCEPT})
        for header in params.headers:
            value = header.value
            headers[header.name] = value if isinstance(value, str) else json.dumps(value)
        headers.update(self.auth.headers)
        operation = params.operation_name.strip()
        if params.request_method == "GET":
            query: dict[str, str] = {"query": params.query}
            if variables is not None:
                query["variables"] = json.dumps(variables, ensure_ascii=False)
            if operation:
                query["operationName"] = operation
            url = self.url.copy_merge_params({**query, **self.auth.query})
            return self.client.build_request("GET", url, headers=headers, timeout=self._timeout())
        body: dict[str, Any] = {"query": params.query}
        if variables is not None:
            body["variables"] = variables
        if operation:
            body["operationName"] = operation
        headers["Content-Type"] = "application/json"
        return self.client.build_request(
            "POST",
            self.url.copy_merge_params(self.auth.query),
            headers=headers,
            content=json.dumps(body, ensure_ascii=False).encode(),
            timeout=self._timeout(),
        )

    def _send(self, variables: dict[str, Any] | None) -> httpx.Response:
        request = self._build(variables)
        try:
            return self.client.send(request)
        except httpx.TimeoutException as err:
            timeout = request.extensions["timeout"]["read"]
            raise self._fail(
                f"{request.method} {self.url} timed out after {round(timeout, 2):g} s",
                "Raise the Timeout option (or the node's timeout), or check that the server answers.",
            ) from err
        except httpx.LocalProtocolError as err:
            raise self._fail(
                f"{request.method} {self.url} could not be sent: {err}",
                "Check the header names and values: they must be plain text without line breaks.",
            ) from err
        except httpx.HTTPError as err:
            raise self._fail(
                f"{request.method} {self.url} failed: {err or type(err).__name__}",
                "Check the endpoint and that the server is reachable from the studio.",
            ) from err

    def _check_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        summary = f"{response.request.method} {self.url} returned {response.status_code}"
        if response.reason_phrase:
            summary += f" {response.reason_phrase}"
        if response.is_redirect:
            raise self._fail(
                f"{summary} to {response.headers.get('location', '?')}",
                "Use the URL it redirects to as the endpoint (credentials are never sent on redirects).",
            )
        excerpt = " ".join(response.text.split())
        if len(excerpt) > EXCERPT_CHARS:
            excerpt = excerpt[:EXCERPT_CHARS] + "…"
        hint = "Check the credential and what it is allowed to do." if response.status_code in (401, 403) else ""
        raise self._fail(f"{summary}: {excerpt}" if excerpt else summary, hint or "Check the endpoint and the query.")

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError as err:
            excerpt = " ".join(response.text.split())[:EXCERPT_CHARS]
            raise self._fail(
                f"{self.url} did not answer with GraphQL JSON: {excerpt or '(empty body)'}",
                "Check that the endpoint is the GraphQL one (often ending in /graphql).",
            ) from err
        if not isinstance(answer, dict) or not ({"data", "errors"} & answer.keys()):
            raise self._fail(
                f"{self.url} answered JSON without 'data' or 'errors', so it is not a GraphQL answer",
                "Check that the endpoint is the GraphQL one (often ending in /graphql).",
            )
        return answer

    def _split(self, data: Any) -> list[Item]:
        path = self.params.split_path.strip()
        if not path:
            return [Item(data if isinstance(data, dict) else {"data": data}, paired_item=self.index)]
        found = get_field(data, path) if isinstance(data, dict) else MISSING
        if not isinstance(found, list):
            what = "nothing" if found is MISSING else type(found).__name__
            raise self._fail(
                f"the data holds {what} at {path!r}, not a list to split",
                "Point 'Split into items at' at a list in the data, or leave it empty.",
            )
        return [
            Item(element if isinstance(element, dict) else {"data": element}, paired_item=self.index)
            for element in found
        ]

    def run(self) -> list[Item]:
        _checked_query(self.params, self.index)
        variables = _variables(self.params.variables, self.index)
        response = self._send(variables)
        if response.status_code == 401 and self.auth.renew is not None:
            self.auth = self.auth.renew()
            response = self._send(variables)
        self._check_status(response)
        answer = self._answer(response)
        errors = answer.get("errors")
        if errors:
            errors = errors if isinstance(errors, list) else [errors]
            if self.params.errors == "include":
                return [Item({"data": answer.get("data"), "errors": errors}, paired_item=self.index)]
            count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
            raise self._fail(
                f"the GraphQL server answered with {count}: {_error_summary(errors)}",
                "Fix the query or its variables, or set 'GraphQL errors' to include to handle them in the workflow.",
            )
        return self._split(answer.get("data") or {})


class GraphqlNode(Node):
    type = "http.graphql"
    display_name = "GraphQL"
    category = Category.ACTION
    description = "Sends a GraphQL query or mutation to an endpoint, once per item, and outputs the data it returns."
    icon = "braces"
    Parameters = GraphqlParameters
    credentials = CREDENTIAL_REQUIREMENTS
    subtitle = "request_method"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        auths: dict[str, Auth] = {}
        # Redirects are not followed: a credential must never reach another host.
        with httpx.Client(follow_redirects=False) as client:
            for index, _item in enumerate(items):
                params: GraphqlParameters = ctx.params(index)
                kind = params.authentication
                if kind not in auths:
                    auths[kind] = resolve_auth(ctx, kind)
                call = _ItemCall(ctx, client, params, index, auths[kind])
                produced.extend(call.run())
                # A token renewed for this item serves the next ones too.
                auths[kind] = call.auth
        return [produced]
