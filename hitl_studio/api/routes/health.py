"""Liveness for load balancers and ``make run``: is the database reachable, is the queue?"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from hitl_studio.db import check_database
from hitl_studio.queue import get_queue
from hitl_studio.settings import get_settings

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


def _status() -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"status": "ok", "version": get_settings().version}
    try:
        check_database()
        body["database"] = "ok"
    except Exception as err:
        logger.warning("health: database check failed: %s", err)
        body["database"] = f"error: {type(err).__name__}"
    try:
        body["queue"] = get_queue().health()
    except Exception as err:
        logger.warning("health: queue check failed: %s", err)
        body["queue"] = f"error: {err}"
    healthy = body["database"] == "ok" and body["queue"] in ("ok", "embedded")
    if not healthy:
        body["status"] = "error"
    return (200 if healthy else 503), body


@router.get("/health", summary="Health of the studio, its database and its queue")
async def health() -> JSONResponse:
    status_code, body = await run_in_threadpool(_status)
    return JSONResponse(body, status_code)
