"""Errors services raise; the API maps each to one HTTP status, the UI shows ``message``."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class. ``message`` is written for the person who has to act on it."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, str] | None = None,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        self.problems = problems or []


class InvalidInput(ServiceError):
    """Input is wrong: ``field_errors`` maps each field to its problem; ``problems`` lists
    problems that are not about one field (each workflow node's, say: ``{"node", "parameter", "message"}``)."""

    status_code = 422
    code = "invalid_input"


class NotAuthenticated(ServiceError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Throttled(ServiceError):
    """Too many attempts; ``retry_after`` is in seconds."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
