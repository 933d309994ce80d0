"""Tokens: opaque bearer tokens (sessions, API keys) and signed link tokens.

Bearer tokens are random, shown once and stored as SHA-256: a plain hash (not
Argon2) is right here, they carry 256 bits of randomness, so nothing can be
brute-forced, and every request looks one up. Link tokens (approval decision
links, resume and form links) are signed with a key derived from
HITL_SECRET_KEY; their SHA-256 is what gets stored to make them single-use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

API_KEY_PREFIX = "hitl_"
PREFIX_SHOWN = 12


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    """An API key with a recognisable prefix, so secret scanners and people can spot it."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(api_key: str) -> str:
    """The first characters of a key, kept in clear so users can tell their keys apart."""
    return api_key[:PREFIX_SHOWN]


# Signed link tokens (approval decision links, resume and form links). Each use
# has its own purpose string, so a token made for one can never pass for another.
_SIGNATURE_BYTES = 18
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signature(secret_key: str, purpose: bytes, fields: tuple[str, ...]) -> str:
    key = hmac.new(secret_key.encode(), purpose, hashlib.sha256).digest()
    return _b64(hmac.new(key, "\n".join(fields).encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def sign_fields(purpose: bytes, *fields: str) -> str:
    """A short URL-safe HMAC over ``fields`` with a key derived from HITL_SECRET_KEY for ``purpose``."""
    from hitl_studio.settings import get_settings

    return _signature(get_settings().secret_key, purpose, fields)


def signature_matches(purpose: bytes, signature: str, *fields: str) -> bool:
    """Whether ``signature`` was made by :func:`sign_fields` under the current key or a previous one."""
    from hitl_studio.settings import get_settings

    settings = get_settings()
    keys = (settings.secret_key, *settings.secret_key_previous)
    return any(hmac.compare_digest(signature, _signature(key, purpose, fields)) for key in keys)


def new_nonce() -> str:
    return _b64(secrets.token_bytes(9))


def encode_expiry(expires_at: datetime | None) -> str:
    """Unix seconds in base 36 (``"0"`` for no expiry): short, URL-safe, signed with the rest."""
    number = int(expires_at.timestamp()) if expires_at else 0
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = _BASE36[rest] + text
        if number == 0:
            return text


def decode_expiry(text: str) -> datetime | None:
    """The inverse of :func:`encode_expiry`.

    Raises:
        ValueError: ``text`` is not base 36.
    """
    seconds = int(text, 36)
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None
