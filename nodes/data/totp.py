"""TOTP: generate or verify time-based one-time passwords (RFC 6238), or make the otpauth:// URI."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Literal
from urllib.parse import quote, urlencode

from nodes.data._fields import set_path
from nodes.data.credentials import TotpSecret, TotpSecretFields
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

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
TIMED = {"operation": ["generate", "verify"]}


class TotpParameters(Parameters):
    operation: Literal["generate", "verify", "uri"] = param(
        "generate",
        title="Operation",
        description="generate: the current code and its seconds left; verify: check a code; uri: the otpauth:// "
        "link an authenticator app scans.",
        no_expressions=True,
    )
    algorithm: Literal["SHA1", "SHA256", "SHA512"] = param(
        "SHA1", title="Algorithm", description="SHA1 is what most authenticator apps expect."
    )
    digits: Literal[6, 8] = param(6, title="Digits")
    period: int = param(30, title="Period (seconds)", description="How long each code lasts.", ge=1, le=3600)
    code: str = param("", title="Code", placeholder="{{ $json.code }}", show_if={"operation": ["verify"]})
    window: int = param(
        1,
        title="Window (periods)",
        description="Also accept codes this many periods before or after now, for clock drift and typing time.",
        ge=0,
        le=10,
        show_if={"operation": ["verify"]},
    )
    timestamp: float | None = param(
        None,
        title="At (Unix time)",
        description="The time to compute the code for; empty for now.",
        advanced=True,
        show_if=TIMED,
    )
    output_field: str = param(
        "totp",
        title="Output field",
        description="generate: {code, seconds_remaining}; verify: {valid, drift}; uri: the link. Dots nest.",
        no_expressions=True,
        min_length=1,
    )


class TotpNode(Node):
    type = "data.totp"
    display_name = "TOTP"
    category = Category.DATA
    description = "Generates or verifies time-based one-time passwords, or makes the otpauth:// link for them."
    icon = "timer"
    Parameters = TotpParameters
    credentials = (CredentialRequirement(TotpSecret.id),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        secret = TotpSecret.parse(ctx.credential(TotpSecret.id))
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: TotpParameters = ctx.params(index)
            data = dict(item.json)
            set_path(data, params.output_field.strip(), _result(params, secret, index))
            produced.append(Item(data, item.binary, index))
        return [produced]


def _result(params: TotpParameters, secret: TotpSecretFields, index: int) -> Any:
    if params.operation == "uri":
        return provisioning_uri(params, secret, index)
    now = time.time() if params.timestamp is None else params.timestamp
    if now < 0:
        raise NodeError(
            f"item {index}: the time {now} is before 1970",
            description="Leave 'At (Unix time)' empty for now, or give seconds since 1970.",
            item_index=index,
        )
    counter = int(now // params.period)
    if params.operation == "generate":
        return {
            "code": totp(secret.key(), counter, params.digits, params.algorithm),
            "seconds_remaining": params.period - int(now % params.period),
        }
    given = "".join(params.code.split())
    for drift in sorted(range(-params.window, params.window + 1), key=abs):
        if counter + drift < 0:
            continue
        expected = totp(secret.key(), counter + drift, params.digits, params.algorithm)
        # Compare every candidate in constant time, so timing reveals nothing about the code.
        if hmac.compare_digest(expected.encode(), given.encode()):
            return {"valid": True, "drift": drift}
    return {"valid": False, "drift": None}


def totp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    """The HOTP value (RFC 4226) for ``counter``, as RFC 6238 uses it."""
    digest = hmac.new(key, counter.to_bytes(8, "big"), HASHES[algorithm]).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def provisioning_uri(params: TotpParameters, secret: TotpSecretFields, index: int) -> str:
    """The Key URI Format link (``otpauth://totp/Issuer:label?secret=...``) authenticator apps read."""
    label = secret.label.strip()
    if not label:
        raise NodeError(
            f"item {index}: the TOTP secret credential has no label",
            description="Set the credential's label to the account name, e.g. alice@example.com.",
            item_index=index,
        )
    issuer = secret.issuer.strip()
    path = f"{quote(issuer, safe='')}:{quote(label, safe='@')}" if issuer else quote(label, safe="@")
    query: dict[str, Any] = {"secret": secret.secret}
    if issuer:
        query["issuer"] = issuer
    query.update(algorithm=params.algorithm, digits=params.digits, period=params.period)
    return f"otpauth://totp/{path}?{urlencode(query, quote_via=quote)}"
