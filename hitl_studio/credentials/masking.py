"""Keeping decrypted secrets out of what a run stores and returns.

A node may echo a secret back (a server that reflects a header, an error that
quotes a URL with a token). Every value of a credential's secret fields that a
run decrypted is replaced with ``***`` wherever it shows up in the run's steps,
errors, frontier and webhook answer, before any of it is written or sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MASK = "***"
# Shorter values would mask ordinary words and numbers all over the data.
MIN_SECRET_LENGTH = 4


class SecretMasker:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets.update(secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, value: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        """``value`` (JSON-able) with every secret replaced, also inside longer strings."""
        if not self._secrets or value is None:
            return value
        encoded = json.dumps(value, separators=(",", ":"), default=str)
        for secret in sorted(self._secrets, key=len, reverse=True):
            encoded = encoded.replace(json.dumps(secret)[1:-1], MASK)
        return json.loads(encoded)
