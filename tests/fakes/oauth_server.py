"""A real OAuth2 authorization server on 127.0.0.1 (authorization code with PKCE), and an API it protects.

Routes:
    ``GET /authorize``   checks the client, ``redirect_uri`` and an S256 challenge, then "the user consents" at
                         once: 302 to ``redirect_uri?code=...&state=...`` (``?error=access_denied`` after
                         :meth:`FakeOAuthServer.deny_next`).
    ``POST /token``      ``authorization_code`` (checks the code, its redirect URI and the PKCE verifier) and
                         ``refresh_token`` (rotates: the old refresh token stops working); the client
                         authenticates in the body or with HTTP Basic.
    ``POST /revoke``     RFC 7009: revoking a refresh token ends its access tokens too.
    ``GET /resource``    200 ``{"ok": true, "authorization": <the header>}`` for a live access token, else 401.

Tokens expire after :attr:`FakeOAuthServer.expires_in` seconds (as the token response says), or at once
through :meth:`FakeOAuthServer.expire_access_tokens`, which the studio cannot see coming: only the 401 tells.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

CLIENT_ID = "studio-client"
CLIENT_SECRET = "client-secret-0f9e8d7c6b5a"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class FakeOAuthServer:
    host: str
    port: int
    expires_in: int = 3600
    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)
    """Live access tokens and when each expires (``time.monotonic``)."""
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    """Live refresh tokens and the grant (one per consent) each belongs to."""
    family: dict[str, str] = field(default_factory=dict)
    """Access token → its grant: revoking any token of a grant ends all of them (RFC 7009 2.1)."""
    scopes: dict[str, str] = field(default_factory=dict)
    """Grant → its scope."""
    grants: list[str] = field(default_factory=list)
    """Every successful token call's grant type, in order."""
    refused: list[str] = field(default_factory=list)
    """Why each refused token call was refused."""
    revoked: list[str] = field(default_factory=list)
    resource_calls: list[str] = field(default_factory=list)
    """``"ok"`` or ``"401"`` per call to ``/resource``."""
    deny: bool = False

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def credential_data(self, **overrides: Any) -> dict[str, Any]:
        """The data of a generic OAuth2 credential for this server."""
        return {
            "provider": "generic",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": "read write",
            "authorization_url": self.url("/authorize"),
            "token_url": self.url("/token"),
            "revoke_url": self.url("/revoke"),
            **overrides,
        }

    def deny_next(self) -> None:
        """The next sign-in is refused by "the user"."""
        self.deny = True

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def live_access_tokens(self) -> list[str]:
        now = time.monotonic()
        with self.lock:
            return [token for token, until in self.access_tokens.items() if until > now]

    def _issue(self, grant: str) -> dict[str, Any]:
        access = f"at-{secrets.token_urlsafe(24)}"
        refresh = f"rt-{secrets.token_urlsafe(24)}"
        self.access_tokens[access] = time.monotonic() + self.expires_in
        self.refresh_tokens[refresh] = grant
        self.family[access] = grant
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": refresh,
            "scope": self.scopes[grant],
        }


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeOAuthServer]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("content-length") or 0)
        return dict(parse_qsl(self.rfile.read(length).decode()))

    def _client_ok(self, form: dict[str, str]) -> bool:
        header = self.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (unquote_plus(user), unquote_plus(password)) == (CLIENT_ID, CLIENT_SECRET)
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        fake = self.server.fake
        if parts.path == "/authorize":
            self._authorize(query)
        elif parts.path == "/resource":
            token = self.headers.get("authorization", "").removeprefix("Bearer ")
            with fake.lock:
                live = fake.access_tokens.get(token, 0.0) > time.monotonic()
                fake.resource_calls.append("ok" if live else "401")
            if live:
                # Echoes the header, as careless APIs do: the studio must mask the token in what the run keeps.
                self._send(200, {"ok": True, "authorization": self.headers.get("authorization")})
            else:
                self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        else:
            self._send(404, {"error": "not_found"})

    def _authorize(self, query: dict[str, str]) -> None:
        fake = self.server.fake
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            self._send(400, {"error": "invalid_request"})
            return
        if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
            self._send(400, {"error": "invalid_request", "error_description": "PKCE S256 is required"})
            return
        target = query["redirect_uri"]
        with fake.lock:
            if fake.deny:
                fake.deny = False
                answer = {"error": "access_denied", "error_description": "The user said no", "state": query["state"]}
            else:
                code = f"code-{secrets.token_urlsafe(16)}"
                fake.codes[code] = _Grant(CLIENT_ID, target, query["code_challenge"], query.get("scope", ""))
                answer = {"code": code, "state": query["state"]}
        self._send(302, None, {"Location": f"{target}?{urlencode(answer)}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        form = self._form()
        if path == "/token":
            self._token(form)
        elif path == "/revoke":
            self._revoke(form)
        else:
            self._send(404, {"error": "not_found"})

    def _refuse(self, reason: str, error: str = "invalid_grant") -> None:
        with self.server.fake.lock:
            self.server.fake.refused.append(reason)
        self._send(400, {"error": error, "error_description": reason})

    def _token(self, form: dict[str, str]) -> None:
        fake = self.server.fake
        if not self._client_ok(form):
            self._refuse("bad client credentials", "invalid_client")
            return
        with fake.lock:
            if form.get("grant_type") == "authorization_code":
                grant = fake.codes.pop(form.get("code", ""), None)
                if grant is None:
                    problem = "unknown or used code"
                elif grant.redirect_uri != form.get("redirect_uri"):
                    problem = "redirect_uri differs"
                elif _challenge(form.get("code_verifier", "")) != grant.challenge:
                    problem = "PKCE verifier does not match"
                else:
                    problem = None
                    grant_id = f"grant-{len(fake.scopes)}"
                    fake.scopes[grant_id] = grant.scope
                    body = fake._issue(grant_id)
            elif form.get("grant_type") == "refresh_token":
                grant_id = fake.refresh_tokens.pop(form.get("refresh_token", ""), None)
                problem = "unknown, used or revoked refresh token" if grant_id is None else None
                if grant_id is not None:
                    body = fake._issue(grant_id)
            else:
                problem = "unsupported grant type"
            if problem is None:
                fake.grants.append(form["grant_type"])
        if problem is not None:
            self._refuse(problem)
            return
        self._send(200, body, {"Cache-Control": "no-store"})

    def _revoke(self, form: dict[str, str]) -> None:
        fake = self.server.fake
        if not self._client_ok(form):
            self._send(401, {"error": "invalid_client"})
            return
        token = form.get("token", "")
        with fake.lock:
            fake.revoked.append(token)
            grant_id = fake.refresh_tokens.get(token) or fake.family.get(token)
            for refresh, grant in list(fake.refresh_tokens.items()):
                if grant == grant_id:
                    del fake.refresh_tokens[refresh]
            for access, grant in list(fake.family.items()):
                if grant == grant_id:
                    fake.access_tokens.pop(access, None)
        self._send(200, {})


@contextmanager
def fake_oauth_server() -> Iterator[FakeOAuthServer]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeOAuthServer, name="fake-oauth") as fake:
        yield fake
