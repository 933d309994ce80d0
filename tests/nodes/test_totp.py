"""TOTP (data.totp), run through the engine; codes are checked against the RFC 6238 appendix B vectors."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node
from tests.workflows import output_json

TYPE = "data.totp"
# RFC 6238 appendix B: the ASCII seed, repeated to the hash's block of key bytes.
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


def secret(algorithm: str = "SHA1", **extra: str) -> dict[str, Any]:
    return {"secret": base64.b32encode(SEEDS[algorithm]).decode(), **extra}


def totp(
    credential: dict[str, Any] | None,
    items: list[dict[str, Any]] | None = None,
    *,
    settings: dict[str, Any] | None = None,
    **parameters: Any,
) -> RunResult:
    return run_node(
        TYPE, parameters, items, credential_type="totp_secret", host=host_for(credential), **(settings or {})
    )


@pytest.mark.parametrize(("at", "algorithm", "code"), VECTORS)
def test_generate_matches_rfc_6238(at: int, algorithm: str, code: str) -> None:
    result = totp(secret(algorithm), [{"at": at}], algorithm=algorithm, digits=8, timestamp="{{ $json.at }}")

    assert outputs(result) == [{"at": at, "totp": {"code": code, "seconds_remaining": 30 - at % 30}}]


def test_six_digit_codes_are_the_last_six_digits_and_spaces_in_the_secret_are_ignored() -> None:
    spaced = " ".join(secret()["secret"][i : i + 4].lower() for i in range(0, 32, 4))
    result = totp({"secret": spaced}, timestamp=59, output_field="otp.now")

    assert outputs(result) == [{"otp": {"now": {"code": "287082", "seconds_remaining": 1}}}]


def test_verify_accepts_codes_within_the_window_and_reports_the_drift() -> None:
    items = [{"code": "07081804"}, {"code": "1405 0471"}, {"code": "89005924"}, {"code": "abc"}]
    result = totp(
        secret(), items, operation="verify", digits=8, code="{{ $json.code }}", timestamp=1111111111 + 30, window=1
    )

    assert [row["totp"] for row in outputs(result)] == [
        {"valid": False, "drift": None},  # two periods back: outside a window of 1
        {"valid": True, "drift": -1},
        {"valid": False, "drift": None},
        {"valid": False, "drift": None},
    ]
    exact = totp(secret(), operation="verify", digits=8, code="14050471", timestamp=1111111111, window=0)
    assert outputs(exact)[0]["totp"] == {"valid": True, "drift": 0}


def test_a_code_for_now_verifies_now() -> None:
    code = outputs(totp(secret()))[0]["totp"]["code"]
    result = totp(secret(), operation="verify", code=code, window=1)

    assert len(code) == 6 and code.isdigit()
    assert outputs(result)[0]["totp"]["valid"] is True


def test_provisioning_uri_follows_the_key_uri_format() -> None:
    credential = secret(label="alice@example.com", issuer="ACME Co")
    uri = outputs(totp(credential, operation="uri", algorithm="SHA256", digits=8))[0]["totp"]
    parts = urlsplit(uri)

    assert uri.startswith("otpauth://totp/ACME%20Co:alice@example.com?")
    assert parse_qs(parts.query) == {
        "secret": ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"],
        "issuer": ["ACME Co"],
        "algorithm": ["SHA256"],
        "digits": ["8"],
        "period": ["30"],
    }


def test_a_uri_needs_a_label() -> None:
    error = failure(totp(secret(), operation="uri"))

    assert error["message"] == "item 0: the TOTP secret credential has no label"


def test_an_invalid_or_missing_secret_fails_the_run() -> None:
    assert "not base32" in failure(totp({"secret": "not-base32!"}))["message"]
    assert failure(totp(None))["message"] == "no totp_secret credential is selected"


def test_continue_on_fail_turns_a_bad_time_into_an_item() -> None:
    result = totp(secret(), timestamp=-5, settings={"on_error": "continue"})

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, NODE)[0]["error"] == "item 0: the time -5.0 is before 1970"
