"""The approval event log's hash chain: each event seals the one before it, so edits are detected."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any


def event_hash(
    prev_hash: str | None,
    *,
    event_type: str,
    data: dict[str, Any],
    snapshot: dict[str, Any],
    actor: str | None,
    source: str,
    created_at: datetime,
) -> str:
    """SHA-256 over the previous hash and this event's content in a canonical JSON form."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "type": event_type,
            "data": data,
            "snapshot": snapshot,
            "actor": actor,
            "source": source,
            "at": created_at.isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()
