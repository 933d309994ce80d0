"""Generic HTTP credentials: a header, HTTP Basic, a bearer token, a query parameter, or an OAuth2 connection.

They carry no service URL, so none has a connection test: the HTTP Request
node that uses one is the test. An OAuth2 credential is connected from the
Credentials screen (``hitl_studio.services.oauth``), not by typing tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from nodes.sdk import CredentialType


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HeaderAuthFields(_Fields):
    name: str = Field(
        title="Header name", description="For example X-API-Key or Authorization.", min_length=1, max_length=200
    )
    value: str = Field(title="Header value", description="Sent as is, e.g. 'Token abc123'.", min_length=1)


class HttpHeaderAuth(CredentialType):
    id = "http_header_auth"
    display_name = "HTTP header"
    description = "Sends one header with every request, such as X-API-Key: <key>."
    Fields = HeaderAuthFields
    secret_fields = frozenset({"value"})


class BasicAuthFields(_Fields):
    user: str = Field(title="User", min_length=1)
    password: str = Field(title="Password", description="May be empty when the service only wants a user.", default="")


class HttpBasicAuth(CredentialType):
    id = "http_basic_auth"
    display_name = "HTTP Basic auth"
    description = "A user and password sent in the Authorization header (HTTP Basic)."
    Fields = BasicAuthFields
    secret_fields = frozenset({"password"})


class BearerAuthFields(_Fields):
    token: str = Field(title="Token", description="Sent as 'Authorization: Bearer <token>'.", min_length=1)


class HttpBearerAuth(CredentialType):
    id = "http_bearer_auth"
    display_name = "HTTP bearer token"
    description = "A token sent as 'Authorization: Bearer <token>' (API tokens, OAuth access tokens)."
    Fields = BearerAuthFields
    secret_fields = frozenset({"token"})


class QueryAuthFields(_Fields):
    name: str = Field(title="Parameter name", description="For example api_key.", min_length=1, max_length=200)
    value: str = Field(title="Parameter value", min_length=1)


class HttpQueryAuth(CredentialType):
    id = "http_query_auth"
    display_name = "HTTP query parameter"
    description = "Adds one query parameter to every request URL, such as ?api_key=<key>."
    Fields = QueryAuthFields
    secret_fields = frozenset({"value"})


OAuth2Provider = Literal["generic", "google", "slack", "github", "microsoft"]


@dataclass(frozen=True)
class OAuth2Endpoints:
    """Where a provider signs people in, issues tokens, and revokes them (empty: it has no RFC 7009 endpoint)."""

    authorization_url: str
    token_url: str
    revoke_url: str = ""


# Presets are URLs only; a credential's own URL fields override them (tests point them at a fake).
# Google gives a refresh token only with access_type=offline, and again only with prompt=consent.
OAUTH2_PROVIDERS: dict[str, OAuth2Endpoints] = {
    "google": OAuth2Endpoints(
        "https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent",
        "https://oauth2.googleapis.com/token",
        "https://oauth2.googleapis.com/revoke",
    ),
    "slack": OAuth2Endpoints(
        "https://slack.com/oauth/v2/authorize",
        "https://slack.com/api/oauth.v2.access",
        "https://slack.com/api/auth.revoke",
    ),
    "github": OAuth2Endpoints(
        "https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token"
    ),
    "microsoft": OAuth2Endpoints(
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    ),
}


class OAuth2Fields(_Fields):
    """Your app's client at the provider; save it, then connect it to an account from the Credentials screen."""

    provider: OAuth2Provider = Field(
        "generic",
        title="Provider",
        description="Fills in the provider's URLs; for generic, type them below.",
    )
    client_id: str = Field(title="Client ID", min_length=1, max_length=500)
    client_secret: str = Field(
        "", title="Client secret", description="Leave empty for a public client that relies on PKCE alone."
    )
    scopes: str = Field(
        "",
        title="Scopes",
        description="Separated by spaces, e.g. 'openid email' or 'chat:write'. Microsoft needs offline_access "
        "to allow refreshing.",
        max_length=2000,
    )
    authorization_url: str = Field(
        "",
        title="Authorization URL",
        description="Where people sign in and consent. Empty: the provider's.",
        max_length=2000,
        validate_default=True,
    )
    token_url: str = Field(
        "",
        title="Token URL",
        description="Where codes and refresh tokens are exchanged. Empty: the provider's.",
        max_length=2000,
        validate_default=True,
    )
    revoke_url: str = Field(
        "",
        title="Revoke URL",
        description="RFC 7009 token revocation. Empty: the provider's, if it has one; otherwise disconnecting "
        "only forgets the tokens.",
        max_length=2000,
    )
    client_authentication: Literal["body", "header"] = Field(
        "body",
        title="Send the client secret",
        description="body: client_id and client_secret as form fields; header: HTTP Basic.",
    )
    # Never typed, stored with these fields or shown (excluded from the form and from what is saved): the
    # studio fills it in when a run asks for the credential, fresh from the credential's OAuth connection.
    # Being a secret field is what masks it out of everything the run stores.
    access_token: SkipJsonSchema[str] = Field("", exclude=True)

    @field_validator("authorization_url", "token_url", "revoke_url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        if not value and info.data.get("provider") == "generic" and info.field_name != "revoke_url":
            raise ValueError("is required for a generic provider")
        return value

    def endpoints(self) -> OAuth2Endpoints:
        """The provider's URLs, each overridden by the credential's own when set."""
        preset = OAUTH2_PROVIDERS.get(self.provider, OAuth2Endpoints("", ""))
        return OAuth2Endpoints(
            self.authorization_url or preset.authorization_url,
            self.token_url or preset.token_url,
            self.revoke_url or preset.revoke_url,
        )

    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.replace(",", " ").split() if scope]


class OAuth2Api(CredentialType):
    """The one OAuth2 type: a provider preset or generic URLs; connected with the authorization code flow."""

    id = "oauth2"
    display_name = "OAuth2"
    description = (
        "Connects an account at Google, Slack, GitHub, Microsoft or any OAuth2 provider (authorization code "
        "with PKCE); nodes send its access token, refreshed when needed."
    )
    Fields = OAuth2Fields
    secret_fields = frozenset({"client_secret", "access_token"})
