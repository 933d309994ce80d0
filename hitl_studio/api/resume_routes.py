"""Resume links of paused runs (outside ``/api/v1``): Wait for Webhook calls and Form pages.

``GET|POST /resume/{execution_id}/{token}`` resumes a run paused on a Wait for
Webhook node with the request (``headers``, ``query``, ``body``; JSON, form or
text bodies as ``/webhook`` reads them, up to ``HITL_WEBHOOK_MAX_BYTES``) and
answers 202 JSON. The wrong method is 405 (the link stays unused), a forged
link 404, a used or expired one 410.

``GET /form/{execution_id}/{token}`` shows the Form node's page, built from its
schema; ``POST`` reads and checks the answers: problems re-show the page with
422 and the answers kept (the link stays unused); a valid answer resumes the
run and shows a thank-you page. Bad links get an HTML page with 404 or 410.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hitl_studio.api.errors import error_body
from hitl_studio.api.respond_page import MAX_FORM_BYTES, _page
from hitl_studio.api.webhooks import _HIDDEN_HEADERS, _BodyTooLarge, _form_body, _parse_body, _read_body
from hitl_studio.approvals import form_render
from hitl_studio.approvals.forms import response_problems
from hitl_studio.services import waits
from hitl_studio.settings import get_settings

router = APIRouter(tags=["resume links"])
e = html.escape


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status, headers={"Cache-Control": "no-store"})


async def resume_webhook(execution_id: str, token: str, request: Request) -> Response:
    """Resume the run waiting on this Wait for Webhook node with the request's data."""
    settings = get_settings()
    try:
        raw = await _read_body(request, settings.webhook_max_bytes)
    except _BodyTooLarge:
        limit_mb = settings.webhook_max_bytes / 1024 / 1024
        return _error(413, "payload_too_large", f"The body is larger than {limit_mb:g} MB (HITL_WEBHOOK_MAX_BYTES).")
    content_type = request.headers.get("content-type", "")
    try:
        # Check the link before storing any uploaded file.
        await run_in_threadpool(waits.check, execution_id, token, "webhook")
        if content_type.lower().startswith("multipart/form-data"):
            body, binary = await _form_body(request, raw)
        else:
            body, binary = await run_in_threadpool(_parse_body, content_type, raw)
    except waits.WaitLinkError as err:
        return _error(err.status_code, err.code, str(err))
    except ValueError as err:
        return _error(400, "bad_request", f"The body is not valid JSON: {err}")
    payload: dict[str, Any] = {
        "headers": {k: v for k, v in request.headers.items() if k.lower() not in _HIDDEN_HEADERS},
        "query": dict(request.query_params),
        "body": body,
        "binary": binary,
    }
    try:
        paused = await run_in_threadpool(
            lambda: waits.resume_from_request(execution_id, token, "webhook", payload, method=request.method)
        )
    except waits.WaitLinkError as err:
        return _error(err.status_code, err.code, str(err))
    answer: dict[str, Any] = {"execution_id": execution_id, "status": "resumed"}
    if paused.data.get("response"):
        answer["message"] = paused.data["response"]
    return JSONResponse(answer, 202, headers={"Cache-Control": "no-store"})


for _method in ("GET", "POST"):
    # One route per method, so each has its own operation id in the OpenAPI document.
    router.add_api_route(
        "/resume/{execution_id}/{token}",
        resume_webhook,
        methods=[_method],
        operation_id=f"resume_webhook_{_method.lower()}",
        summary=f"{_method}: resume a run waiting on a Wait for Webhook node",
    )


def _link_error(error: waits.WaitLinkError) -> HTMLResponse:
    titles = {404: "This link is not valid", 410: "This link no longer works"}
    title = titles.get(error.status_code, "This link cannot be used")
    return _page(title, f"<h1>{e(title)}</h1><p role='status'>{e(str(error))}</p>", error.status_code)


def _form_page(
    paused: waits.PausedWait,
    *,
    submitted: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    data = paused.data
    schema = data.get("form_schema") or {}
    title = str(data.get("title") or "Form")
    parts = [form_render.error_summary(schema, errors, note="Nothing was sent yet: correct the form and submit again.")]
    parts.append(f"<h1>{e(title)}</h1>")
    if data.get("description"):
        parts.append(f"<p style='white-space:pre-wrap'>{e(str(data['description']))}</p>")
    values = form_render.initial_values(schema, None)
    fields = form_render.render_fields(schema, values, errors=errors, submitted=submitted)
    label = str(data.get("submit_label") or "Submit")
    parts.append(
        f"<form method='post'>{fields}<button type='submit' class='approve'>{e(label)}</button></form>"
        "<p><small>This form can be submitted once.</small></p>"
    )
    if paused.expires_at:
        parts.append(f"<p><small>Submit before {e(paused.expires_at.strftime('%Y-%m-%d %H:%M UTC'))}.</small></p>")
    page_title = f"Please correct the form: {title}" if errors else title
    return _page(page_title, "".join(parts), status)


@router.get("/form/{execution_id}/{token}", response_class=HTMLResponse, include_in_schema=False)
def show_form(execution_id: str, token: str) -> HTMLResponse:
    """The Form node's page; showing it uses nothing."""
    try:
        paused = waits.check(execution_id, token, "form")
    except waits.WaitLinkError as err:
        return _link_error(err)
    return _form_page(paused)


@router.post("/form/{execution_id}/{token}", response_class=HTMLResponse, include_in_schema=False)
async def submit_form(execution_id: str, token: str, request: Request) -> HTMLResponse:
    """Check the answers; valid ones resume the run (the link is then used), others are shown again with 422."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        message = f"The form is larger than {MAX_FORM_BYTES // 1024} KB; shorten the answers and try again."
        return _page("Form too large", f"<h1>Form too large</h1><p role='status'>{e(message)}</p>", 413)
    submitted = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    try:
        paused = await run_in_threadpool(waits.check, execution_id, token, "form")
    except waits.WaitLinkError as err:
        return _link_error(err)
    schema = paused.data.get("form_schema") or {}
    fields, errors = form_render.parse_form(schema, submitted)
    for field, problem in response_problems(schema, fields).items():
        errors.setdefault(field, problem)
    if errors:
        return _form_page(paused, submitted=submitted, errors=errors, status=422)
    try:
        await run_in_threadpool(waits.resume_from_request, execution_id, token, "form", fields)
    except waits.WaitLinkError as err:
        return _link_error(err)
    title = str(paused.data.get("title") or "Form")
    text = "Thank you: your answers were sent. You can close this page."
    return _page("Thank you", f"<h1>Thank you</h1><p role='status'>{e(text)}</p><p>{e(title)}</p>", 200)
