"""Running one Google API request (its errors as NodeErrors naming the item and what to do), and shared parameters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httplib2
from google.auth.exceptions import GoogleAuthError
from googleapiclient.errors import HttpError

from nodes.google.credentials import GoogleServiceAccountFields, sign_in_error
from nodes.sdk import NodeError

HINTS = {
    400: "Check the node's parameters (ranges look like Sheet1!A1:C10).",
    401: "Google did not accept the sign-in: check the service account key.",
    403: "Share the spreadsheet, file or folder with the service account's client_email, and enable the API "
    "in its Google Cloud project.",
    404: "Check the id, and that it is shared with the service account's client_email.",
    429: "Google is limiting requests: slow the workflow down or retry later.",
}
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
"""Reasons of a 403 that is Google limiting requests, not refusing access."""


def listed(value: Any) -> Any:
    """A list parameter typed as text (``INBOX, Label_3``) or given as a list, as a list of non-empty entries."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def _error(err: HttpError) -> dict[str, Any]:
    """Google's ``{"error": {"code", "message", "status", "errors": [...]}}``, or ``{}`` for another body."""
    try:
        data = json.loads(err.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _detail(err: HttpError) -> str:
    message = _error(err).get("message")
    return str(message) if message else str(err.reason or "")


def _rate_limited(err: HttpError) -> bool:
    reasons = {entry.get("reason") for entry in _error(err).get("errors") or [] if isinstance(entry, dict)}
    return bool(reasons & RATE_LIMIT_REASONS)


def execute(
    request: Any,
    fields: GoogleServiceAccountFields,
    action: str,
    item_index: int | None,
    hints: Mapping[int, str] | None = None,
) -> Any:
    """``request.execute()``, with Google's refusals and network failures as a :class:`NodeError`.

    Args:
        request: A request of a discovery client (from :func:`nodes.google.credentials.google_service`).
        fields: The credential it is signed in with.
        action: What the request does, for the message ("reading file X").
        item_index: The item it is for.
        hints: What to do, by HTTP status, where an API's advice differs from the Sheets and Drive one.

    Raises:
        NodeError: With the HTTP status and Google's message and what to do; never the key.
    """
    prefix = f"item {item_index}: " if item_index is not None else ""
    if fields.api_root_url:
        # googleapiclient moves upload URLs to a custom endpoint's host but keeps their https scheme.
        scheme = urlsplit(fields.api_root_url).scheme
        request.uri = urlunsplit(urlsplit(request.uri)._replace(scheme=scheme))
    try:
        return request.execute(num_retries=1)
    except HttpError as err:
        status = int(err.resp.status)
        advice = {**HINTS, **(hints or {})}
        if status == 403 and _rate_limited(err):
            hint = advice[429]
        else:
            hint = advice.get(
                status, "The server is failing: retry later." if status >= 500 else "See Google's message."
            )
        raise NodeError(
            f"{prefix}Google refused {action} ({status}): {_detail(err)}", description=hint, item_index=item_index
        ) from err
    except GoogleAuthError as err:
        raise sign_in_error(fields, err, item_index) from err
    except (OSError, httplib2.HttpLib2Error) as err:
        raise NodeError(
            f"{prefix}{action} failed: Google could not be reached ({type(err).__name__}: {err})",
            description="Check the network (and the credential's API root URL, if set), then retry.",
            item_index=item_index,
        ) from err
