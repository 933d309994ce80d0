"""Authenticated encryption of secrets, with key ids for rotation."""

from __future__ import annotations

import base64

import pytest

from hitl_studio.credentials.crypto import (
    DecryptionError,
    Keyring,
    Tampered,
    UnknownKey,
    decrypt,
    encrypt,
    stored_key_id,
)

OLD = "an-old-secret-key-that-is-long-enough-0001"
NEW = "a-new-secret-key-that-is-long-enough-00002"


def test_a_value_round_trips_and_names_its_key() -> None:
    ring = Keyring.from_secrets(NEW)

    sealed = encrypt(ring, {"token": "s3cret", "n": 1})

    assert "s3cret" not in sealed
    assert stored_key_id(sealed) == ring.current_id
    assert decrypt(ring, sealed) == {"token": "s3cret", "n": 1}


def test_every_encryption_is_different() -> None:
    ring = Keyring.from_secrets(NEW)

    assert encrypt(ring, {"a": 1}) != encrypt(ring, {"a": 1})


def test_a_changed_byte_is_reported_as_tampering() -> None:
    ring = Keyring.from_secrets(NEW)
    sealed = encrypt(ring, {"token": "s3cret"})
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[len(raw) // 2] ^= 0x01
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode()

    with pytest.raises(DecryptionError, match="tampered"):
        decrypt(ring, f"{head}:{flipped}")
    with pytest.raises(DecryptionError, match="format"):
        decrypt(ring, "garbage")


def test_previous_keys_still_open_old_values_and_unknown_keys_are_named() -> None:
    old_value = encrypt(Keyring.from_secrets(OLD), {"v": "old"})

    rotated = Keyring.from_secrets(NEW, (OLD,))

    assert decrypt(rotated, old_value) == {"v": "old"}
    with pytest.raises(DecryptionError, match="neither HITL_SECRET_KEY nor in HITL_SECRET_KEY_PREVIOUS"):
        decrypt(Keyring.from_secrets(NEW), old_value)


def test_a_value_whose_key_id_was_edited_is_tampered_not_a_wrong_key() -> None:
    ring = Keyring.from_secrets(NEW, (OLD,))
    sealed = encrypt(ring, {"token": "s3cret"})
    _, _, body = sealed.split(":", 2)
    old_id = Keyring.from_secrets(OLD).current_id

    with pytest.raises(Tampered, match="tampered"):
        decrypt(ring, f"v1:{old_id}:{body}")  # the key id is authenticated with the value
    with pytest.raises(Tampered, match="its row records key"):
        decrypt(ring, sealed, expected_key_id=old_id)
    with pytest.raises(UnknownKey) as unknown:
        decrypt(Keyring.from_secrets(OLD), sealed, expected_key_id=ring.current_id)
    assert unknown.value.key_id == ring.current_id
