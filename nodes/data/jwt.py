"""JWT: sign, decode or verify JSON Web Tokens (JWS compact serialisation, RFC 7515/7519)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from pydantic import BaseModel, ConfigDict

from nodes.data._fields import set_path
from nodes.data.credentials import HMAC_ALGORITHMS, JwtKey, JwtKeyFields
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

SIGN = {"operation": ["sign"]}
TOKEN = {"operation": ["decode", "verify"]}
VERIFY = {"operation": ["verify"]}
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
ES256_SIZE = 32
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Name", min_length=1)
    value: Any = param("", title="Value", description="Text, a number, or any JSON value from an expression.")


class JwtParameters(Parameters):
    operation: Literal["sign", "decode", "verify"] = param(
        "sign",
        title="Operation",
        description="sign: make a token; decode: read a token without checking it; verify: check a token's "
        "signature and claims.",
        no_expressions=True,
    )
    payload_source: Literal["fields", "json"] = param("fields", title="Payload from", show_if=SIGN, no_expressions=True)
    claims: list[Claim] = param(default_factory=list, title="Claims", show_if={"payload_source": ["fields"], **SIGN})
    payload_json: Any = param(
        default_factory=dict,
        title="Payload (JSON)",
        description="A JSON object, or an expression giving one.",
        widget="json",
        show_if={"payload_source": ["json"], **SIGN},
    )
    issued_at: bool = param(True, title="Add issued-at (iat)", show_if=SIGN)
    expires_in: int = param(
        0, title="Expires in (seconds)", description="Sets exp; 0 for a token that never expires.", ge=0, show_if=SIGN
    )
    not_before_in: int = param(
        0,
        title="Valid after (seconds)",
        description="Sets nbf this many seconds from now; 0 to omit.",
        ge=0,
        show_if=SIGN,
    )
    issuer: str = param(
        "", title="Issuer (iss)", description="sign: sets iss; verify: the iss the token must carry (empty: any)."
    )
    subject: str = param("", title="Subject (sub)", show_if=SIGN)
    audience: str = param(
        "",
        title="Audience (aud)",
        description="sign: sets aud (commas make a list); verify: the token must name one of these (empty: any).",
    )
    token: str = param("", title="Token", placeholder="{{ $json.token }}", show_if=TOKEN)
    leeway: int = param(
        0,
        title="Leeway (seconds)",
        description="Clock skew allowed when checking exp and nbf.",
        ge=0,
        le=86400,
        show_if=VERIFY,
    )
    invalid_as_output: bool = param(
        False,
        title="Output invalid tokens instead of failing",
        description='Write {"valid": false, "reason": ...} instead of stopping with an error.',
        show_if=VERIFY,
    )
    output_field: str = param(
        "jwt",
        title="Output field",
        description="sign: the token; decode: {header, payload}; verify: {valid, header, payload}. Dots nest.",
        no_expressions=True,
        min_length=1,
    )


class InvalidToken(Exception):
    """Why a token is refused, in words a person can act on."""


class JwtNode(Node):
    type = "data.jwt"
    display_name = "JWT"
    category = Category.DATA
    description = "Signs, decodes or verifies JSON Web Tokens with HMAC, RSA or EC keys."
    icon = "key-round"
    Parameters = JwtParameters
    credentials = (CredentialRequirement(JwtKey.id, show_if={"operation": ["sign", "verify"]}),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        keys: list[JwtKeyFields] = []

        def key() -> JwtKeyFields:
            # Read once, and only when an item needs it: decoding works without a credential.
            if not keys:
                keys.append(JwtKey.parse(ctx.credential(JwtKey.id)))
            return keys[0]

        produced: list[Item] = []
        for index, item in enumerate(items):
            params: JwtParameters = ctx.params(index)
            data = dict(item.json)
            set_path(data, params.output_field.strip(), _result(params, key, index))
            produced.append(Item(data, item.binary, index))
        return [produced]


def _result(params: JwtParameters, key: Callable[[], JwtKeyFields], index: int) -> Any:
    if params.operation == "sign":
        return sign(_payload(params, index), key())
    try:
        if params.operation == "decode":
            header, payload, _, _ = split(params.token)
            return {"header": header, "payload": payload}
        header, payload = verify(params.token, key(), params, time.time())
    except InvalidToken as err:
        if params.operation == "verify" and params.invalid_as_output:
            return {"valid": False, "reason": str(err)}
        raise _error(err, index) from err
    return {"valid": True, "header": header, "payload": payload}


def _error(err: InvalidToken, index: int) -> NodeError:
    return NodeError(
        f"item {index}: the token is not valid: {err}",
        description="Check the token and the JWT key credential, or turn on 'Output invalid tokens instead of "
        "failing' to route invalid tokens.",
        item_index=index,
    )


def _payload(params: JwtParameters, index: int) -> dict[str, Any]:
    if params.payload_source == "json":
        payload = params.payload_json
        if isinstance(payload, str):
            try:
                payload = json.loads(payload) if payload.strip() else {}
            except json.JSONDecodeError as err:
                raise NodeError(
                    f"item {index}: the payload is not valid JSON ({err.msg} at character {err.pos})",
                    description='Enter a JSON object such as {"sub": "42"}.',
                    item_index=index,
                ) from err
        if not isinstance(payload, dict):
            raise NodeError(
                f"item {index}: the payload must be a JSON object, not {type(payload).__name__}",
                description='Wrap the values in an object such as {"data": ...}.',
                item_index=index,
            )
        payload = dict(payload)
    else:
        payload = {claim.name.strip(): claim.value for claim in params.claims}
    now = int(time.time())
    if params.issued_at:
        payload["iat"] = now
    if params.expires_in:
        payload["exp"] = now + params.expires_in
    if params.not_before_in:
        payload["nbf"] = now + params.not_before_in
    if params.issuer:
        payload["iss"] = params.issuer
    if params.subject:
        payload["sub"] = params.subject
    audiences = [part.strip() for part in params.audience.split(",") if part.strip()]
    if audiences:
        payload["aud"] = audiences[0] if len(audiences) == 1 else audiences
    return payload


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, part: str) -> bytes:
    if not BASE64URL.fullmatch(text):
        raise InvalidToken(f"the {part} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise InvalidToken(f"the {part} is not base64url") from err


def _json_part(text: str, part: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(text, part))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidToken(f"the {part} is not JSON") from err
    if not isinstance(value, dict):
        raise InvalidToken(f"the {part} is not a JSON object")
    return value


def split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """A compact JWS's header, payload, signature, and the signed input (``header.payload``)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise InvalidToken(f"a JWT has three parts separated by dots; this has {len(parts)}")
    header = _json_part(parts[0], "header")
    payload = _json_part(parts[1], "payload")
    signature = b64url_decode(parts[2], "signature")
    return header, payload, signature, f"{parts[0]}.{parts[1]}".encode("ascii")


def _private_key(key: JwtKeyFields) -> Any:
    if not key.private_key.strip():
        raise NodeError(
            f"the JWT key credential has no private key to sign with {key.algorithm}",
            description="Add the PEM private key to the credential; a public key can only verify.",
        )
    try:
        loaded = serialization.load_pem_private_key(key.private_key.encode(), password=None)
    except (ValueError, TypeError) as err:
        raise NodeError(
            "the JWT key credential's private key is not an unencrypted PEM key",
            description="Paste the key including its -----BEGIN ... PRIVATE KEY----- line, without a passphrase.",
        ) from err
    _check_key_type(loaded, key.algorithm)
    return loaded


def _public_key(key: JwtKeyFields) -> Any:
    if not key.public_key.strip():
        return _private_key(key).public_key()
    try:
        loaded = serialization.load_pem_public_key(key.public_key.encode())
    except (ValueError, TypeError) as err:
        raise NodeError(
            "the JWT key credential's public key is not a PEM public key",
            description="Paste the key including its -----BEGIN PUBLIC KEY----- line.",
        ) from err
    _check_key_type(loaded, key.algorithm)
    return loaded


def _check_key_type(loaded: Any, algorithm: str) -> None:
    """A key is only used with the algorithm family it belongs to (no algorithm confusion)."""
    if algorithm == "RS256":
        ok = isinstance(loaded, rsa.RSAPrivateKey | rsa.RSAPublicKey)
        wanted = "an RSA key"
    else:
        ok = isinstance(loaded, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
            loaded.curve, ec.SECP256R1
        )
        wanted = "an EC key on curve P-256"
    if not ok:
        raise NodeError(
            f"the JWT key credential's key does not fit {algorithm}: {algorithm} needs {wanted}",
            description="Change the credential's algorithm to match the key, or use a matching key.",
        )


def sign(payload: dict[str, Any], key: JwtKeyFields) -> str:
    """A compact JWS of ``payload`` signed with ``key``'s algorithm."""
    header = {"alg": key.algorithm, "typ": "JWT"}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode()) for part in (header, payload)
    ).encode("ascii")
    if key.algorithm in HMAC_ALGORITHMS:
        signature = hmac.new(key.secret_bytes(), signing_input, HASHES[key.algorithm]).digest()
    elif key.algorithm == "RS256":
        signature = _private_key(key).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        der = _private_key(key).sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(ES256_SIZE, "big") + s.to_bytes(ES256_SIZE, "big")
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def _signature_ok(key: JwtKeyFields, signing_input: bytes, signature: bytes) -> bool:
    if key.algorithm in HMAC_ALGORITHMS:
        expected = hmac.new(key.secret_bytes(), signing_input, HASHES[key.algorithm]).digest()
        return hmac.compare_digest(expected, signature)
    public = _public_key(key)
    try:
        if key.algorithm == "RS256":
            public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            if len(signature) != 2 * ES256_SIZE:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:ES256_SIZE], "big"), int.from_bytes(signature[ES256_SIZE:], "big")
            )
            public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _number(payload: dict[str, Any], claim: str) -> float | None:
    value = payload.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"its {claim} claim is not a number of seconds")
    return float(value)


def verify(token: str, key: JwtKeyFields, params: JwtParameters, now: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of ``token`` once its signature and claims check out.

    Raises:
        InvalidToken: Why the token is refused.
    """
    header, payload, signature, signing_input = split(token)
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm.lower() == "none":
        raise InvalidToken("unsigned tokens (alg none) are refused")
    if algorithm != key.algorithm:
        raise InvalidToken(f"it is signed with {algorithm}, but the key is for {key.algorithm}")
    if "crit" in header:
        raise InvalidToken(f"it requires header extensions this node does not support: {header['crit']}")
    if not _signature_ok(key, signing_input, signature):
        raise InvalidToken("the signature does not match")
    expires = _number(payload, "exp")
    if expires is not None and now >= expires + params.leeway:
        raise InvalidToken(f"it expired at {int(expires)} (Unix time)")
    not_before = _number(payload, "nbf")
    if not_before is not None and now + params.leeway < not_before:
        raise InvalidToken(f"it is not valid before {int(not_before)} (Unix time)")
    if params.issuer and payload.get("iss") != params.issuer:
        raise InvalidToken(f"its issuer is {payload.get('iss')!r}, not {params.issuer!r}")
    accepted = [part.strip() for part in params.audience.split(",") if part.strip()]
    if accepted:
        audience = payload.get("aud")
        named = audience if isinstance(audience, list) else [audience]
        if not any(name in named for name in accepted):
            wanted = " or ".join(repr(name) for name in accepted)
            raise InvalidToken(f"its audience {audience!r} does not include {wanted}")
    return header, payload
