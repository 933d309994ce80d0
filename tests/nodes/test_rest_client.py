"""nodes._rest.RestClient, the base of every integration's client, against a tiny server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from nodes._rest import DEFAULT_TIMEOUT_SECONDS, Connection, RestClient, clamp_timeout
from nodes.sdk import CredentialType, NodeError
from tests.fakes.serving import serve

TOKEN = "tok-s3cret-123"


class ExampleFields(BaseModel):
    api_url: str
    token: str


class ExampleCredential(CredentialType):
    id = "example_api"
    display_name = "Example API"
    Fields = ExampleFields
    secret_fields = frozenset({"token"})


class ExampleClient(RestClient[ExampleFields]):
    """The smallest subclass: a connection and a refusal that reads the service's ``{"error"}``."""

    service = "Example"
    credential_type = ExampleCredential
    not_json_hint = "Check the credential's API URL: it must be Example's API."

    def connect(self, fields: ExampleFields) -> Connection:
        return Connection(
            base_url=fields.api_url, headers={"Authorization": f"Bearer {fields.token}"}, secrets=(fields.token,)
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        error = response.json().get("error", "")
        return self.error(f"Example refused {action} ({response.status_code}): {error}", "Fix it.", item_index)


class DefaultRefusalClient(ExampleClient):
    """Keeps the base's refusal, to test the default."""

    refusal = RestClient.refusal


class ObjectsOnlyClient(ExampleClient):
    """A service whose every answer is a JSON object, even to a delete."""

    json_object = True
    empty_is_json = False


class FakeExample:
    """What the fake serves from and records: its URL and each request's path and Authorization header."""

    def __init__(self, host: str, port: int) -> None:
        self.url = f"http://{host}:{port}"
        self.requests: list[tuple[str, str | None]] = []


class Handler(BaseHTTPRequestHandler):
    """Answers by path: ``/json``, ``/list``, ``/empty`` (204), ``/text``, ``/refuse`` (403, echoing the token)."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.fake.requests.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/json"):
            self._answer(200, json.dumps({"id": 7, "path": self.path}).encode())
        elif self.path == "/list":
            self._answer(200, b"[1, 2]")
        elif self.path == "/empty":
            self._answer(204)
        elif self.path == "/text":
            self._answer(200, b"<html>not an API</html>", "text/html")
        elif self.path == "/refuse":
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            self._answer(403, json.dumps({"error": f"token {token} may not read this"}).encode())
        else:
            self._answer(503, b'{"error": "down"}')


@pytest.fixture
def fake() -> Iterator[FakeExample]:
    with serve(Handler, FakeExample, name="fake-example") as state:
        yield state


def client(url: str, timeout: float | None = None, cls: type[ExampleClient] = ExampleClient) -> ExampleClient:
    return cls(ExampleFields(api_url=url, token=TOKEN), timeout)


def closed_port_url() -> str:
    """A URL nothing listens at: a port bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_json_answer_is_returned_with_the_connection_s_headers_and_query(fake: FakeExample) -> None:
    with client(fake.url) as example:
        answer = example.request("GET", "/json", "reading", params={"q": "a b"})

    assert answer == {"id": 7, "path": "/json?q=a+b"}
    assert fake.requests == [("/json?q=a+b", f"Bearer {TOKEN}")]


def test_an_empty_answer_is_an_empty_object(fake: FakeExample) -> None:
    with client(fake.url) as example:
        assert example.request("GET", "/empty", "deleting") == {}


def test_a_json_list_comes_back_as_it_is(fake: FakeExample) -> None:
    with client(fake.url) as example:
        assert example.request("GET", "/list", "listing") == [1, 2]


@pytest.mark.parametrize("path", ["/list", "/empty"])
def test_a_service_answering_only_objects_takes_a_list_or_an_empty_answer_for_not_json(
    fake: FakeExample, path: str
) -> None:
    with client(fake.url, cls=ObjectsOnlyClient) as example, pytest.raises(NodeError) as caught:
        example.request("GET", path, "reading")

    status = 204 if path == "/empty" else 200
    assert caught.value.message == f"reading: Example answered {status} with something other than JSON"
    with client(fake.url, cls=ObjectsOnlyClient) as example:
        assert example.request("GET", "/json", "reading")["id"] == 7


def test_an_answer_other_than_json_names_the_status_and_what_to_check(fake: FakeExample) -> None:
    with client(fake.url) as example, pytest.raises(NodeError) as caught:
        example.request("GET", "/text", "reading the page", item_index=3)

    assert caught.value.message == "item 3: reading the page: Example answered 200 with something other than JSON"
    assert caught.value.description == "Check the credential's API URL: it must be Example's API."
    assert caught.value.item_index == 3


def test_a_network_failure_says_the_service_could_not_be_reached() -> None:
    with client(closed_port_url()) as example, pytest.raises(NodeError) as caught:
        example.request("GET", "/json", "reading", item_index=0)

    assert caught.value.message.startswith("item 0: reading failed: Example could not be reached (ConnectError: ")
    assert caught.value.description == "Check the credential's API URL and the network, then retry."
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_a_refusal_goes_through_the_subclass_hook_with_the_secret_masked(fake: FakeExample) -> None:
    with client(fake.url) as example, pytest.raises(NodeError) as caught:
        example.request("GET", "/refuse", "reading the secret", item_index=1)

    assert caught.value.message == "item 1: Example refused reading the secret (403): token *** may not read this"
    assert caught.value.description == "Fix it."
    assert TOKEN not in str(caught.value)


def test_a_tolerated_refusal_answers_none(fake: FakeExample) -> None:
    with client(fake.url) as example:
        assert example.request("GET", "/refuse", "looking up", tolerate=(403,)) is None


def test_the_default_refusal_names_the_status(fake: FakeExample) -> None:
    with client(fake.url, cls=DefaultRefusalClient) as example, pytest.raises(NodeError) as caught:
        example.request("GET", "/down", "reading")

    assert caught.value.message == "Example refused reading (503): Service Unavailable"
    assert caught.value.description == "Example is failing: retry later."


def test_exchange_returns_a_refusal_without_raising(fake: FakeExample) -> None:
    with client(fake.url) as example:
        assert example.exchange("GET", "/refuse", "reading").status_code == 403


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(None, DEFAULT_TIMEOUT_SECONDS), (12.5, 12.5), (0.01, 1.0), (-3.0, 1.0), (500.0, DEFAULT_TIMEOUT_SECONDS)],
)
def test_the_timeout_is_the_time_left_within_one_second_and_the_ceiling(
    remaining: float | None, expected: float
) -> None:
    assert clamp_timeout(remaining, DEFAULT_TIMEOUT_SECONDS) == expected
    with client("http://127.0.0.1:1", remaining) as example:
        assert example._http.timeout.read == expected


def test_a_subclass_raises_the_ceiling() -> None:
    class Uploads(ExampleClient):
        default_timeout = 60.0

    with client("http://127.0.0.1:1", None, cls=Uploads) as example:
        assert example._http.timeout.read == 60.0
    assert clamp_timeout(45.0, 60.0) == 45.0


@pytest.mark.parametrize(("remaining", "expected"), [(None, 300.0), (12.5, 12.5), (0.01, 1.0), (900.0, 300.0)])
def test_a_request_s_own_ceiling_is_still_shortened_by_the_time_left(
    fake: FakeExample, remaining: float | None, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    with client(fake.url, remaining) as example:
        send = example._http.send

        def spy(request: httpx.Request, **kwargs: Any) -> httpx.Response:
            seen.append(request.extensions["timeout"]["read"])
            return send(request, **kwargs)

        monkeypatch.setattr(example._http, "send", spy)
        example.send("GET", "/json", "uploading", timeout=300.0)
        example.send("GET", "/json", "reading")

    assert seen == [expected, clamp_timeout(remaining, DEFAULT_TIMEOUT_SECONDS)]


def test_for_node_parses_the_node_s_credential_and_passes_the_time_left(fake: FakeExample) -> None:
    class Ctx:
        def credential(self, type_id: str) -> dict[str, Any]:
            assert type_id == "example_api"
            return {"api_url": fake.url, "token": TOKEN}

        def remaining_seconds(self) -> float | None:
            return 5.0

    with ExampleClient.for_node(Ctx()) as example:  # type: ignore[arg-type]
        assert example._http.timeout.read == 5.0
        assert example.request("GET", "/json", "reading")["id"] == 7


def test_the_client_is_closed_on_exit(fake: FakeExample) -> None:
    with client(fake.url) as example:
        pass

    assert example._http.is_closed
