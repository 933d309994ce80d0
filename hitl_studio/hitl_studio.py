"""The Reflex app: pages, theme, and the HTTP API mounted through ``api_transformer``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import reflex as rx

from hitl_studio.api.app import create_app
from hitl_studio.queue import get_queue, reset_queue
from hitl_studio.services.reconciler import PeriodicReconciler
from hitl_studio.startup import bootstrap_admin, configure_logging, settings_or_exit
from hitl_studio.ui.pages import (
    api_keys,
    approval_detail,
    approvals,
    audit,
    credentials,
    editor,
    execution_detail,
    executions,
    login,
    users,
    workflows,
)
from hitl_studio.ui.pages import settings as settings_screen
from hitl_studio.ui.state.session import SessionState

settings = settings_or_exit()
configure_logging(settings)
logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def studio_lifespan() -> AsyncIterator[None]:
    """Create the first admin and start the embedded queue while the backend runs."""
    await asyncio.to_thread(bootstrap_admin, settings)
    queue = get_queue()
    queue.start()
    logger.info("queue: %s", "embedded workers" if settings.embedded else "RQ on Redis")
    # In queue mode the scheduler process reconciles; embedded, the studio is the only one who can.
    reconciler = PeriodicReconciler() if settings.embedded else None
    if reconciler is not None:
        reconciler.start()
    try:
        yield
    finally:
        if reconciler is not None:
            reconciler.stop()
        await asyncio.to_thread(reset_queue)


def _home() -> rx.Component:
    return rx.center(rx.spinner(size="3"), height="100vh")


app = rx.App(
    api_transformer=create_app(),
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
)
app.register_lifespan_task(studio_lifespan)
# (page, route, title, on_load): one row per screen of the studio.
PAGES: list[tuple[Callable[[], rx.Component], str, str, Any]] = [
    (_home, "/", "HITL Studio", SessionState.go_home),
    (login.login_page, login.ROUTE, "Sign in", login.LoginState.load),
    (workflows.workflows_page, workflows.ROUTE, "Workflows", workflows.WorkflowsState.load),
    (editor.editor_page, editor.ROUTE, "Workflow editor", editor.EditorState.load),
    (executions.executions_page, executions.ROUTE, "Executions", executions.ExecutionsState.load),
    (execution_detail.execution_detail_page, execution_detail.ROUTE, "Run", execution_detail.ExecutionDetailState.load),
    (approvals.approvals_page, approvals.ROUTE, "Approvals", approvals.ApprovalsState.load),
    (
        approval_detail.approval_detail_page,
        approval_detail.ROUTE,
        "Approval request",
        approval_detail.ApprovalDetailState.load,
    ),
    (credentials.credentials_page, credentials.ROUTE, "Credentials", credentials.CredentialsState.load),
    (users.users_page, users.ROUTE, "Users", users.UsersState.load),
    (api_keys.api_keys_page, api_keys.ROUTE, "API keys", api_keys.ApiKeysState.load),
    (audit.audit_page, audit.ROUTE, "Audit log", audit.AuditState.load),
    # Imported under another name: ``settings`` is the studio's configuration here.
    (settings_screen.settings_page, settings_screen.ROUTE, "Settings", settings_screen.SettingsState.load),
]
for page, route, title, on_load in PAGES:
    app.add_page(page, route=route, title=title if route == "/" else f"{title} · HITL Studio", on_load=on_load)
