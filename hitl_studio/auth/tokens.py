"""Opaque bearer tokens (sessions, API keys): random, shown once, stored as SHA-256.

A plain hash (not Argon2) is right here: the tokens carry 256 bits of
randomness, so nothing can be brute-forced, and every request looks one up.
"""

from __future__ import annotations

import hashlib
import secrets

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
