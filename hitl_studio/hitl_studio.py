"""The Reflex app: pages, theme, and the HTTP API mounted through ``api_transformer``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

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
app.add_page(_home, route="/", title="HITL Studio", on_load=SessionState.go_home)
app.add_page(login.login_page, route=login.ROUTE, title="Sign in · HITL Studio", on_load=login.LoginState.load)
app.add_page(users.users_page, route=users.ROUTE, title="Users · HITL Studio", on_load=users.UsersState.load)
app.add_page(
    api_keys.api_keys_page, route=api_keys.ROUTE, title="API keys · HITL Studio", on_load=api_keys.ApiKeysState.load
)
app.add_page(
    editor.editor_page, route=editor.ROUTE, title="Workflow editor · HITL Studio", on_load=editor.EditorState.load
)
app.add_page(
    credentials.credentials_page,
    route=credentials.ROUTE,
    title="Credentials · HITL Studio",
    on_load=credentials.CredentialsState.load,
)
app.add_page(audit.audit_page, route=audit.ROUTE, title="Audit log · HITL Studio", on_load=audit.AuditState.load)
# Imported under another name: ``settings`` is the studio's configuration here.
app.add_page(
    settings_screen.settings_page,
    route=settings_screen.ROUTE,
    title="Settings · HITL Studio",
    on_load=settings_screen.SettingsState.load,
)
app.add_page(
    workflows.workflows_page,
    route=workflows.ROUTE,
    title="Workflows · HITL Studio",
    on_load=workflows.WorkflowsState.load,
)
app.add_page(
    executions.executions_page,
    route=executions.ROUTE,
    title="Executions · HITL Studio",
    on_load=executions.ExecutionsState.load,
)
app.add_page(
    execution_detail.execution_detail_page,
    route=execution_detail.ROUTE,
    title="Run · HITL Studio",
    on_load=execution_detail.ExecutionDetailState.load,
)
app.add_page(
    approvals.approvals_page,
    route=approvals.ROUTE,
    title="Approvals · HITL Studio",
    on_load=approvals.ApprovalsState.load,
)
app.add_page(
    approval_detail.approval_detail_page,
    route=approval_detail.ROUTE,
    title="Approval request · HITL Studio",
    on_load=approval_detail.ApprovalDetailState.load,
)
