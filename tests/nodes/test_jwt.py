"""JWT (data.jwt), run through the engine; checked against jwt.io's and RFC 7515's published tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node
from tests.workflows import output_json

TYPE = "data.jwt"
JWT_IO_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
    "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
JWT_IO_KEY = {"algorithm": "HS256", "secret": "your-256-bit-secret"}
# RFC 7515 appendix A.1: HS256 with a binary key given as base64url; its exp (2011) has passed.
RFC_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC_KEY = {
    "algorithm": "HS256",
    "secret_encoding": "base64",
    "secret": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
}


def jwt(
    key: dict[str, Any] | None,
    items: list[dict[str, Any]] | None = None,
    *,
    settings: dict[str, Any] | None = None,
    **parameters: Any,
) -> RunResult:
    return run_node(TYPE, parameters, items, credential_type="jwt_key", host=host_for(key), **(settings or {}))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


def pem_private(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_public(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_signing_reproduces_the_jwt_io_token_exactly() -> None:
    payload = {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}
    result = jwt(JWT_IO_KEY, [{"id": 7}], payload_source="json", payload_json=payload, issued_at=False)

    assert outputs(result) == [{"id": 7, "jwt": JWT_IO_TOKEN}]
    assert result.last_outputs[NODE][0][0].paired_item == 0


def test_verify_accepts_the_jwt_io_token_and_decode_reads_it_without_a_key() -> None:
    verified = outputs(jwt(JWT_IO_KEY, [{"t": JWT_IO_TOKEN}], operation="verify", token="{{ $json.t }}"))
    decoded = outputs(jwt(None, [{"t": JWT_IO_TOKEN}], operation="decode", token="{{ $json.t }}"))

    assert verified[0]["jwt"] == {
        "valid": True,
        "header": {"alg": "HS256", "typ": "JWT"},
        "payload": {"sub": "1234567890", "name": "John Doe", "iat": 1516239022},
    }
    assert decoded[0]["jwt"] == {"header": verified[0]["jwt"]["header"], "payload": verified[0]["jwt"]["payload"]}


def test_the_rfc_7515_token_passes_its_signature_check_and_then_fails_as_expired() -> None:
    good = outputs(jwt(RFC_KEY, operation="verify", token=RFC_TOKEN, invalid_as_output=True))[0]["jwt"]
    tampered = RFC_TOKEN[:-2] + "Yk"  # the last signature characters changed
    bad = outputs(jwt(RFC_KEY, operation="verify", token=tampered, invalid_as_output=True))[0]["jwt"]

    assert good == {"valid": False, "reason": "it expired at 1300819380 (Unix time)"}
    assert bad == {"valid": False, "reason": "the signature does not match"}


@pytest.mark.parametrize(("algorithm", "digest"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_claim_fields_and_standard_claims_round_trip(algorithm: str, digest: int) -> None:
    key = {"algorithm": algorithm, "secret": "s3cret"}
    before = int(time.time())
    signed = outputs(
        jwt(
            key,
            [{"user": 42}],
            claims=[{"name": "uid", "value": "{{ $json.user }}"}, {"name": "role", "value": "admin"}],
            expires_in=3600,
            issuer="studio",
            subject="alice",
            audience="api, web",
            output_field="auth.token",
        )
    )
    token = signed[0]["auth"]["token"]
    header, payload, signature = token.split(".")

    assert json.loads(unb64(header)) == {"alg": algorithm, "typ": "JWT"}
    claims = json.loads(unb64(payload))
    assert claims["uid"] == 42 and claims["role"] == "admin"
    assert (claims["iss"], claims["sub"], claims["aud"]) == ("studio", "alice", ["api", "web"])
    assert claims["iat"] >= before and claims["exp"] - claims["iat"] == 3600
    assert len(unb64(signature)) == digest

    verified = outputs(
        jwt(key, [{"t": token}], operation="verify", token="{{ $json.t }}", issuer="studio", audience="web")
    )
    assert verified[0]["jwt"]["valid"] is True and verified[0]["jwt"]["payload"] == claims


def test_rs256_signs_with_the_private_key_and_verifies_with_the_public_key_alone() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = outputs(
        jwt(
            {"algorithm": "RS256", "private_key": pem_private(private)},
            payload_json={"a": 1},
            payload_source="json",
            issued_at=False,
        )
    )[0]["jwt"]
    head, body, signature = token.split(".")

    private.public_key().verify(unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    verified = outputs(jwt({"algorithm": "RS256", "public_key": pem_public(private)}, operation="verify", token=token))
    assert verified[0]["jwt"]["payload"] == {"a": 1}


def test_es256_signatures_are_raw_r_s_and_verify() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key = {"algorithm": "ES256", "private_key": pem_private(private)}
    token = outputs(jwt(key, claims=[{"name": "n", "value": "x"}], issued_at=False))[0]["jwt"]
    head, body, signature = token.split(".")
    raw = unb64(signature)

    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    private.public_key().verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    assert outputs(jwt(key, operation="verify", token=token))[0]["jwt"]["payload"] == {"n": "x"}


def reason(key: dict[str, Any], token: str, **parameters: Any) -> str:
    result = outputs(jwt(key, operation="verify", token=token, invalid_as_output=True, **parameters))
    assert result[0]["jwt"]["valid"] is False
    return result[0]["jwt"]["reason"]


def signed(payload: dict[str, Any], key: dict[str, Any] = JWT_IO_KEY) -> str:
    return outputs(jwt(key, payload_source="json", payload_json=payload, issued_at=False))[0]["jwt"]


def test_tampered_payload_and_wrong_secret_are_refused() -> None:
    token = signed({"role": "user"})
    head, _, signature = token.split(".")
    tampered = f"{head}.{b64(json.dumps({'role': 'admin'}).encode())}.{signature}"

    assert reason(JWT_IO_KEY, tampered) == "the signature does not match"
    assert reason({"algorithm": "HS256", "secret": "other"}, token) == "the signature does not match"


def test_alg_none_and_algorithm_confusion_are_refused() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = pem_public(private)
    # The classic confusion attack: HS256 keyed with the server's public RSA key.
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"role": "admin"}).encode())
    confused = f"{head}.{body}.{b64(hmac.new(public_pem.encode(), f'{head}.{body}'.encode(), hashlib.sha256).digest())}"

    assert reason(JWT_IO_KEY, forge({"alg": "none", "typ": "JWT"}, {"role": "admin"})) == (
        "unsigned tokens (alg none) are refused"
    )
    assert reason(JWT_IO_KEY, forge({"alg": "None"}, {})) == "unsigned tokens (alg none) are refused"
    assert reason({"algorithm": "RS256", "public_key": public_pem}, confused) == (
        "it is signed with HS256, but the key is for RS256"
    )
    failed = failure(jwt({"algorithm": "HS256", "secret": public_pem}, operation="verify", token=confused))
    assert "HS256 needs a shared secret, not a PEM key" in failed["message"]
    ec_key = ec.generate_private_key(ec.SECP256R1())
    failed = failure(jwt({"algorithm": "RS256", "private_key": pem_private(ec_key)}, payload_json={}))
    assert failed["message"] == "the JWT key credential's key does not fit RS256: RS256 needs an RSA key"


def test_expiry_and_not_before_honour_the_leeway() -> None:
    now = int(time.time())
    expired = signed({"exp": now - 60})
    early = signed({"nbf": now + 600})

    assert reason(JWT_IO_KEY, expired) == f"it expired at {now - 60} (Unix time)"
    assert outputs(jwt(JWT_IO_KEY, operation="verify", token=expired, leeway=3600))[0]["jwt"]["valid"] is True
    assert reason(JWT_IO_KEY, early) == f"it is not valid before {now + 600} (Unix time)"
    assert reason(JWT_IO_KEY, signed({"exp": "tomorrow"})) == "its exp claim is not a number of seconds"


def test_issuer_and_audience_must_match_when_given() -> None:
    token = signed({"iss": "a", "aud": ["x", "y"]})

    assert reason(JWT_IO_KEY, token, issuer="b") == "its issuer is 'a', not 'b'"
    assert reason(JWT_IO_KEY, token, audience="z") == "its audience ['x', 'y'] does not include 'z'"
    assert reason(JWT_IO_KEY, signed({"aud": "x"}), audience="y, z") == "its audience 'x' does not include 'y' or 'z'"
    assert outputs(jwt(JWT_IO_KEY, operation="verify", token=token, audience="z, y"))[0]["jwt"]["valid"] is True
    assert outputs(jwt(JWT_IO_KEY, operation="verify", token=token, issuer="a", audience="y"))[0]["jwt"]["valid"]


def test_an_invalid_token_fails_the_run_naming_the_item_and_the_reason() -> None:
    result = jwt(JWT_IO_KEY, [{"t": JWT_IO_TOKEN}, {"t": "abc.def"}], operation="verify", token="{{ $json.t }}")

    error = failure(result)
    assert error["message"] == "item 1: the token is not valid: a JWT has three parts separated by dots; this has 2"
    assert error["item_index"] == 1


def test_decode_refuses_garbage_and_continue_on_fail_turns_it_into_an_item() -> None:
    assert failure(jwt(None, operation="decode", token="e30.!!!.x"))["message"] == (
        "item 0: the token is not valid: the payload is not base64url"
    )
    result = jwt(None, operation="decode", token="YQ.b.c", settings={"on_error": "continue"})

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, NODE)[0]["error"] == "item 0: the token is not valid: the header is not JSON"


def test_signing_without_a_credential_or_with_a_bad_payload_fails() -> None:
    assert failure(jwt(None))["message"] == "no jwt_key credential is selected"
    assert failure(jwt(JWT_IO_KEY, payload_source="json", payload_json="[1]"))["message"] == (
        "item 0: the payload must be a JSON object, not list"
    )
    assert failure(jwt(JWT_IO_KEY, payload_source="json", payload_json="{oops"))["message"].startswith(
        "item 0: the payload is not valid JSON"
    )
