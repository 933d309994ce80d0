"""The FastAPI application: every route lives under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from hitl_studio import __version__
from hitl_studio.api import respond_page, resume_routes, webhooks
from hitl_studio.api.errors import install_error_handlers
from hitl_studio.api.routes import (
    api_keys,
    approvals,
    audit,
    auth,
    credentials,
    executions,
    groups,
    health,
    me,
    nodes,
    oauth,
    slack,
    users,
    webhooks_out,
    workflows,
)

API_PREFIX = "/api/v1"


def create_app() -> FastAPI:
    """Build the API app; Reflex mounts it in front of its own backend routes."""
    app = FastAPI(
        title="HITL Studio API",
        version=__version__,
        description="Workflows, runs and human approvals. Authenticate with `Authorization: Bearer <API key>`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (
        health,
        me,
        auth,
        users,
        groups,
        api_keys,
        nodes,
        workflows,
        executions,
        credentials,
        oauth,
        approvals,
        webhooks_out,
        slack,
        audit,
    ):
        v1.include_router(module.router)
    # Webhooks first: they are the hot path, and routing tries every route in order (behind the
    # ~100 API routes, matching alone took a sixth of the API's CPU time per webhook call).
    app.include_router(webhooks.router)
    app.include_router(v1)
    app.include_router(respond_page.router)
    app.include_router(resume_routes.router)
    return app
