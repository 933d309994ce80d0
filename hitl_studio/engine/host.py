"""What the engine needs from the world around it, as one small interface.

The engine itself touches no database, queue or network. The studio's
services implement :class:`Host` (credentials from the encrypted store, files
in the file store, sub-workflows through the execution service); tests and
benchmarks use :class:`LocalHost`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from nodes.sdk import Item, NodeError


class Host(Protocol):
    def credential(self, node_name: str, selection: Mapping[str, Any], type_id: str) -> dict[str, Any]:
        """Decrypt the credential selected on a node (``selection`` is its ``credentials[type_id]``)."""
        ...

    def store_binary(self, data: bytes, *, file_name: str, mime_type: str) -> dict[str, Any]: ...

    def read_binary(self, reference: Mapping[str, Any]) -> bytes: ...

    def run_workflow(self, workflow_id: str, items: list[Item], *, parent_execution_id: str) -> list[Item]: ...

    def env(self) -> Mapping[str, str]:
        """The environment variables expressions may read as ``$env`` (an allow-list)."""
        ...


class LocalHost:
    """An in-memory host: files in a dict, credentials given up front, sub-workflows by callback."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, dict[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        workflows: Callable[[str, list[Item]], list[Item]] | None = None,
    ) -> None:
        self._credentials = dict(credentials or {})
        self._env = dict(env or {})
        self._workflows = workflows
        self._files: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def credential(self, node_name: str, selection: Mapping[str, Any], type_id: str) -> dict[str, Any]:
        key = str(selection.get("id", type_id)) if selection else type_id
        if key not in self._credentials:
            raise NodeError(f"no {type_id} credential is selected", description="Pick one in the node's settings.")
        return dict(self._credentials[key])

    def store_binary(self, data: bytes, *, file_name: str, mime_type: str) -> dict[str, Any]:
        file_id = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._files[file_id] = data
        return {"file_id": file_id, "file_name": file_name, "mime_type": mime_type, "size": len(data)}

    def read_binary(self, reference: Mapping[str, Any]) -> bytes:
        try:
            return self._files[str(reference["file_id"])]
        except KeyError as err:
            raise NodeError(f"file {reference.get('file_name', '?')!r} is not in the file store") from err

    def run_workflow(self, workflow_id: str, items: list[Item], *, parent_execution_id: str) -> list[Item]:
        if self._workflows is None:
            raise NodeError("sub-workflows are not available here")
        return self._workflows(workflow_id, items)

    def env(self) -> Mapping[str, str]:
        return self._env
