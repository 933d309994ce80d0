"""Fakes of outside services for the integration nodes' tests, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from tests.fakes.google_server import FakeGoogle, fake_google_server
from tests.fakes.openai_server import API_KEY as OPENAI_KEY
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.fakes.slack_server import BOT_TOKEN, FakeSlack, fake_slack_server
from tests.fakes.slack_workspace import SlackWorkspace, slack_workspace

AWS_SECRET = "fake-secret-access-key/0123456789abcdef"


@dataclass
class Slack:
    """The fake Slack server, its workspace, and the ``slack_api`` credential that reaches it."""

    server: FakeSlack
    workspace: SlackWorkspace

    @property
    def credential(self) -> dict[str, Any]:
        return {"bot_token": BOT_TOKEN, "api_url": self.server.api_url}


@pytest.fixture
def slack() -> Iterator[Slack]:
    with fake_slack_server() as server:
        yield Slack(server, slack_workspace(server))


@dataclass
class OpenAi:
    """The fake OpenAI API and the ``openai_api`` credential that reaches it."""

    server: FakeOpenAI

    @property
    def credential(self) -> dict[str, Any]:
        return {"api_key": OPENAI_KEY, "base_url": self.server.base_url}


@pytest.fixture
def openai_api() -> Iterator[OpenAi]:
    with fake_openai_server() as server:
        yield OpenAi(server)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's stand-in for AWS, in server mode on 127.0.0.1, once per test run (it takes a while to start)."""
    # Imported here: moto pulls in Flask and every AWS model, which the other node tests need not load.
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Aws:
    """moto, emptied for this test, the ``aws`` credential that reaches it, and boto3 clients to set up and check."""

    endpoint: str
    region: str = "eu-west-1"

    @property
    def credential(self) -> dict[str, Any]:
        return {
            "access_key_id": "AKIAFAKEFAKEFAKE0001",
            "secret_access_key": AWS_SECRET,
            "region": self.region,
            "endpoint_url": self.endpoint,
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id="AKIAFAKEFAKEFAKE0001",
            aws_secret_access_key=AWS_SECRET,
        )


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()
    return Aws(moto_endpoint)


@dataclass
class Google:
    """The fake Google APIs and a ``google_service_account`` credential whose key they know."""

    server: FakeGoogle

    @property
    def credential(self) -> dict[str, Any]:
        return {"service_account_json": self.server.service_account(), "api_root_url": self.server.root_url}


@pytest.fixture
def google() -> Iterator[Google]:
    with fake_google_server() as server:
        yield Google(server)
