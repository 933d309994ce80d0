"""The GitLab API credential: a server's address and a personal access token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

GITLAB_URL = "https://gitlab.com"


class GitlabApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_url: ApiUrl = param(
        GITLAB_URL,
        title="Server URL",
        description="https://gitlab.com, or the address of a self-managed GitLab (without /api/v4).",
    )
    token: ApiToken = param(
        title="Personal access token",
        description="A personal, project or group access token with the api scope (User settings → Access tokens).",
        widget="password",
        min_length=1,
    )


class GitlabApiCredential(CredentialType):
    id = "gitlab_api"
    display_name = "GitLab API"
    description = "A GitLab access token, for gitlab.com or a self-managed GitLab."
    Fields = GitlabApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: GitlabApiFields | Mapping[str, Any]) -> str:
        """Ask GitLab whose token it is; returns ``Connected as @<username>``.

        Raises:
            NodeError: GitLab refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.gitlab._client import GitlabClient

        with GitlabClient(cls.parse(fields)) as client:
            user = client.request("GET", "/user", "checking the token")
        return f"Connected as @{user.get('username') or user.get('id')}"
