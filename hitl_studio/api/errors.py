"""One JSON error shape for every failure: ``{"error": {"code", "message", "fields"}}``.

Clients (agents, scripts, our tests) branch on ``code`` and show ``message``;
``fields`` maps a request field to what is wrong with it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hitl_studio.services.errors import ServiceError, Throttled

logger = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def error_body(
    code: str, message: str, fields: dict[str, str] | None = None, problems: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    if problems:
        error["problems"] = problems
    return {"error": error}


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
    if exc.status_code == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    body = error_body(exc.code, exc.message, exc.field_errors, exc.problems)
    return JSONResponse(body, exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = {_field_name(tuple(err.get("loc", ()))): str(err.get("msg", "invalid")) for err in exc.errors()}
    summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
    return JSONResponse(error_body("invalid_input", f"The request is not valid: {summary}", fields), 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "The studio hit an unexpected error; it has been logged. Try again, or tell your admin."
    return JSONResponse(error_body("internal_error", message), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
