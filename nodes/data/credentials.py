"""Keys for the self-contained data nodes: a JWT signing key and a TOTP secret.

Neither talks to a service, so neither has a connection test: the node that
uses one is the test.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nodes.sdk import CredentialType

JwtAlgorithm = Literal["HS256", "HS384", "HS512", "RS256", "ES256"]
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JwtKeyFields(_Fields):
    algorithm: JwtAlgorithm = Field(
        "HS256",
        title="Algorithm",
        description="HS256/384/512 sign with a shared secret; RS256 with an RSA key; ES256 with a P-256 EC key.",
    )
    secret: str = Field(
        "",
        title="Secret",
        description="For HS256/384/512: the shared secret.",
        json_schema_extra={"widget": "password"},
    )
    secret_encoding: Literal["utf-8", "base64"] = Field(
        "utf-8",
        title="Secret encoding",
        description="utf-8: the secret is the text itself; base64: the text is base64 (or base64url) of the key bytes.",
    )
    private_key: str = Field(
        "",
        title="Private key (PEM)",
        description="For RS256/ES256: signs tokens, and verifies them when no public key is given.",
        json_schema_extra={"widget": "password"},
    )
    public_key: str = Field(
        "",
        title="Public key (PEM)",
        description="For RS256/ES256: enough on its own to verify tokens.",
    )

    @model_validator(mode="after")
    def _key_for_algorithm(self) -> Self:
        if self.algorithm in HMAC_ALGORITHMS:
            if not self.secret:
                raise ValueError(f"{self.algorithm} needs a secret")
            if self.secret.lstrip().startswith("-----BEGIN"):
                # A PEM key used as an HMAC secret is the algorithm-confusion attack's shape.
                raise ValueError(f"{self.algorithm} needs a shared secret, not a PEM key")
            if self.secret_encoding == "base64":
                _secret_bytes(self.secret)
        elif not (self.private_key.strip() or self.public_key.strip()):
            raise ValueError(f"{self.algorithm} needs a PEM private key or public key")
        return self

    def secret_bytes(self) -> bytes:
        """The HMAC key as bytes, decoded according to :attr:`secret_encoding`."""
        return self.secret.encode() if self.secret_encoding == "utf-8" else _secret_bytes(self.secret)


def _secret_bytes(text: str) -> bytes:
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("the secret is not valid base64") from err


class JwtKey(CredentialType):
    id = "jwt_key"
    display_name = "JWT key"
    description = "A shared secret (HS256/384/512) or a PEM key pair (RS256, ES256) to sign and verify JSON Web Tokens."
    Fields = JwtKeyFields
    secret_fields = frozenset({"secret", "private_key"})


class TotpSecretFields(_Fields):
    secret: str = Field(
        title="Secret (base32)",
        description="The shared secret as shown under the QR code, e.g. JBSWY3DPEHPK3PXP; spaces are ignored.",
        min_length=1,
        json_schema_extra={"widget": "password"},
    )
    label: str = Field("", title="Label", description="The account name, e.g. alice@example.com.")
    issuer: str = Field("", title="Issuer", description="The service name shown in the authenticator app.")

    @field_validator("secret")
    @classmethod
    def _base32(cls, value: str) -> str:
        normalised = "".join(value.split()).upper().rstrip("=")
        try:
            decoded = base64.b32decode(normalised + "=" * (-len(normalised) % 8))
        except (binascii.Error, ValueError) as err:
            raise ValueError("the secret is not base32 (letters A-Z and digits 2-7)") from err
        if not decoded:
            raise ValueError("the secret is empty")
        return normalised

    def key(self) -> bytes:
        """The secret's bytes."""
        return base64.b32decode(self.secret + "=" * (-len(self.secret) % 8))


class TotpSecret(CredentialType):
    id = "totp_secret"
    display_name = "TOTP secret"
    description = "A base32 shared secret for time-based one-time passwords (RFC 6238), with its label and issuer."
    Fields = TotpSecretFields
    secret_fields = frozenset({"secret"})
