"""Runs paused on a Form or a Wait for Webhook node: their resume links, resuming, deadlines.

When a run pauses on one of these nodes, :func:`register_wait` (called by
``executions._finish``) makes a single-use signed token and stores, in the
run's frontier under ``"resume"`` (no table of its own), the token's SHA-256,
the kind, node, HTTP method, the node's wait data (the form), the expiry, a
``used`` flag and the URL. The URL is what the workflow's author hands out;
:func:`waiting_for` shows it with the waiting run (``GET /api/v1/executions/{id}``).
The URL is kept beside the hash so that people who can read the run can find
it; the hash is what is checked.

A token is ``<expiry, unix seconds in base 36 or 0>.<nonce>.<signature>``; the
signature is HMAC-SHA256, with a key derived from ``HITL_SECRET_KEY``, over
the run id, the kind, the expiry and the nonce. A token whose signature does
not check is *invalid* (404); a genuine one that is no longer the run's current
unused token is *used* (410); one past its expiry is *expired* (410).

:func:`resume_from_request` checks the token, marks it used (under a row lock
on PostgreSQL, ``SELECT ... FOR UPDATE``, and a process lock for SQLite, so one
caller wins) and queues ``executions.RESUME_JOB`` with the node's items, like
an approval decision does. The run resumes on the version it started on.

Deadline: with ``timeout_seconds`` a job (:func:`fire_timeout`) is booked for
the expiry; if the token is still unused then, the run **fails** with
"nobody submitted the form within N s" (or "nobody called the resume URL ...")
and, like any other failed run, starts its workflow's error workflow. A run
cancelled meanwhile is left alone.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from hitl_studio.auth.tokens import decode_expiry, encode_expiry, new_nonce, sign_fields, signature_matches, token_hash
from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import Execution
from hitl_studio.queue import get_queue
from hitl_studio.settings import get_settings
from nodes.sdk import Item

Kind = Literal["form", "webhook"]
KINDS: tuple[str, ...] = ("form", "webhook")
TIMEOUT_JOB = "hitl_studio.services.waits.fire_timeout"
PATHS = {"webhook": "/resume", "form": "/form"}
_PURPOSE = b"hitl-studio resume link v1"
_lock = threading.Lock()


class WaitLinkError(Exception):
    """A resume link that cannot be used; ``status_code`` is the HTTP answer, the message says why."""

    status_code = 400
    code = "invalid_link"


class InvalidWaitLink(WaitLinkError):
    status_code = 404
    code = "not_found"


class UsedWaitLink(WaitLinkError):
    status_code = 410
    code = "link_used"


class ExpiredWaitLink(WaitLinkError):
    status_code = 410
    code = "link_expired"


class WrongMethod(WaitLinkError):
    status_code = 405
    code = "method_not_allowed"


@dataclass(frozen=True)
class PausedWait:
    """A run waiting on a valid, unused link: what the pages and the resume need."""

    execution_id: str
    kind: str
    node: str
    method: str | None
    data: dict[str, Any]
    expires_at: datetime | None
    inputs: list[Item]


def timeout_job_id(execution_id: str) -> str:
    return f"wait-timeout-{execution_id}"


def make_token(execution_id: str, kind: str, expires_at: datetime | None) -> str:
    expiry = encode_expiry(expires_at)
    nonce = new_nonce()
    return f"{expiry}.{nonce}.{sign_fields(_PURPOSE, execution_id, kind, expiry, nonce)}"


def _verify_signature(execution_id: str, kind: str, token: str) -> datetime | None:
    """The token's expiry (``None`` for none) if its signature is genuine, under the current or a previous key."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidWaitLink("This link is not valid: check that it was copied whole.")
    expiry, nonce, signature = parts
    if not signature_matches(_PURPOSE, signature, execution_id, kind, expiry, nonce):
        raise InvalidWaitLink("This link is not valid: check that it was copied whole.")
    try:
        return decode_expiry(expiry)
    except ValueError as err:
        raise InvalidWaitLink("This link is not valid: check that it was copied whole.") from err


def resume_url(execution_id: str, token: str, kind: str = "webhook") -> str:
    """The public URL of a resume link: ``/resume/...`` for webhooks, ``/form/...`` for forms."""
    return f"{get_settings().api_url}{PATHS[kind]}/{execution_id}/{token}"


def register_wait(execution: Execution, graph: Any, result: Any) -> None:
    """Make the resume link of a run that just paused on a Form or Wait for Webhook node, and book its deadline.

    ``graph`` is the run's ``WorkflowGraph`` and ``result`` its ``RunResult``; does nothing if the run
    is no longer waiting (cancelled meanwhile).
    """
    wait = result.wait
    if wait is None or wait.kind not in KINDS:
        return
    data = dict(wait.data or {})
    timeout = data.get("timeout_seconds")
    now = utcnow()
    expires_at = now + timedelta(seconds=int(timeout)) if timeout else None
    token = make_token(execution.id, wait.kind, expires_at)
    url = resume_url(execution.id, token, wait.kind)
    resume = {
        "token_sha256": token_hash(token),
        "kind": wait.kind,
        "node": result.waiting_node,
        "method": data.get("method") if wait.kind == "webhook" else None,
        "data": data,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "used": False,
        "url": url,
        "created_at": now.isoformat(),
    }
    with session_scope() as session:
        current = session.get(Execution, execution.id)
        if current is None or current.status != RunStatus.WAITING or not current.frontier:
            return
        frontier = {**current.frontier, "resume": resume}
        changed = session.execute(
            update(Execution)
            .where(col(Execution.id) == execution.id, col(Execution.status) == RunStatus.WAITING.value)
            .values(frontier=frontier)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return
    execution.frontier = frontier
    if expires_at is not None:
        get_queue().enqueue_at(
            expires_at, TIMEOUT_JOB, execution.id, resume["token_sha256"], job_id=timeout_job_id(execution.id)
        )


def waiting_for(execution: Execution) -> dict[str, Any] | None:
    """What a waiting run waits for, for the API: kind, node, the resume URL and its expiry (else ``None``)."""
    if execution.status != RunStatus.WAITING or not execution.frontier:
        return None
    resume = execution.frontier.get("resume")
    if not isinstance(resume, Mapping) or resume.get("used"):
        return None
    return {
        "kind": resume.get("kind"),
        "node": resume.get("node"),
        "method": resume.get("method"),
        "resume_url": resume.get("url"),
        "expires_at": resume.get("expires_at"),
    }


def _locked(session: Session, execution_id: str) -> Execution | None:
    return session.exec(select(Execution).where(Execution.id == execution_id).with_for_update()).first()


def _current(session: Session, execution_id: str, token: str, kind: str) -> tuple[Execution, dict[str, Any]]:
    """The run and its ``resume`` entry if ``token`` is its current unused token.

    Raises:
        InvalidWaitLink: Forged or malformed, or no such run.
        UsedWaitLink: Genuine, but already used (or the run no longer waits on it).
        ExpiredWaitLink: Past its deadline.
    """
    expires_at = _verify_signature(execution_id, kind, token)
    execution = _locked(session, execution_id)
    if execution is None:
        raise InvalidWaitLink("This link is not valid: the run it belongs to does not exist.")
    resume = (execution.frontier or {}).get("resume") if execution.status == RunStatus.WAITING else None
    if expires_at is not None and utcnow() >= expires_at:
        raise ExpiredWaitLink("This link has expired.")
    if not isinstance(resume, Mapping) or resume.get("token_sha256") != token_hash(token) or resume.get("used"):
        raise UsedWaitLink("This link was already used, or the run no longer waits for it.")
    return execution, dict(resume)


def check(execution_id: str, token: str, kind: str) -> PausedWait:
    """The paused run ``token`` resumes, without using the token (for showing the form).

    Raises:
        WaitLinkError: See :func:`_current`.
    """
    with session_scope() as session:
        execution, resume = _current(session, execution_id, token, kind)
    return _paused(execution, resume)


def _paused(execution: Execution, resume: Mapping[str, Any]) -> PausedWait:
    paused = (execution.frontier or {}).get("paused", {})
    raw_expiry = resume.get("expires_at")
    return PausedWait(
        execution_id=execution.id,
        kind=str(resume.get("kind")),
        node=str(resume.get("node")),
        method=resume.get("method"),
        data=dict(resume.get("data") or {}),
        expires_at=datetime.fromisoformat(raw_expiry) if raw_expiry else None,
        inputs=[Item.from_dict(item) for item in (paused.get("inputs") or [[]])[0]],
    )


def resume_from_request(
    execution_id: str, token: str, kind: str, payload: Mapping[str, Any], *, method: str | None = None
) -> PausedWait:
    """Use ``token`` once and queue the resume of its run with ``payload`` as the node's result.

    ``payload`` is ``{"headers", "query", "body"}`` (and optional ``"binary"``) for a webhook, the
    validated form fields for a form. ``method``, for webhooks, is the request's HTTP method.

    Raises:
        WaitLinkError: Invalid (404), used or expired (410) link, or the wrong method (405, link unused).
    """
    from hitl_studio.services import executions
    from nodes.human import form, wait_for_webhook

    with _lock, session_scope() as session:
        execution, resume = _current(session, execution_id, token, kind)
        if kind == "webhook" and method is not None and resume.get("method") and method != resume["method"]:
            raise WrongMethod(f"This resume URL accepts {resume['method']}, not {method}.")
        frontier = {**(execution.frontier or {}), "resume": {**resume, "used": True, "used_at": utcnow().isoformat()}}
        changed = session.execute(
            update(Execution)
            .where(col(Execution.id) == execution_id, col(Execution.status) == RunStatus.WAITING.value)
            .values(frontier=frontier)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise UsedWaitLink("This link was already used, or the run no longer waits for it.")
        paused = _paused(execution, resume)
    if kind == "webhook":
        items = wait_for_webhook.resume_items(paused.inputs, payload, payload.get("binary"))
    else:
        items = form.resume_items(paused.inputs, payload, utcnow().isoformat())
    get_queue().cancel(timeout_job_id(execution_id))
    outputs = [[item.to_dict() for item in items]]
    get_queue().enqueue(executions.RESUME_JOB, execution_id, outputs, job_id=executions.resume_job_id(execution_id))
    return paused


def fire_timeout(execution_id: str, token_sha256: str) -> str | None:
    """The job at a link's deadline: fail the run if it still waits on that unused link, then start its error workflow.

    Returns:
        ``"failed"``, or None when the run had already moved on (answered, cancelled, or a stale job).
    """
    from hitl_studio.services import executions

    with _lock, session_scope() as session:
        execution = _locked(session, execution_id)
        if execution is None or execution.status != RunStatus.WAITING:
            return None
        resume = (execution.frontier or {}).get("resume")
        if not isinstance(resume, Mapping) or resume.get("token_sha256") != token_sha256 or resume.get("used"):
            return None
        seconds = (resume.get("data") or {}).get("timeout_seconds")
        what = "submitted the form" if resume.get("kind") == "form" else "called the resume URL"
        error = {"node": resume.get("node"), "message": f"nobody {what} within {seconds} s"}
        failed = executions.transition(
            session,
            execution,
            RunStatus.FAILED,
            data={"error": error},
            error=error,
            finished_at=utcnow(),
            frontier=None,
        )
    if not failed:
        return None
    # After the commit, so the error workflow's run reads this one as failed.
    executions.start_error_workflow(execution_id)
    return RunStatus.FAILED.value
