"""Tokens for runs: one refresh at a time per connection, and clear errors when a refresh cannot happen."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from hitl_studio.credentials.crypto import encrypt
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import Role
from hitl_studio.services import oauth
from hitl_studio.services.credentials import create_credential, keyring
from hitl_studio.settings import Settings
from nodes.sdk import OAUTH2_RENEW, NodeError
from tests.factories import make_user
from tests.fakes.oauth_server import FakeOAuthServer, fake_oauth_server


@pytest.fixture
def provider() -> Iterator[FakeOAuthServer]:
    with fake_oauth_server() as fake:
        yield fake


def connected(provider: FakeOAuthServer) -> Credential:
    """An OAuth2 credential connected through the services, as the API and the callback do it."""
    owner = make_user(Role.BUILDER)
    credential = create_credential("api", "oauth2", provider.credential_data(), actor=owner)
    answer = httpx.get(oauth.start_authorization(credential.id, owner), follow_redirects=False)
    back = {name: values[0] for name, values in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    assert oauth.complete_authorization(back["state"], back["code"]) == credential.id
    return credential


def expire_soon() -> None:
    with session_scope() as session:
        session.execute(
            text("UPDATE oauth_connection SET expires_at = :soon"), {"soon": utcnow() + timedelta(seconds=5)}
        )


def test_runs_asking_at_once_for_an_expiring_token_refresh_it_once(
    database: Settings, provider: FakeOAuthServer
) -> None:
    credential = connected(provider)
    expire_soon()
    start = threading.Barrier(4)
    tokens: list[str] = []

    def ask() -> None:
        start.wait()
        tokens.append(oauth.access_for_run(credential)["access_token"])

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The fake rotates refresh tokens: a second refresh with the old one would have been refused.
    assert provider.grants == ["authorization_code", "refresh_token"] and provider.refused == []
    assert len(set(tokens)) == 1 and tokens[0] in provider.live_access_tokens()


def test_a_refused_token_already_replaced_by_another_run_is_not_refreshed_again(
    sqlite_database: Settings, provider: FakeOAuthServer
) -> None:
    credential = connected(provider)
    first: dict[str, Any] = oauth.access_for_run(credential)
    second: dict[str, Any] = oauth.access_for_run(credential)

    first[OAUTH2_RENEW](first["access_token"])
    second[OAUTH2_RENEW](second["access_token"])

    assert provider.grants == ["authorization_code", "refresh_token"]
    assert oauth.access_for_run(credential)["access_token"] != first["access_token"]


def test_a_grant_revoked_at_the_provider_asks_to_reconnect(
    sqlite_database: Settings, provider: FakeOAuthServer
) -> None:
    credential = connected(provider)
    httpx.post(provider.url("/revoke"), data={**_client(provider), "token": provider.live_access_tokens()[0]})
    expire_soon()

    with pytest.raises(NodeError) as failed:
        oauth.access_for_run(credential)

    assert "would not refresh the OAuth2 connection of the credential 'api'" in failed.value.message
    assert "invalid_grant" in failed.value.message and failed.value.description == "Reconnect it under Credentials."


def test_an_expiring_connection_without_a_refresh_token_asks_to_reconnect(
    sqlite_database: Settings, provider: FakeOAuthServer
) -> None:
    credential = connected(provider)
    ring = keyring()
    with session_scope() as session:
        session.execute(
            text("UPDATE oauth_connection SET encrypted_tokens = :sealed, key_id = :key"),
            {"sealed": encrypt(ring, {"access_token": "at-old", "refresh_token": None}), "key": ring.current_id},
        )
    expire_soon()

    with pytest.raises(NodeError, match="has expired, and the provider gave no refresh token"):
        oauth.access_for_run(credential)


def _client(provider: FakeOAuthServer) -> dict[str, str]:
    data = provider.credential_data()
    return {"client_id": data["client_id"], "client_secret": data["client_secret"]}
