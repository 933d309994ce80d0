"""The file store: binary data of runs (uploads, downloads, generated files) kept out of rows.

Files are content-addressed (SHA-256) under ``<data dir>/files``, so the same
file stored twice takes the space once and a reference is all an item carries.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hitl_studio.settings import get_settings

_FILE_ID = re.compile(r"^[0-9a-f]{64}$")


class FileStoreError(LookupError):
    """A reference points at no stored file (or is malformed)."""


def _root() -> Path:
    root = get_settings().data_dir / "files"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _path(file_id: str) -> Path:
    if not _FILE_ID.match(file_id):
        raise FileStoreError(f"{file_id!r} is not a file id")
    return _root() / file_id[:2] / file_id


def put(data: bytes, *, file_name: str, mime_type: str) -> dict[str, Any]:
    """Store ``data``; returns the reference items carry in ``binary``."""
    file_id = hashlib.sha256(data).hexdigest()
    path = _path(file_id)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    return {"file_id": file_id, "file_name": file_name, "mime_type": mime_type, "size": len(data)}


def get(reference: Mapping[str, Any]) -> bytes:
    path = _path(str(reference.get("file_id", "")))
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise FileStoreError(f"file {reference.get('file_name', '?')!r} is no longer in the file store") from err
