"""Encrypting secrets with keys derived from HITL_SECRET_KEY (AES-256-GCM, a key id on every value).

Stored form: ``v1:<key id>:<base64url(nonce + ciphertext + tag)>``. The key id
(a short hash of the key) says which key sealed a value, so after a key
change the old keys (``HITL_SECRET_KEY_PREVIOUS``) still open old values until
they are re-encrypted. GCM authenticates: a changed byte is reported as
tampering, never decrypted into garbage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
_INFO = b"hitl-studio credentials v1"


class DecryptionError(ValueError):
    """A value cannot be decrypted: unknown key, or it was tampered with."""


class UnknownKey(DecryptionError):
    """The value was sealed with a key that is neither HITL_SECRET_KEY nor a previous key (a wrong key)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"the value was encrypted with key {key_id}, which is neither HITL_SECRET_KEY nor in "
            "HITL_SECRET_KEY_PREVIOUS; restore the key it was made with"
        )
        self.key_id = key_id


class Tampered(DecryptionError):
    """The value was changed after it was sealed: never a key problem, so never reported as one."""


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts) and the previous ones (only decrypt)."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    @classmethod
    def from_secrets(cls, current: str, previous: tuple[str, ...] = ()) -> Keyring:
        return cls(_derive(current), tuple(_derive(secret) for secret in previous))

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def key_for(self, wanted: str) -> bytes:
        for key in (self.current, *self.previous):
            if key_id(key) == wanted:
                return key
        raise UnknownKey(wanted)

    def knows(self, wanted: str) -> bool:
        """Whether one of the keys has the id ``wanted``."""
        return any(key_id(key) == wanted for key in (self.current, *self.previous))


def _derive(secret: str) -> bytes:
    """A 256-bit AES key from the configured secret (which may be any long string)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def encrypt(keyring: Keyring, data: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    key = keyring.current
    sealed = AESGCM(key).encrypt(nonce, json.dumps(data, separators=(",", ":")).encode(), key_id(key).encode())
    return f"{VERSION}:{key_id(key)}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def stored_key_id(value: str) -> str:
    parts = value.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION:
        raise Tampered("the stored value is not in a format this studio knows; it may have been tampered with")
    return parts[1]


def decrypt(keyring: Keyring, value: str, *, expected_key_id: str | None = None) -> dict[str, Any]:
    """Open a stored value.

    Args:
        keyring: The keys to try (the value names the one it needs).
        value: The stored ``v1:<key id>:<base64>`` text.
        expected_key_id: The key id recorded beside the value (its row's ``key_id``); a value
            whose own key id differs was edited, and is reported as tampered rather than as
            sealed with a wrong key.

    Raises:
        UnknownKey: None of the configured keys made it (a wrong HITL_SECRET_KEY).
        Tampered: The value was changed after it was sealed.
    """
    wanted = stored_key_id(value)
    if expected_key_id is not None and expected_key_id != wanted:
        raise Tampered(
            f"the stored value names key {wanted} but its row records key {expected_key_id}: it was tampered with"
        )
    key = keyring.key_for(wanted)
    try:
        raw = base64.urlsafe_b64decode(value.split(":", 2)[2].encode())
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], wanted.encode())
    except (InvalidTag, ValueError) as err:
        raise Tampered("the stored value failed its integrity check: it was tampered with") from err
    return json.loads(plain)
