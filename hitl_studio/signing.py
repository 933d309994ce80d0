"""``X-HITL-Signature``: how the studio signs what it POSTs to webhooks and callbacks.

The value is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``.
Standard library only, so the agents' client (``hitl_studio.client``) can use
it without importing the studio.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_TOLERANCE_SECONDS = 300


def signature_header(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The ``X-HITL-Signature`` value for ``body`` sent at ``timestamp`` (now by default)."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={stamp},v1={_digest(secret, stamp, body)}"


def _digest(secret: str, timestamp: int, body: bytes | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """Check an ``X-HITL-Signature`` header the way a receiver should.

    Args:
        secret: The subscription's secret (or the callback secret).
        header: The header's value, ``t=<unix>,v1=<hex>`` (several ``v1`` are accepted).
        body: The raw request body, exactly as received.
        tolerance: How many seconds the timestamp may be away from ``now`` (replay protection).
        now: The receiver's clock, in unix seconds; the current time by default.

    Returns:
        True only when a ``v1`` signature matches and the timestamp is within the tolerance.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    # Compare against every candidate so the time taken does not say which one matched.
    return sum(hmac.compare_digest(expected, candidate) for candidate in signatures) > 0
