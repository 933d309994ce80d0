"""The GitHub API credential: a personal access token and the API's URL, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

GITHUB_API_URL = "https://api.github.com"


class GithubApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Personal access token",
        description="A fine-grained or classic token (Settings → Developer settings → Personal access tokens) "
        "with access to the repositories the workflow uses.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        GITHUB_API_URL,
        title="API URL",
        description="GitHub's REST API; for GitHub Enterprise Server, https://<host>/api/v3.",
        advanced=True,
    )


class GithubApiCredential(CredentialType):
    id = "github_api"
    display_name = "GitHub API"
    description = "A GitHub personal access token, for github.com or a GitHub Enterprise Server."
    Fields = GithubApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: GithubApiFields | Mapping[str, Any]) -> str:
        """Ask GitHub whose token it is; returns ``Connected as <login>``.

        Raises:
            NodeError: GitHub refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.github._client import GithubClient

        with GithubClient(cls.parse(fields)) as client:
            answer = client.request("GET", "/user", "checking the token")
        return f"Connected as {answer.get('login') or 'the token owner'}"
