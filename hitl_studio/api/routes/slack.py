"""Slack's interactivity callback: an approver pressed Approve or Reject in a Slack message.

``POST /integrations/slack/interactions`` (under ``/api/v1``) has no studio
authentication: Slack calls it, and its request signature is the proof. The
raw body must carry a valid ``X-Slack-Signature`` (``v0=`` HMAC-SHA256 of
``v0:<timestamp>:<body>`` with the app's signing secret) and a
``X-Slack-Request-Timestamp`` within five minutes, else 401. The Slack user who
clicked must be a studio user (``user.slack_user_id``); the button's value is the
delivery's signed token. Slack wants an answer within three seconds, so the
decision is recorded and answered at once, and the message update runs after
the response.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier
from sqlmodel import col, select

from hitl_studio.api.errors import error_body
from hitl_studio.channels import links, slack
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus, EventSource
from hitl_studio.models.users import User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import Decider
from hitl_studio.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from hitl_studio.settings import get_settings

router = APIRouter(prefix="/integrations/slack", tags=["integrations"])
logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_CLOCK_SKEW_SECONDS = 5 * 60
RESPONSE_URL_TIMEOUT = 5.0
SLACK_HOOKS = "https://hooks.slack.com/"


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse(error_body("unauthorized", message), 401)


def _verify(body: bytes, timestamp: str | None, signature: str | None) -> str | None:
    """Why the request is not from Slack, or None when its signature and timestamp are good."""
    secret = get_settings().slack.signing_secret
    if not secret:
        return "Slack is not configured on this studio (SLACK_SIGNING_SECRET is not set)."
    if not timestamp or not signature:
        return "The request is not signed by Slack: X-Slack-Signature and X-Slack-Request-Timestamp are required."
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a Unix time."
    if abs(time.time() - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        return "X-Slack-Request-Timestamp is more than five minutes away from now; the request may be replayed."
    if not SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature):
        return "X-Slack-Signature does not match the request: it was not signed with this app's signing secret."
    return None


def _reply(text: str) -> dict[str, Any]:
    """An ephemeral answer for the person who clicked (Slack shows it only to them via ``response_url``)."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _response_url_allowed(url: str) -> bool:
    if url.startswith(SLACK_HOOKS):
        return True
    api = urlsplit(get_settings().slack.api_url)
    target = urlsplit(url)
    return target.scheme in ("http", "https") and (target.scheme, target.netloc) == (api.scheme, api.netloc)


def _post_reply(response_url: str | None, reply: dict[str, Any]) -> None:
    """Show ``reply`` to the clicker through the interaction's ``response_url`` (best effort)."""
    if not response_url or not _response_url_allowed(response_url):
        return
    try:
        httpx.post(response_url, json=reply, timeout=RESPONSE_URL_TIMEOUT)
    except httpx.HTTPError as err:
        logger.warning("could not answer Slack's response_url: %s", err)


def _studio_user(slack_user_id: str) -> User | None:
    if not slack_user_id:
        return None
    with session_scope() as session:
        return session.exec(select(User).where(User.slack_user_id == slack_user_id, col(User.active))).first()


def _current(approval_id: str) -> Approval | None:
    with session_scope() as session:
        return session.get(Approval, approval_id)


def _already(approval: Approval | None) -> str:
    if approval is None:
        return "This request no longer exists."
    outcome = slack.outcome_text(approval)
    return f"This request was already decided: {outcome}. Nothing was changed."


def _payload(body: bytes) -> dict[str, Any] | None:
    fields = parse_qs(body.decode("utf-8", "replace"))
    raw = (fields.get("payload") or [""])[0]
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _decision_action(payload: dict[str, Any]) -> dict[str, Any] | None:
    for action in payload.get("actions") or []:
        if isinstance(action, dict) and action.get("action_id") in slack.DECISION_ACTIONS:
            return action
    return None


def _handle(payload: dict[str, Any], tasks: BackgroundTasks) -> dict[str, Any]:
    action = _decision_action(payload)
    if action is None:
        return {}  # the "Open in studio" link button, or an interaction this app does not use: acknowledge
    decision = slack.DECISION_ACTIONS[action["action_id"]]
    slack_user_id = str((payload.get("user") or {}).get("id") or "")
    try:
        _delivery, approval, _recipient = links.check(str(action.get("value") or ""))
    except links.LinkError as err:
        if err.approval_id:
            data = {"reason": err.reason, "decision": decision, "slack_user_id": slack_user_id}
            approvals.record_event(err.approval_id, "decision.refused", data, source=EventSource.SLACK)
        return _reply(f"{err} Nothing was decided.")
    user = _studio_user(slack_user_id)
    if user is None:
        data = {"reason": "unknown Slack user", "decision": decision, "slack_user_id": slack_user_id}
        approvals.record_event(approval.id, "decision.refused", data, source=EventSource.SLACK)
        return _reply(
            "Your Slack account is not linked to an active HITL Studio user, so your click was not recorded. "
            "Ask an admin to add your Slack user id to your studio profile."
        )
    try:
        decided = approvals.decide(approval.id, decision, Decider(user, EventSource.SLACK))  # type: ignore[arg-type]
    except Conflict as err:
        current = _current(approval.id)
        if current is not None and current.status != ApprovalStatus.PENDING:
            tasks.add_task(slack.show_decided, current)
            return _reply(_already(current))
        return _reply(f"{err.message} Nothing was changed.")
    except (Forbidden, InvalidInput, NotFound) as err:
        return _reply(f"{err.message} Nothing was decided.")
    if decided.status == ApprovalStatus.PENDING:
        return _reply("Your approval is recorded. The request needs more approvals before it goes ahead.")
    # The message itself is updated by the decision's own hook (services.deliveries), for every channel's decision.
    verb = "approved" if decision == "approve" else "rejected"
    return _reply(f"You {verb} “{decided.title}”.")


@router.post("/interactions", summary="Slack's callback for the Approve / Reject buttons (signed by Slack)")
async def interactions(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    """Verify Slack's signature, record the decision, answer at once; the message is updated afterwards."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse(error_body("bad_request", "The request body is too large."), 413)
    problem = _verify(body, request.headers.get("x-slack-request-timestamp"), request.headers.get("x-slack-signature"))
    if problem:
        return _unauthorized(problem)
    payload = _payload(body)
    if payload is None:
        return JSONResponse(error_body("bad_request", "The form field 'payload' is not a JSON object."), 400)
    if payload.get("type") != "block_actions":
        return JSONResponse({})
    # Sync work (database, Slack) runs in the thread pool, never on the event loop.
    reply = await run_in_threadpool(_handle, payload, tasks)
    if reply:
        tasks.add_task(_post_reply, payload.get("response_url"), reply)
    return JSONResponse(reply)
