"""Calling the Dropbox API v2: RPC calls on the API host, uploads and downloads on the content host.

Dropbox answers 400 with plain text when a request is malformed, 401 for the
token, 409 with ``{"error_summary", "error": {".tag"}}`` when the endpoint
refuses (``path/not_found/..``), 429 when rate limited; each becomes a NodeError
saying what to do.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.dropbox.credentials import DropboxApiCredential, DropboxApiFields
from nodes.sdk import NodeError

TRANSFER_TIMEOUT_SECONDS = 300.0
"""Uploads and downloads of large files take longer than an RPC call."""
AUTH_HINTS = {
    "invalid_access_token": "The access token is wrong or was revoked: generate a new one in the App Console and "
    "paste it into the credential.",
    "expired_access_token": "The access token has expired (short-lived tokens last four hours): generate a new one "
    "in the App Console and paste it into the credential.",
}
SCOPE_STEPS = (
    "tick it under Permissions in the App Console, then generate a new access token (old tokens keep their old scopes)."
)
CONFLICT_HINTS = {
    "not_found": ("nothing is at that path", "Check the path (it starts with /, from the Dropbox's root) or the id."),
    "not_file": ("that path is a folder, not a file", "Point the node at a file."),
    "not_folder": ("that path is a file, not a folder", "Point the node at a folder."),
    "conflict": (
        "something is already at that path",
        "Pick another path, turn on Autorename, or (upload) use the overwrite mode.",
    ),
    "insufficient_space": ("the Dropbox is full", "Free some space in the Dropbox, then retry."),
    "malformed_path": ("the path is malformed", "Write the path as /Folder/file.ext, without a trailing slash."),
    "disallowed_name": (
        "Dropbox does not allow that name",
        "Rename the file: Dropbox refuses names such as .ds_store.",
    ),
    "restricted_content": (
        "the file's content is restricted (it may be copyright-protected)",
        "Dropbox will not serve or move this file; use another one.",
    ),
    "unsupported_file": (
        "the file cannot be downloaded as a file (a Paper doc or a Google file)",
        "Export it first, or point the node at an ordinary file.",
    ),
    "too_many_write_operations": (
        "too many changes are being made to the Dropbox at once",
        "Retry the node in a moment, or slow the workflow down.",
    ),
    "cant_move_folder_into_itself": ("a folder cannot go inside itself", "Pick a destination outside the folder."),
    "duplicated_or_nested_paths": ("the source and destination overlap", "Pick a destination outside the source."),
    "email_not_verified": (
        "the account's email address is not verified",
        "Verify the account's email address in Dropbox first.",
    ),
    "reset": ("the listing's cursor expired", "Run the node again to list from the start."),
}


def _tags(summary: str) -> list[str]:
    """``path/not_found/...`` as ``["path", "not_found"]`` (Dropbox pads summaries with dots)."""
    return [part for part in summary.split("/") if part.strip(".")]


def _api_arg(arg: Any) -> str:
    # Header values must be ASCII: json.dumps escapes every other character as \uXXXX, as Dropbox asks.
    return json.dumps(arg, ensure_ascii=True)


class DropboxClient(RestClient[DropboxApiFields]):
    """A client signed in with the credential's token; use it as a context manager.

    Every call is a POST to a full URL on the API host (RPC) or the content host (uploads, downloads).
    """

    service = "Dropbox"
    credential_type = DropboxApiCredential
    unreachable_hint = "Check the credential's API and content URLs and the network, then retry."
    not_json_hint = "Check the credential's API URL: it must be Dropbox's API host."
    empty_is_json = False

    def connect(self, fields: DropboxApiFields) -> Connection:
        self._api = fields.api_url
        self._content = fields.content_url
        return Connection(
            base_url="",
            headers={"Authorization": f"Bearer {fields.access_token}"},
            secrets=(fields.access_token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Dropbox's error summary and tag: a refused token, a rate limit, or what a 409 names."""
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # 400s come as text: "Error in call to API function "files/upload": ...".
            text = response.text.strip()[:300] or response.reason_phrase
            hint = (
                "Dropbox is failing: retry later."
                if status >= 500
                else "Check the paths and values sent; Dropbox names what it could not read."
            )
            return self.error(f"Dropbox refused {action} ({status}): {text}", hint, item_index)
        summary = str(data.get("error_summary") or "").strip()
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        tags = _tags(summary)
        tag = str(error.get(".tag") or (tags[0] if tags else ""))
        label = f"{status} {'/'.join(tags)}" if tags else str(status)
        if status == 401:
            if tag == "missing_scope":
                scope = f"the {error['required_scope']}" if error.get("required_scope") else "a"
                hint = f"The app lacks {scope} permission: {SCOPE_STEPS}"
            else:
                hint = AUTH_HINTS.get(tag, AUTH_HINTS["invalid_access_token"])
            text = f"Dropbox did not accept the access token while {action} ({label})"
        elif status == 429:
            wait = error.get("retry_after") or response.headers.get("retry-after")
            after = f"wait {wait} seconds" if wait else "wait a while"
            text = f"Dropbox is limiting requests and refused {action} ({label})"
            hint = f"{after.capitalize()} and retry, or slow the workflow down (Loop Over Items with a Wait)."
        elif status == 409:
            known = next((CONFLICT_HINTS[part] for part in reversed(tags) if part in CONFLICT_HINTS), None)
            reason, hint = known or ("see Dropbox's error", "Change what Dropbox's error names, then retry.")
            text = f"Dropbox refused {action} ({label}): {reason}"
        else:
            text = f"Dropbox refused {action} ({label})"
            hint = "Dropbox is failing: retry later." if status >= 500 else "See Dropbox's error."
        return self.error(text, hint, item_index)

    def _json(self, response: httpx.Response, action: str, item_index: int | None) -> dict[str, Any]:
        data = self.decode(response, action, item_index)
        return data if isinstance(data, dict) else {"result": data}

    def rpc(self, endpoint: str, args: Any, action: str, *, item_index: int | None = None) -> dict[str, Any]:
        """Call an RPC endpoint (``files/list_folder``...) on the API host with JSON arguments.

        Args:
            endpoint: After ``/2/``.
            args: The JSON arguments; ``None`` for an endpoint that takes none (sent without a body).
            action: What the call does, for the message: ``listing /Reports``.
            item_index: The input item the call is for, named in the error.

        Raises:
            NodeError: With Dropbox's status, error summary and what to do; never the token.
        """
        url = f"{self._api}/2/{endpoint}"
        options: dict[str, Any] = {} if args is None else {"json": args}
        return self._json(self.send("POST", url, action, item_index=item_index, **options), action, item_index)

    def upload(
        self, endpoint: str, arg: Any, data: bytes, action: str, *, item_index: int | None = None
    ) -> dict[str, Any]:
        """Send ``data`` to a content-upload endpoint (``files/upload``), its arguments in ``Dropbox-API-Arg``.

        Raises:
            NodeError: As :meth:`rpc`.
        """
        headers = {"Dropbox-API-Arg": _api_arg(arg), "Content-Type": "application/octet-stream"}
        response = self.send(
            "POST",
            f"{self._content}/2/{endpoint}",
            action,
            item_index=item_index,
            content=data,
            headers=headers,
            timeout=TRANSFER_TIMEOUT_SECONDS,
        )
        return self._json(response, action, item_index)

    def download(
        self, endpoint: str, arg: Any, action: str, *, item_index: int | None = None
    ) -> tuple[bytes, dict[str, Any]]:
        """The bytes from a content-download endpoint (``files/download``) and the metadata of its
        ``Dropbox-API-Result`` header.

        Raises:
            NodeError: As :meth:`rpc`, or when the result header is missing.
        """
        response = self.send(
            "POST",
            f"{self._content}/2/{endpoint}",
            action,
            item_index=item_index,
            headers={"Dropbox-API-Arg": _api_arg(arg)},
            timeout=TRANSFER_TIMEOUT_SECONDS,
        )
        try:
            metadata = json.loads(response.headers.get("dropbox-api-result", ""))
        except ValueError as err:
            raise self.error(
                f"{action}: Dropbox sent the file without its Dropbox-API-Result header",
                "Check the credential's content URL: it must be Dropbox's content host.",
                item_index,
            ) from err
        return response.content, metadata if isinstance(metadata, dict) else {}
