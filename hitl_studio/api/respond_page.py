"""The confirmation page behind personal email/SMS decision links (outside ``/api/v1``).

``GET /approvals/respond/{token}`` only shows the request with Approve and
Reject buttons: mail scanners and link previews fetch links, so opening one
must never decide. ``POST`` (the form's buttons) checks the token, marks it
used and records the decision as the link's approver, through the channel the
link came by. Bad links get a plain HTML page with a 4xx status.

When the request has a form (``ui_schema``), its fields are shown above the
buttons, prefilled from the request's ``action_data`` (or the schema's
defaults), so the approver can approve with edits. An approve whose fields do
not read or validate re-shows the page with 422 and each problem next to its
field, without using the link; a valid one becomes the decision's
``response_data``. Reject ignores the fields.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from hitl_studio.approvals import form_render
from hitl_studio.approvals.forms import response_problems
from hitl_studio.channels import CHANNELS, links
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus, Delivery, EventSource
from hitl_studio.models.users import User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import Decider
from hitl_studio.services.errors import Conflict, Forbidden, InvalidInput, NotFound

router = APIRouter(tags=["approval links"])

MAX_FEEDBACK_CHARS = 5000
MAX_FORM_BYTES = 64 * 1024
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}"
    "pre{background:#f4f4f4;padding:.5rem;overflow:auto;white-space:pre-wrap}"
    "textarea{width:100%;min-height:5rem;font:inherit}"
    "button{font:inherit;padding:.6rem 1.2rem;margin:.5rem .5rem 0 0;border-radius:4px;"
    "border:1px solid #333;cursor:pointer}"
    ".approve{background:#166534;color:#fff}.reject{background:#991b1b;color:#fff}"
    "button:focus{outline:3px solid #2563eb;outline-offset:2px}"
    f"{form_render.FORM_STYLE}"
)
e = html.escape


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='robots' content='noindex'><title>{e(title)} - HITL Studio</title>"
        f"<style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)


def _message(title: str, text: str, status: int) -> HTMLResponse:
    return _page(title, f"<h1>{e(title)}</h1><p role='status'>{e(text)}</p>", status)


def _link_error(error: links.LinkError) -> HTMLResponse:
    titles = {404: "This link is not valid", 410: "This link no longer works"}
    return _message(titles.get(error.status_code, "This link cannot be used"), str(error), error.status_code)


def _already_decided(approval: Approval) -> HTMLResponse:
    who = f" by {approval.responded_by}" if approval.responded_by else ""
    return _message("Already decided", f"This request is already {approval.status}{who}. Nothing was changed.", 409)


def _details(approval: Approval) -> str:
    parts = [f"<h1>{e(approval.title)}</h1>"]
    if approval.description:
        parts.append(f"<p style='white-space:pre-wrap'>{e(approval.description)}</p>")
    if approval.action_type or approval.action_data:
        parts.append("<h2>What will happen</h2>")
        if approval.action_type:
            parts.append(f"<p><strong>{e(approval.action_type)}</strong></p>")
        if approval.action_data:
            data = json.dumps(approval.action_data, indent=2, ensure_ascii=False, default=str, sort_keys=True)
            parts.append(f"<pre aria-label='Action data'>{e(data)}</pre>")
    if approval.expires_at:
        parts.append(f"<p>Decide before {e(approval.expires_at.strftime('%Y-%m-%d %H:%M UTC'))}.</p>")
    return "".join(parts)


def _source(channel: str | None) -> EventSource:
    known = CHANNELS.get(channel or "")
    return known.source if known else EventSource.API


@router.get("/approvals/respond/{token}", response_class=HTMLResponse, include_in_schema=False)
def show(token: str) -> HTMLResponse:
    """Show the request and the buttons; never decides."""
    try:
        delivery, approval, _recipient = links.check(token)
    except links.LinkError as err:
        return _link_error(err)
    if approval.status != ApprovalStatus.PENDING:
        return _already_decided(approval)
    return _request_page(delivery, approval)


def _request_page(
    delivery: Delivery,
    approval: Approval,
    *,
    submitted: dict[str, list[str]] | None = None,
    feedback: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The request with its form: prefilled on first view, or what was ``submitted`` with the ``errors``."""
    schema = approval.ui_schema or {}
    fields = ""
    if form_render.has_fields(schema):
        values = form_render.initial_values(schema, approval.action_data)
        fields = (
            "<fieldset style='border:0;padding:0;margin:0'><legend><h2 style='margin:0'>Your answer</h2></legend>"
            "<p><small>Change what needs changing, then approve; a reject ignores these fields.</small></p>"
            f"{form_render.render_fields(schema, values, errors=errors, submitted=submitted)}</fieldset>"
        )
    note = "Nothing was decided yet: correct the form and approve again."
    summary = form_render.error_summary(schema, errors, note=note)
    form = (
        "<form method='post'>"
        f"{fields}"
        "<p><label for='feedback'>Comment (optional)</label><br>"
        f"<textarea id='feedback' name='feedback' maxlength='{MAX_FEEDBACK_CHARS}'>{e(feedback)}</textarea></p>"
        "<button type='submit' name='decision' value='approve' class='approve'>Approve</button>"
        "<button type='submit' name='decision' value='reject' class='reject' formnovalidate>Reject</button>"
        "</form>"
        f"<p><small>Deciding as {e((delivery.meta or {}).get('user') or delivery.recipient)}. "
        "This link works once.</small></p>"
    )
    title = f"Please correct the form: {approval.title}" if errors else approval.title
    return _page(title, summary + _details(approval) + form, status)


async def _form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


@router.post("/approvals/respond/{token}", response_class=HTMLResponse, include_in_schema=False)
async def respond(token: str, request: Request) -> HTMLResponse:
    """Record the approver's decision from the page's form (``decision``, ``feedback``, and ``field.*``)."""
    form = await _form(request)
    decision = (form.get("decision") or [""])[0]
    raw_feedback = (form.get("feedback") or [""])[0]
    feedback = raw_feedback.strip() or None
    if decision not in ("approve", "reject"):
        return _message(
            "Choose Approve or Reject", "The form did not say approve or reject; go back and try again.", 400
        )
    if feedback is not None and len(feedback) > MAX_FEEDBACK_CHARS:
        text = f"The comment is longer than {MAX_FEEDBACK_CHARS} characters; shorten it and try again."
        return _message("Comment too long", text, 400)
    response_data: dict[str, Any] | None = None
    if decision == "approve":
        try:
            delivery, approval, _recipient = links.check(token)
        except links.LinkError:
            pass  # _decide refuses it, and logs the refusal
        else:
            schema = approval.ui_schema or {}
            if approval.status == ApprovalStatus.PENDING and form_render.has_fields(schema):
                response_data, errors = form_render.parse_form(schema, form)
                for field, problem in response_problems(schema, response_data).items():
                    errors.setdefault(field, problem)
                if errors:  # shown again to correct; the link stays unused
                    return _request_page(
                        delivery, approval, submitted=form, feedback=raw_feedback, errors=errors, status=422
                    )
    return _decide(token, decision, feedback, response_data)


def _decide(token: str, decision: str, feedback: str | None, response_data: dict[str, Any] | None) -> HTMLResponse:
    try:
        _delivery, approval, _recipient = links.check(token)
        if approval.status != ApprovalStatus.PENDING:
            return _already_decided(approval)
        delivery, approval, _recipient = links.redeem(token)
    except links.LinkError as err:
        if err.approval_id:
            approvals.record_event(
                err.approval_id,
                "decision.refused",
                {"reason": err.reason, "decision": decision},
                source=_source(err.channel),
            )
        return _link_error(err)
    user = _user(delivery)
    source = _source(delivery.channel)
    if user is None:
        approvals.record_event(approval.id, "decision.refused", {"reason": "approver no longer active"}, source=source)
        return _message("Not allowed", "The account this link was sent to is no longer active.", 403)
    try:
        decided = approvals.decide(
            approval.id,
            decision,  # type: ignore[arg-type]
            Decider(user, source),
            feedback=feedback,
            response_data=response_data,
        )
    except Conflict as err:
        return _message("Already decided", str(err), 409)
    except Forbidden as err:
        return _message("Not allowed", str(err), 403)
    except (InvalidInput, NotFound) as err:
        return _message("Could not record the decision", str(err), 400 if isinstance(err, InvalidInput) else 404)
    return _result(decided, decision)


def _user(delivery: Delivery) -> User | None:
    email: Any = (delivery.meta or {}).get("user")
    if not email:
        return None
    with session_scope() as session:
        return session.exec(select(User).where(User.email == email, col(User.active))).first()


def _result(approval: Approval, decision: str) -> HTMLResponse:
    if approval.status == ApprovalStatus.PENDING:
        text = "Your approval is recorded. The request needs more approvals before it goes ahead."
        return _message("Approval recorded", text, 200)
    verb = "approved" if decision == "approve" else "rejected"
    return _message(f"Request {verb}", f"Thank you: you {verb} “{approval.title}”. You can close this page.", 200)
