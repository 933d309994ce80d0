"""Running one Google API request: its errors as NodeErrors naming the item and what to do."""

from __future__ import annotations

import json
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


def _detail(err: HttpError) -> str:
    try:
        data = json.loads(err.content.decode("utf-8", "replace"))
        message = data.get("error", {}).get("message")
        if message:
            return str(message)
    except (ValueError, AttributeError):
        pass
    return str(err.reason or "")


def execute(request: Any, fields: GoogleServiceAccountFields, action: str, item_index: int | None) -> Any:
    """``request.execute()``, with Google's refusals and network failures as a :class:`NodeError`.

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
        hint = HINTS.get(status, "The server is failing: retry later." if status >= 500 else "See Google's message.")
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
