"""Crypto: hash or HMAC-sign a value, or generate a UUID or a random string."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import uuid
from typing import Any, Literal

from nodes.data._fields import set_path
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

Algorithm = Literal["md5", "sha1", "sha256", "sha384", "sha512"]
CHARSETS: dict[str, str] = {
    "alphanumeric": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "numeric": string.digits,
}


class CryptoParameters(Parameters):
    action: Literal["hash", "hmac", "generate"] = param(
        "hash",
        title="Action",
        description="hash: a digest of the value; hmac: a digest keyed with a secret; generate: a UUID or random text.",
        no_expressions=True,
    )
    algorithm: Algorithm = param(
        "sha256",
        title="Algorithm",
        description="MD5 and SHA-1 are for checksums and legacy systems only, not for security.",
        show_if={"action": ["hash", "hmac"]},
    )
    value: Any = param(
        "",
        title="Value",
        description="Text, or any JSON value (hashed as compact JSON with sorted keys).",
        placeholder="{{ $json.email }}",
        show_if={"action": ["hash", "hmac"]},
    )
    secret: str = param("", title="Secret", widget="password", show_if={"action": ["hmac"]})
    encoding: Literal["hex", "base64"] = param("hex", title="Encoding", show_if={"action": ["hash", "hmac"]})
    generate: Literal["uuid4", "random_string"] = param(
        "uuid4", title="Generate", show_if={"action": ["generate"]}, no_expressions=True
    )
    length: int = param(32, title="Length", show_if={"generate": ["random_string"]}, ge=1, le=4096)
    charset: Literal["alphanumeric", "hex", "numeric"] = param(
        "alphanumeric", title="Characters", show_if={"generate": ["random_string"]}
    )
    output_field: str = param(
        "data", title="Output field", description="Dots make nested fields.", no_expressions=True, min_length=1
    )


class CryptoNode(Node):
    type = "data.crypto"
    display_name = "Crypto"
    category = Category.DATA
    description = "Hashes or HMAC-signs a value, or generates a UUID or a random string, on each item."
    icon = "fingerprint"
    Parameters = CryptoParameters
    subtitle = "action"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: CryptoParameters = ctx.params(index)
            data = dict(item.json)
            set_path(data, params.output_field.strip(), _result(params, index))
            produced.append(Item(data, item.binary, index))
        return [produced]


def _result(params: CryptoParameters, index: int) -> str:
    if params.action == "generate":
        if params.generate == "uuid4":
            return str(uuid.uuid4())
        alphabet = CHARSETS[params.charset]
        return "".join(secrets.choice(alphabet) for _ in range(params.length))
    message = _bytes(params.value, index)
    if params.action == "hmac":
        if not params.secret:
            raise NodeError(
                f"item {index}: the HMAC secret is empty",
                description="Enter the shared secret the receiving system uses to check the signature.",
                item_index=index,
            )
        digest = hmac.new(params.secret.encode(), message, params.algorithm).digest()
    else:
        digest = hashlib.new(params.algorithm, message).digest()
    return digest.hex() if params.encoding == "hex" else base64.b64encode(digest).decode("ascii")


def _bytes(value: Any, index: int) -> bytes:
    """What is hashed: text as UTF-8, other JSON values as compact JSON with sorted keys."""
    if value is None:
        raise NodeError(
            f"item {index}: there is no value to hash (it is null)",
            description="Check the Value expression: the field it reads may be missing on this item.",
            item_index=index,
        )
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
