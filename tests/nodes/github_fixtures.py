"""The fake GitHub with one repository, and running a GitHub node against it, for the tests of the GitHub nodes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.fakes.github_server import TOKEN, FakeGitHub, Repo, fake_github_server
from tests.nodes.integrations import host_for, run_node

OWNER = "octo"
REPOSITORY = "app"


@dataclass
class GitHub:
    """The fake GitHub server and its repository ``octo/app``."""

    server: FakeGitHub
    repo: Repo

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        return {"token": token, "api_url": self.server.api_url}

    def host(self, token: str = TOKEN) -> LocalHost:
        return host_for(self.credential(token))

    def run(
        self,
        type_id: str,
        parameters: dict[str, Any],
        items: list[dict[str, Any] | Item] | None = None,
        *,
        token: str = TOKEN,
        host: LocalHost | None = None,
        **settings: Any,
    ) -> RunResult:
        """Run ``type_id`` on ``octo/app`` (unless the parameters name another repository)."""
        return run_node(
            type_id,
            {"owner": OWNER, "repository": REPOSITORY, **parameters},
            items,
            credential_type="github_api",
            host=host or self.host(token),
            **settings,
        )


@contextmanager
def github_session() -> Iterator[GitHub]:
    """The fake GitHub on 127.0.0.1 with the repository ``octo/app``; stops on exit."""
    with fake_github_server() as server:
        yield GitHub(server, server.add_repo(OWNER, REPOSITORY, collaborators={"alice"}))
