"""The Git HTTPS token credential: what pushing to and pulling from a private https remote signs in with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, CredentialType, param


class GitTokenFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = param(
        "x-access-token",
        title="User name",
        description="GitHub accepts x-access-token with a token, GitLab oauth2, Bitbucket x-token-auth; "
        "Gitea and others your user name.",
        pattern=r"^[^:\s]+$",
    )
    token: ApiToken = param(
        title="Token",
        description="A personal or project access token allowed to read the repository (and write, to push).",
        widget="password",
        min_length=1,
    )


class GitTokenCredential(CredentialType):
    id = "git_token"
    display_name = "Git HTTPS token"
    description = "An access token for cloning, pulling from and pushing to git remotes over https."
    Fields = GitTokenFields
    secret_fields = frozenset({"token"})
