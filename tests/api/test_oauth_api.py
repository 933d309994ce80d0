"""OAuth2 connections over HTTP: who may start and revoke one, and every way a callback is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from hitl_studio.api.app import create_app
from hitl_studio.auth.tokens import token_hash
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.credentials import OAuthConnection
from hitl_studio.models.oauth import OAuthState
from hitl_studio.models.users import Role, User
from hitl_studio.services import users
from hitl_studio.settings import Settings
from tests.factories import make_api_key, make_user
from tests.fakes.oauth_server import CLIENT_ID, FakeOAuthServer, fake_oauth_server


@pytest.fixture
def provider() -> Iterator[FakeOAuthServer]:
    with fake_oauth_server() as fake:
        yield fake


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def signed_in(role: Role = Role.BUILDER) -> tuple[User, dict[str, str]]:
    user = make_user(role)
    return user, {"Authorization": f"Bearer {make_api_key(user)}"}


def oauth_credential(client: TestClient, auth: dict[str, str], data: dict[str, object], **extra: object) -> str:
    body = {"name": "Provider", "type": "oauth2", "data": data, **extra}
    response = client.post("/api/v1/credentials", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def start(client: TestClient, auth: dict[str, str], credential_id: str) -> str:
    response = client.post(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=auth)
    assert response.status_code == 200, response.text
    return str(response.json()["authorization_url"])


def callback_path(provider_url: str) -> str:
    """Let the fake provider "consent" and return the path the browser is sent back to."""
    answer = httpx.get(provider_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return httpx.URL(answer.headers["location"]).raw_path.decode()


def refused(client: TestClient, path: str, status: int = 400) -> str:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "Back to Credentials" in response.text
    return response.text


def test_the_authorization_url_carries_pkce_state_and_the_presets_url(client: TestClient) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(
        client, auth, {"provider": "google", "client_id": "my-app.apps.googleusercontent.com", "scopes": "email"}
    )

    url = urlsplit(start(client, auth, credential_id))

    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert (url.scheme, url.netloc, url.path) == ("https", "accounts.google.com", "/o/oauth2/v2/auth")
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["response_type"] == "code" and query["client_id"] == "my-app.apps.googleusercontent.com"
    assert query["redirect_uri"] == "http://localhost:8000/api/v1/oauth/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"] == "email" and len(query["state"]) >= 43
    with session_scope() as session:
        (row,) = session.exec(select(OAuthState)).all()
    assert row.state_hash == token_hash(query["state"])  # the state itself is only in the browser
    assert row.encrypted_verifier.startswith(f"v1:{row.key_id}:")
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_a_generic_provider_needs_its_urls_named_by_field(client: TestClient) -> None:
    _, auth = signed_in()

    response = client.post(
        "/api/v1/credentials",
        json={"name": "x", "type": "oauth2", "data": {"client_id": "c", "token_url": "ftp://nope"}},
        headers=auth,
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "authorization_url": "Value error, is required for a generic provider",
        "token_url": "Value error, must be an http:// or https:// URL",
    }


def test_only_oauth2_credentials_of_your_own_can_be_connected_or_revoked(
    client: TestClient, provider: FakeOAuthServer
) -> None:
    _, auth = signed_in()
    other, other_auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data(), shared_with=[other.id])
    header = client.post(
        "/api/v1/credentials",
        json={"name": "key", "type": "http_header_auth", "data": {"name": "X-Key", "value": "v-12345"}},
        headers=auth,
    ).json()["id"]
    _, stranger = signed_in()

    for action in ("authorize", "revoke"):
        not_oauth = client.post(f"/api/v1/credentials/{header}/oauth/{action}", headers=auth)
        assert not_oauth.status_code == 422 and "not an OAuth2 credential" in not_oauth.json()["error"]["message"]
        shared_only = client.post(f"/api/v1/credentials/{credential_id}/oauth/{action}", headers=other_auth)
        assert shared_only.status_code == 403 and "owner or an admin" in shared_only.json()["error"]["message"]
        hidden = client.post(f"/api/v1/credentials/{credential_id}/oauth/{action}", headers=stranger)
        assert hidden.status_code == 404
        missing = client.post(f"/api/v1/credentials/does-not-exist/oauth/{action}", headers=auth)
        assert missing.status_code == 404
    _, viewer = signed_in(Role.VIEWER)
    assert client.post(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=viewer).status_code == 403
    assert client.post(f"/api/v1/credentials/{credential_id}/oauth/authorize").status_code == 401
    not_connected = client.post(f"/api/v1/credentials/{credential_id}/oauth/revoke", headers=auth)
    assert not_connected.status_code == 409 and "not connected" in not_connected.json()["error"]["message"]


def test_a_state_works_once(client: TestClient, provider: FakeOAuthServer) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data())
    path = callback_path(start(client, auth, credential_id))

    assert client.get(path, follow_redirects=False).status_code == 303

    assert "already used" in refused(client, path)


def test_a_missing_unknown_or_expired_state_is_refused(client: TestClient, provider: FakeOAuthServer) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data())
    path = callback_path(start(client, auth, credential_id))

    assert "without a state" in refused(client, "/api/v1/oauth/callback?code=abc")
    assert "unknown to the studio" in refused(client, "/api/v1/oauth/callback?code=abc&state=forged-state")
    with session_scope() as session:
        session.execute(text("UPDATE oauth_state SET expires_at = :past"), {"past": utcnow() - timedelta(seconds=1)})
    assert "expired" in refused(client, path)
    with session_scope() as session:
        assert session.exec(select(OAuthConnection)).all() == []


def test_a_refusal_at_the_provider_connects_nothing(client: TestClient, provider: FakeOAuthServer) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data())
    provider.deny_next()

    text_shown = refused(client, callback_path(start(client, auth, credential_id)))

    assert "did not grant access (access_denied: The user said no)" in text_shown
    assert client.get(f"/api/v1/credentials/{credential_id}", headers=auth).json()["oauth"]["connected"] is False


def test_a_token_endpoint_refusing_the_client_is_shown_without_secrets(
    client: TestClient, provider: FakeOAuthServer
) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data(client_secret="the-wrong-secret-999"))

    text_shown = refused(client, callback_path(start(client, auth, credential_id)))

    assert "refused the sign-in" in text_shown and "invalid_client" in text_shown
    assert "the-wrong-secret-999" not in text_shown and "code-" not in text_shown


def test_the_client_may_authenticate_with_http_basic(client: TestClient, provider: FakeOAuthServer) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data(client_authentication="header"))

    assert client.get(callback_path(start(client, auth, credential_id)), follow_redirects=False).status_code == 303
    assert provider.grants == ["authorization_code"]


def test_a_user_deactivated_before_the_callback_connects_nothing(client: TestClient, provider: FakeOAuthServer) -> None:
    owner, auth = signed_in()
    admin = make_user(Role.ADMIN)
    credential_id = oauth_credential(client, auth, provider.credential_data())
    path = callback_path(start(client, auth, credential_id))
    users.update_user(owner.id, actor=admin, active=False)

    assert "no longer an active user" in refused(client, path)
    assert provider.grants == []


def test_revoking_forgets_the_tokens_even_when_the_provider_is_unreachable(
    client: TestClient, provider: FakeOAuthServer
) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data())
    client.get(callback_path(start(client, auth, credential_id)), follow_redirects=False)
    client.put(
        f"/api/v1/credentials/{credential_id}",
        json={"data": {"revoke_url": "http://127.0.0.1:9/revoke"}},
        headers=auth,
    )

    response = client.post(f"/api/v1/credentials/{credential_id}/oauth/revoke", headers=auth)

    assert response.status_code == 200 and response.json()["oauth"]["connected"] is False
    assert provider.revoked == []
    with session_scope() as session:
        assert session.exec(select(OAuthConnection)).all() == []
    assert CLIENT_ID not in response.text


def test_deleting_a_connected_credential_takes_its_tokens_and_sign_ins_with_it(
    client: TestClient, provider: FakeOAuthServer
) -> None:
    _, auth = signed_in()
    credential_id = oauth_credential(client, auth, provider.credential_data())
    client.get(callback_path(start(client, auth, credential_id)), follow_redirects=False)
    pending = callback_path(start(client, auth, credential_id))

    assert client.delete(f"/api/v1/credentials/{credential_id}", headers=auth).status_code == 204

    with session_scope() as session:
        assert session.exec(select(OAuthConnection)).all() == []
        assert session.exec(select(OAuthState)).all() == []
    assert "unknown to the studio" in refused(client, pending)
