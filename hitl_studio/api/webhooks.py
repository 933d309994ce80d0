"""``/webhook/{path}``: HTTP requests that start the runs of active workflows; ``/webhook-test/{path}``: test events.

The request becomes the run's item ``{"headers", "params", "query", "body"}``.
The response follows the Webhook node's ``response_mode``: at once (202 and
the run id), when the run ends (its last node's items), or when a Respond to
Webhook node runs (what it chose; the run goes on after it). A run that pauses
(an approval) before answering answers 202 meanwhile.

``/webhook-test/{path}`` serves the editor's "Listen for test event": one
request, while a listener made by ``POST /api/v1/workflows/{id}/test-webhook``
lives, runs that workflow's saved version once (mode ``test``, active or not),
with the same methods, authentication and answers as ``/webhook``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from hitl_studio import files
from hitl_studio.api.errors import error_body
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.services import executions, run_results, triggers
from hitl_studio.services.errors import InvalidInput, NotFound
from hitl_studio.services.triggers import WebhookListener, WebhookRoute
from hitl_studio.settings import get_settings

router = APIRouter(tags=["webhooks"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Headers that carry the caller's secrets to us; they never reach the run's data.
_HIDDEN_HEADERS = {"authorization", "cookie"}


class _BodyTooLarge(Exception):
    """The request body is over HITL_WEBHOOK_MAX_BYTES (answered with 413)."""


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _authorised(route: WebhookRoute, request: Request, body: bytes) -> bool:
    params = route.params
    if params.authentication == "none":
        return True
    secret = params.secret.encode()
    if params.authentication == "header":
        given = request.headers.get(params.header_name, "").encode()
        return bool(secret) and hmac.compare_digest(given, secret)
    signature = request.headers.get("x-signature", "").removeprefix("sha256=")
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return bool(secret) and hmac.compare_digest(signature.encode(), expected.encode())


INLINE_PARSE_BYTES = 64 * 1024
"""JSON, form and text bodies up to this size are parsed on the event loop: parsing them costs
less than handing them to a worker thread and back. Larger ones, and files (written to the file
store), are parsed on a thread so the loop never waits on them."""


def _body_kind(content_type: str) -> str:
    """How a body of this content type is read: ``json``, ``form``, ``text`` or ``file``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return "json"
    if kind == "application/x-www-form-urlencoded":
        return "form"
    if kind.startswith("text/") or kind in ("application/xml", ""):
        return "text"
    return "file"


def _parse_body(content_type: str, body: bytes) -> tuple[Any, dict[str, Any]]:
    """The body as data, and any files it carried as binary references.

    Raises:
        ValueError: A JSON body that is not JSON.
    """
    if not body:
        return None, {}
    kind = _body_kind(content_type)
    if kind == "json":
        return json.loads(body), {}
    if kind == "form":
        parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}, {}
    if kind == "text":
        return body.decode("utf-8", errors="replace"), {}
    mime_type = content_type.split(";", 1)[0].strip().lower() or "application/octet-stream"
    reference = files.put(body, file_name="body", mime_type=mime_type)
    return None, {"data": reference}


async def _form_body(request: Request, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Multipart forms: fields into the body, uploaded files into the file store."""

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form()
    fields: dict[str, Any] = {}
    binary: dict[str, Any] = {}
    for key, value in form.multi_items():
        if hasattr(value, "read"):
            data = await value.read()
            binary[key] = files.put(
                data, file_name=value.filename or key, mime_type=value.content_type or "application/octet-stream"
            )
        else:
            fields[key] = value
    return fields, binary


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = error_body(code, message)
    body["error"].update(extra)
    return JSONResponse(body, status)


def _respond(payload: dict[str, Any], execution_id: str) -> Response:
    if payload.get("status") == "waiting":
        return JSONResponse({"execution_id": execution_id, "status": "waiting"}, 202)
    if payload.get("status") not in ("succeeded", "responded"):
        error = payload.get("error") or {}
        message = f"The workflow failed at node {error.get('node')!r}: {error.get('message', 'unknown error')}"
        return _error(500, "workflow_failed", message, execution_id=execution_id)
    chosen = payload.get("response")
    if chosen is not None:
        body = chosen.get("body")
        headers = {str(k): str(v) for k, v in (chosen.get("headers") or {}).items()}
        if isinstance(body, str):
            headers.setdefault("content-type", "text/plain; charset=utf-8")
            return Response(body, chosen.get("status", 200), headers=headers)
        return JSONResponse(body, chosen.get("status", 200), headers=headers)
    items = payload.get("items") or []
    return JSONResponse(items[0] if len(items) == 1 else items, 200)


async def webhook(path: str, request: Request) -> Response:
    found = await run_in_threadpool(triggers.find_webhook, request.method, path)
    if found is None:
        if await run_in_threadpool(triggers.path_has_any_method, path):
            return _error(405, "method_not_allowed", f"/webhook/{path} does not accept {request.method}.")
        return _error(404, "not_found", f"No active workflow listens on {request.method} /webhook/{path}.")
    route, path_params = found
    return await _run_webhook(request, route, path_params)


def _not_listening(method: str, path: str) -> JSONResponse:
    return _error(
        404,
        "not_found",
        f"Nothing is listening for a test event on {method} /webhook-test/{path}: open the workflow, click "
        f'"Listen for test event", then send the request within {triggers.TEST_LISTEN_SECONDS} s.',
    )


async def webhook_test_event(path: str, request: Request) -> Response:
    """One test event for the workflow whose editor is listening on this path."""
    found = await run_in_threadpool(triggers.find_test_webhook, request.method, path)
    if found is None:
        if await run_in_threadpool(triggers.listened_path_has_any_method, path):
            return _error(405, "method_not_allowed", f"/webhook-test/{path} does not accept {request.method}.")
        return _not_listening(request.method, path)
    listener, node_name, path_params = found
    try:
        route = await run_in_threadpool(triggers.listener_route, listener, node_name)
    except NotFound as err:
        return _error(err.status_code, err.code, err.message)
    return await _run_webhook(request, route, path_params, listener=listener, path=path)


async def _run_webhook(
    request: Request,
    route: WebhookRoute,
    path_params: dict[str, str],
    *,
    listener: WebhookListener | None = None,
    path: str = "",
) -> Response:
    """Check and read the request, start the run, answer as the Webhook node's response mode says.

    With ``listener`` (a test event) the listener is consumed just before the
    run starts, so a refused request (401, 413, bad JSON) leaves it listening.
    """
    settings = get_settings()
    try:
        raw = await _read_body(request, settings.webhook_max_bytes)
    except _BodyTooLarge:
        limit_mb = settings.webhook_max_bytes / 1024 / 1024
        return _error(413, "payload_too_large", f"The body is larger than {limit_mb:g} MB (HITL_WEBHOOK_MAX_BYTES).")
    if not _authorised(route, request, raw):
        return _error(401, "unauthorized", "The webhook secret or signature is missing or wrong.")
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.lower().startswith("multipart/form-data"):
            body, binary = await _form_body(request, raw)
        elif len(raw) <= INLINE_PARSE_BYTES and _body_kind(content_type) != "file":
            body, binary = _parse_body(content_type, raw)
        else:
            body, binary = await run_in_threadpool(_parse_body, content_type, raw)
    except ValueError as err:
        return _error(400, "bad_request", f"The body is not valid JSON: {err}")
    item = {
        "headers": {k: v for k, v in request.headers.items() if k.lower() not in _HIDDEN_HEADERS},
        "params": path_params,
        "query": dict(request.query_params),
        "body": body,
    }
    waits = route.params.response_mode != "immediately"
    options = executions.StartOptions(
        mode=ExecutionMode.WEBHOOK, start_node=route.node_name, notify=waits, version=route.version
    )
    if listener is not None:
        if not await run_in_threadpool(triggers.claim_test_listener, listener):
            return _not_listening(request.method, path)
        options = replace(options, mode=ExecutionMode.TEST)
    try:
        execution = await run_in_threadpool(
            executions.start_execution, route.workflow_id, [{"json": item, "binary": binary}], options
        )
    except (NotFound, InvalidInput) as err:
        return _error(err.status_code, err.code, err.message)
    if not waits:
        return JSONResponse({"execution_id": execution.id, "status": "queued"}, 202)
    payload = await run_results.wait(execution.id, settings.webhook_timeout_seconds)
    if payload is None:
        return JSONResponse({"execution_id": execution.id, "status": "running"}, 202)
    return _respond(payload, execution.id)


for _method in METHODS:
    # One route per method, so each gets its own operation in the OpenAPI document.
    router.add_api_route(
        "/webhook/{path:path}",
        webhook,
        methods=[_method],
        operation_id=f"webhook_{_method.lower()}",
        summary=f"{_method}: start the run of the active workflow listening on this path",
    )
    router.add_api_route(
        "/webhook-test/{path:path}",
        webhook_test_event,
        methods=[_method],
        operation_id=f"webhook_test_{_method.lower()}",
        summary=f"{_method}: one test event for the workflow whose editor is listening on this path",
    )
