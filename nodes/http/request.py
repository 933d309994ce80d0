"""HTTP Request: call any HTTP API, one request per item, with auth, bodies, retries and pagination."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlencode

import httpx
from pydantic import BaseModel, ConfigDict

from nodes.files._common import MISSING, get_field, guess_mime_type, read_input
from nodes.http._auth import (
    AUTH_DESCRIPTION,
    CREDENTIAL_REQUIREMENTS,
    Auth,
    AuthKind,
    checked_url,
    origin,
    redact,
    resolve_auth,
)
from nodes.sdk import (
    Category,
    Context,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

USER_AGENT = "HITL-Studio"
MAX_REDIRECTS = 20
EXCERPT_CHARS = 300
MAX_RETRY_WAIT_SECONDS = 60.0
TEXT_TYPES = frozenset(
    {
        "application/javascript",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/x-ndjson",
        "application/yaml",
        "application/graphql",
    }
)
BODY = "body_type"
RETRY = {"retry_on_status": [True]}


class NameValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Name", min_length=1)
    value: Any = param("", title="Value", description="Numbers and booleans are sent as text, objects as JSON.")


class MultipartField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Name", min_length=1)
    kind: Literal["text", "file"] = param(
        "text", title="Kind", description="text: the value; file: a file of the item.", no_expressions=True
    )
    value: Any = param("", title="Value", show_if={"kind": ["text"]})
    binary_property: str = param(
        "data", title="Binary property", description="The item's binary property to send.", show_if={"kind": ["file"]}
    )


class HttpRequestParameters(Parameters):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = param("GET", title="Method")
    url: str = param(title="URL", placeholder="https://api.example.com/orders/{{ $json.id }}", min_length=1)
    authentication: AuthKind = param("none", title="Authentication", description=AUTH_DESCRIPTION, no_expressions=True)
    query: list[NameValue] = param(default_factory=list, title="Query parameters")
    headers: list[NameValue] = param(default_factory=list, title="Headers")
    body_type: Literal["none", "json", "form", "multipart", "raw"] = param(
        "none",
        title="Body",
        description="json: any JSON value; form: URL-encoded fields; multipart: fields and files; raw: text as typed.",
        no_expressions=True,
    )
    json_body: Any = param(None, title="JSON body", widget="json", show_if={BODY: ["json"]})
    form_fields: list[NameValue] = param(default_factory=list, title="Form fields", show_if={BODY: ["form"]})
    multipart_fields: list[MultipartField] = param(
        default_factory=list, title="Multipart fields", show_if={BODY: ["multipart"]}
    )
    raw_body: str = param("", title="Raw body", widget="textarea", show_if={BODY: ["raw"]})
    raw_content_type: str = param("text/plain", title="Content type", show_if={BODY: ["raw"]}, min_length=1)
    response_format: Literal["auto", "json", "text", "file"] = param(
        "auto",
        title="Response format",
        description="auto: by the response's content type; file: keep the bytes as a file of the item.",
        no_expressions=True,
    )
    file_property: str = param(
        "data",
        title="Put the file in",
        description="The binary property that receives the downloaded file.",
        show_if={"response_format": ["file", "auto"]},
        advanced=True,
        min_length=1,
    )
    full_response: bool = param(
        False,
        title="Include status and headers",
        description="Output {statusCode, statusMessage, headers, body} rather than the body alone.",
        advanced=True,
    )
    never_error: bool = param(
        False,
        title="Never error",
        description="Pass responses with any status on (use with 'Include status and headers').",
        advanced=True,
    )
    timeout: float = param(
        60.0,
        title="Timeout (seconds)",
        description="Per request; the node's own timeout setting, when shorter, wins.",
        advanced=True,
        gt=0,
        le=3600,
    )
    follow_redirects: bool = param(True, title="Follow redirects", advanced=True)
    retry_on_status: bool = param(
        False,
        title="Retry on 429 and 5xx",
        description="Wait and send again when the server is busy, failing or unreachable (honours Retry-After).",
        advanced=True,
    )
    max_tries: int = param(3, title="Max tries", show_if=RETRY, advanced=True, ge=1, le=10, no_expressions=True)
    retry_wait: float = param(
        1.0,
        title="Wait before retrying (seconds)",
        description="Doubled after each further try.",
        show_if=RETRY,
        advanced=True,
        ge=0,
        le=MAX_RETRY_WAIT_SECONDS,
    )
    pagination: Literal["none", "next_url_in_body", "page_number"] = param(
        "none",
        title="Pagination",
        description="next_url_in_body: follow a URL the response gives; page_number: count a query parameter up.",
        advanced=True,
        no_expressions=True,
    )
    next_url_field: str = param(
        "next",
        title="Next-page URL field",
        description="Dotted path to the next page's URL in the body; pages stop when it is empty.",
        show_if={"pagination": ["next_url_in_body"]},
        min_length=1,
    )
    page_parameter: str = param(
        "page", title="Page query parameter", show_if={"pagination": ["page_number"]}, min_length=1
    )
    page_start: int = param(1, title="First page", show_if={"pagination": ["page_number"]})
    page_step: int = param(1, title="Page step", show_if={"pagination": ["page_number"]}, ge=1)
    stop_when_empty: str = param(
        "",
        title="Stop when this field is empty",
        description="Dotted path in the body (empty: the whole body); the empty page is not output.",
        show_if={"pagination": ["page_number"]},
    )
    max_pages: int = param(
        100,
        title="Max pages",
        show_if={"pagination": ["next_url_in_body", "page_number"]},
        ge=1,
        le=10_000,
    )


@dataclass(frozen=True)
class _Body:
    content: bytes | None = None
    files: list[tuple[str, tuple[Any, ...]]] | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class _Decoded:
    kind: Literal["json", "text", "file"]
    body: Any
    content: bytes


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json_type(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _is_text_type(media: str) -> bool:
    return media.startswith("text/") or media in TEXT_TYPES or media.endswith("+xml")


def _is_empty(value: Any) -> bool:
    return value is MISSING or value is None or value in ("", b"") or (isinstance(value, list | dict) and not value)


def _file_name(response: httpx.Response) -> str:
    disposition = response.headers.get("content-disposition")
    name = ""
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename() or ""
    if not name:
        name = unquote(response.url.path.rsplit("/", 1)[-1])
    # A server-chosen name must not carry directories into whatever later writes the file.
    name = PurePosixPath(name.replace("\\", "/")).name
    if not name:
        extension = mimetypes.guess_extension(_media_type(response)) or ""
        name = f"file{extension}"
    return name


def _body_items(body: Any, index: int) -> list[Item]:
    """n8n's rule: a JSON array is one item per element; anything else is one item."""
    if isinstance(body, list):
        return [
            Item(element if isinstance(element, dict) else {"data": element}, paired_item=index) for element in body
        ]
    if isinstance(body, dict):
        return [Item(body, paired_item=index)]
    if body is None:
        return [Item({}, paired_item=index)]
    return [Item({"data": body}, paired_item=index)]


def _hint(status: int) -> str:
    if status in (401, 403):
        return "Check the credential and what it is allowed to do."
    if status == 404:
        return "Check the URL and the ids in it."
    if status == 429 or status >= 500:
        return "The server is busy or failing: turn on 'Retry on 429 and 5xx', or try again later."
    return "Fix the request, or turn on 'Never error' to handle such responses in the workflow."


class _ItemRequest:
    """The requests made for one input item: its pages, each with retries and redirects."""

    def __init__(
        self, ctx: Context, client: httpx.Client, params: HttpRequestParameters, item: Item, index: int, auth: Auth
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.params = params
        self.item = item
        self.index = index
        self.auth = auth
        self.url = checked_url(params.url, index)
        self.origin = origin(self.url)
        self.body = self._body()
        self.headers = self._headers()

    def _fail(self, message: str, description: str = "") -> NodeError:
        return NodeError(
            redact(f"item {self.index}: {message}", self.auth.secrets), description=description, item_index=self.index
        )

    def _headers(self) -> httpx.Headers:
        headers = httpx.Headers({"User-Agent": USER_AGENT})
        for header in self.params.headers:
            headers[header.name] = _text(header.value)
        if self.body.content_type and "content-type" not in headers:
            headers["Content-Type"] = self.body.content_type
        return headers

    def _body(self) -> _Body:
        params = self.params
        if params.body_type == "json":
            value = params.json_body
            if isinstance(value, str):
                # The panel's JSON widget and expressions may hand over JSON as text.
                try:
                    value = json.loads(value)
                except ValueError as err:
                    raise self._fail(
                        f"the JSON body is not valid JSON ({err})", "Fix the JSON body, or choose the raw body type."
                    ) from err
            return _Body(json.dumps(value, ensure_ascii=False).encode(), content_type="application/json")
        if params.body_type == "form":
            pairs = [(field.name, _text(field.value)) for field in params.form_fields]
            return _Body(urlencode(pairs).encode("ascii"), content_type="application/x-www-form-urlencoded")
        if params.body_type == "multipart":
            # Every part goes through ``files`` so httpx sends multipart even without a file,
            # and parts keep their order; a (None, text) part is a plain form field.
            parts: list[tuple[str, tuple[Any, ...]]] = []
            for field in params.multipart_fields:
                if field.kind == "text":
                    parts.append((field.name, (None, _text(field.value).encode())))
                    continue
                data, reference = read_input(self.ctx, self.item, field.binary_property, self.index)
                file_name = str(reference.get("file_name") or field.binary_property)
                mime_type = str(reference.get("mime_type") or guess_mime_type(file_name))
                parts.append((field.name, (file_name, data, mime_type)))
            return _Body(files=parts)
        if params.body_type == "raw":
            return _Body(params.raw_body.encode(), content_type=params.raw_content_type)
        return _Body()

    def _timeout(self) -> float:
        remaining = self.ctx.remaining_seconds()
        if remaining is None:
            return self.params.timeout
        if remaining <= 0:
            raise self._fail("the node's timeout ran out", "Raise the node's timeout setting.")
        return min(self.params.timeout, remaining)

    def _build(self, url: httpx.URL, query: httpx.QueryParams) -> httpx.Request:
        headers = self.headers.copy()
        if origin(url) == self.origin:
            headers.update(self.auth.headers)
            query = query.merge(self.auth.query)
        return self.client.build_request(
            self.params.method,
            url.copy_merge_params(query),
            headers=headers,
            content=self.body.content,
            files=self.body.files,
            timeout=self._timeout(),
        )

    def _send_following(self, request: httpx.Request) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = self.client.send(request, follow_redirects=False)
            following = response.next_request
            if not self.params.follow_redirects or following is None:
                return response
            if following.url.scheme not in ("http", "https"):
                raise self._fail(f"{request.url} redirected to {following.url}, which is not an http(s) URL")
            if origin(following.url) != self.origin:
                # httpx drops Authorization on a cross-origin redirect, but not a custom API-key header.
                for name in self.auth.headers:
                    following.headers.pop(name, None)
            request = following
        raise self._fail(f"{self.url} redirected more than {MAX_REDIRECTS} times", "Check the URL.")

    def _send(self, url: httpx.URL, query: httpx.QueryParams) -> httpx.Response:
        """One page; sent once more with a renewed credential when its own origin refuses the current one (401)."""
        response = self._send_with_retries(url, query)
        if response.status_code == 401 and self.auth.renew is not None and origin(response.url) == self.origin:
            self.auth = self.auth.renew()
            response = self._send_with_retries(url, query)
        return response

    def _send_with_retries(self, url: httpx.URL, query: httpx.QueryParams) -> httpx.Response:
        """One page: retried on 429/5xx when asked, each try rebuilt with the time left."""
        params = self.params
        tries = params.max_tries if params.retry_on_status else 1
        wait = params.retry_wait
        for attempt in range(1, tries + 1):
            request = self._build(url, query)
            timeout = request.extensions["timeout"]["read"]
            try:
                response = self._send_following(request)
            except httpx.TimeoutException as err:
                if timeout < params.timeout:
                    limit, fix = "what was left of the node's timeout", "Raise the node's timeout setting"
                else:
                    limit, fix = "the Timeout option", "Raise the Timeout option"
                raise self._fail(
                    f"{params.method} {request.url} timed out after {round(timeout, 2):g} s ({limit})",
                    f"{fix}, or check that the server answers.",
                ) from err
            except httpx.LocalProtocolError as err:
                raise self._fail(
                    f"{params.method} {request.url} could not be sent: {err}",
                    "Check the header names and values: they must be plain text without line breaks.",
                ) from err
            except httpx.TransportError as err:
                if attempt < tries and self._pause(wait):
                    wait *= 2
                    continue
                raise self._fail(
                    f"{params.method} {request.url} failed: {err or type(err).__name__}",
                    "Check the URL and that the server is reachable from the studio.",
                ) from err
            except httpx.HTTPError as err:
                raise self._fail(f"{params.method} {request.url} failed: {err}") from err
            retryable = response.status_code == 429 or response.status_code >= 500
            if retryable and attempt < tries and self._pause(max(wait, self._retry_after(response))):
                wait *= 2
                continue
            return response
        raise AssertionError("unreachable: the last try always returns or raises")

    @staticmethod
    def _retry_after(response: httpx.Response) -> float:
        try:
            return min(float(response.headers.get("retry-after", "0")), MAX_RETRY_WAIT_SECONDS)
        except ValueError:
            return 0.0  # An HTTP date: fall back to our own backoff.

    def _pause(self, seconds: float) -> bool:
        """Sleep before a retry; False when the node's time would run out first."""
        seconds = min(seconds, MAX_RETRY_WAIT_SECONDS)
        remaining = self.ctx.remaining_seconds()
        if remaining is not None and remaining <= seconds:
            return False
        time.sleep(seconds)
        return True

    def _check_status(self, response: httpx.Response) -> None:
        if response.is_success or self.params.never_error:
            return
        if _is_text_type(_media_type(response)) or _is_json_type(_media_type(response)):
            excerpt = " ".join(response.text.split())
            if len(excerpt) > EXCERPT_CHARS:
                excerpt = excerpt[:EXCERPT_CHARS] + "…"
        else:
            excerpt = f"({len(response.content)} bytes of {_media_type(response) or 'unknown type'})"
        summary = f"{response.request.method} {response.request.url} returned {response.status_code}"
        if response.reason_phrase:
            summary += f" {response.reason_phrase}"
        raise self._fail(f"{summary}: {excerpt}" if excerpt else summary, _hint(response.status_code))

    def _decode(self, response: httpx.Response) -> _Decoded:
        wanted = self.params.response_format
        media = _media_type(response)
        content = response.content
        if wanted == "auto":
            if not content:
                return _Decoded("json", None, content)
            if _is_json_type(media):
                wanted = "json"
            elif _is_text_type(media) or not media:
                wanted = "text"
            else:
                wanted = "file"
        if wanted == "file":
            return _Decoded("file", None, content)
        if wanted == "text":
            return _Decoded("text", response.text, content)
        if not content:
            return _Decoded("json", None, content)
        try:
            return _Decoded("json", response.json(), content)
        except ValueError as err:
            excerpt = " ".join(response.text.split())[:EXCERPT_CHARS]
            raise self._fail(
                f"the response of {response.request.url} is not JSON: {excerpt}",
                "Set the response format to text or file, or check the URL.",
            ) from err

    def _items(self, response: httpx.Response, decoded: _Decoded) -> list[Item]:
        full = {
            "statusCode": response.status_code,
            "statusMessage": response.reason_phrase,
            "headers": dict(response.headers.items()),
        }
        if decoded.kind == "file":
            reference = self.ctx.store_binary(
                decoded.content,
                file_name=_file_name(response),
                mime_type=_media_type(response) or "application/octet-stream",
            )
            data = full if self.params.full_response else {}
            return [Item(data, binary={self.params.file_property: reference}, paired_item=self.index)]
        if self.params.full_response:
            return [Item({**full, "body": decoded.body}, paired_item=self.index)]
        return _body_items(decoded.body, self.index)

    def _next_url(self, response: httpx.Response, decoded: _Decoded) -> httpx.URL | None:
        body = decoded.body
        found = get_field(body, self.params.next_url_field) if isinstance(body, Mapping) else MISSING
        if _is_empty(found):
            return None
        if not isinstance(found, str):
            raise self._fail(
                f"the next-page field {self.params.next_url_field!r} holds {type(found).__name__}, not a URL",
                "Point 'Next-page URL field' at the field holding the next page's URL.",
            )
        return checked_url(str(response.url.join(found)), self.index, what="the next-page URL")

    def _page_is_empty(self, decoded: _Decoded) -> bool:
        body = decoded.content if decoded.kind == "file" else decoded.body
        path = self.params.stop_when_empty.strip()
        if not path:
            return _is_empty(body)
        return _is_empty(get_field(body, path) if isinstance(body, Mapping) else MISSING)

    def run(self) -> list[Item]:
        params = self.params
        query = httpx.QueryParams([(entry.name, _text(entry.value)) for entry in params.query])
        url = self.url
        page = params.page_start
        produced: list[Item] = []
        for number in range(params.max_pages if params.pagination != "none" else 1):
            if params.pagination == "page_number":
                response = self._send(url, query.set(params.page_parameter, str(page)))
            elif number == 0:
                response = self._send(url, query)
            else:
                # The next-page URL carries its own query; only the credential is added to it.
                response = self._send(url, httpx.QueryParams())
            self._check_status(response)
            decoded = self._decode(response)
            if params.pagination == "page_number" and self._page_is_empty(decoded):
                break
            produced.extend(self._items(response, decoded))
            if not response.is_success:
                break
            if params.pagination == "next_url_in_body":
                following = self._next_url(response, decoded)
                if following is None:
                    break
                url = following
            page += params.page_step
        return produced


class HttpRequestNode(Node):
    type = "http.request"
    display_name = "HTTP Request"
    category = Category.ACTION
    description = "Calls any HTTP API, once per item, with authentication, JSON, form or file bodies, and pagination."
    icon = "globe"
    Parameters = HttpRequestParameters
    credentials = CREDENTIAL_REQUIREMENTS
    subtitle = "method"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        auths: dict[str, Auth] = {}
        with httpx.Client(follow_redirects=False) as client:
            for index, item in enumerate(items):
                params: HttpRequestParameters = ctx.params(index)
                kind = params.authentication
                if kind not in auths:
                    auths[kind] = resolve_auth(ctx, kind)
                request = _ItemRequest(ctx, client, params, item, index, auths[kind])
                produced.extend(request.run())
                # A token renewed for this item serves the next ones too.
                auths[kind] = request.auth
        return [produced]
