"""Idempotency keys of ``POST /api/v1/approvals``: what a key may look like, and the body's fingerprint.

A caller that retries a create (a timeout, a dropped connection) sends the
same ``Idempotency-Key`` and gets the request it already made, not a second
one. The fingerprint tells a true retry (same body) from a key reused by
mistake for a different request, which is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

HEADER = "Idempotency-Key"
MAX_LENGTH = 200
# Visible ASCII only: keys end up in logs and error messages, and a UUID or a ULID fits.
_PATTERN = re.compile(rf"[!-~]{{1,{MAX_LENGTH}}}")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an idempotency key, or ``None`` when it can."""
    if not _PATTERN.fullmatch(key):
        return f"must be 1 to {MAX_LENGTH} visible ASCII characters (a UUID is a good key)"
    return None


def fingerprint(body: dict[str, Any]) -> str:
    """SHA-256 of the request body in canonical JSON: equal for equal bodies whatever the key order."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
