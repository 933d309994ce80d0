"""Generic HTTP credentials: a header, HTTP Basic, a bearer token, or a query parameter.

They carry no service URL, so none has a connection test: the HTTP Request
node that uses one is the test.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
