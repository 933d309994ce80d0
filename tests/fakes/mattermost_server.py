"""A real HTTP server on 127.0.0.1 speaking the part of Mattermost's REST API v4 the Mattermost nodes use.

Routes (under ``/api/v4``, ``Authorization: Bearer <token>``, else 401 ``api.context.session_expired.app_error``):
    ``GET /users/me``                       the token's user.
    ``POST /posts``                         create: ``channel_id`` (a known channel, else 403
                                            ``api.context.permissions.app_error`` as Mattermost answers for a
                                            channel the user cannot see), ``message``, ``root_id`` (a post of the
                                            channel, else 400), ``props``; 201 with the post.
    ``PUT /posts/<id>/patch``               change ``message`` and ``props``; 404 ``app.post.get.app_error``.
    ``DELETE /posts/<id>``                  ``{"status": "OK"}``.
    ``POST /reactions``                     ``user_id`` (the token's user, else 403), ``post_id``, ``emoji_name``.
    ``GET /channels/<id>/posts?page&per_page``  ``{"order", "posts", "next_post_id", "prev_post_id"}``, newest first;
                                            ``per_page`` over 200 is cut to 200, as Mattermost does.
Any path outside ``/api/v4`` is answered with the web app's HTML (200), as Mattermost does.
Errors are ``{"id", "message", "detailed_error", "request_id", "status_code"}``. Set
:attr:`FakeMattermost.rate_limited` to answer the next that many requests with 429 and the text body Mattermost's
rate limiter sends. Every request is recorded in :attr:`FakeMattermost.requests`.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "mmfaketoken0123456789abcdef"
USER = {"id": "uuuuuuuuuuuuuuuuuuuuuuuuu1", "username": "hitl-bot", "is_bot": True}
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "id": error_id,
            "message": message,
            "detailed_error": "",
            "request_id": "req0000000000000000000000001",
            "status_code": status,
        }


@dataclass
class FakeMattermost:
    host: str
    port: int
    token: str = TOKEN
    channels: set[str] = field(default_factory=set)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every post, by id, in creation order."""
    reactions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_channel(self, number: int = 1) -> str:
        channel = f"c{number:025d}"
        with self.lock:
            self.channels.add(channel)
        return channel

    def add_post(self, channel: str, message: str, root_id: str = "", props: Any = None) -> dict[str, Any]:
        with self.lock:
            count = next(self._ids)
            post = {
                "id": f"p{count:025d}",
                "create_at": 1700000000000 + count,
                "update_at": 1700000000000 + count,
                "user_id": USER["id"],
                "channel_id": channel,
                "root_id": root_id,
                "message": message,
                "type": "",
                "props": props or {},
            }
            self.posts[post["id"]] = post
        return dict(post)

    def received(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeMattermost]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            self._send(429, b"limit exceeded\n", "text/plain; charset=utf-8")
            return
        if not parts.path.startswith("/api/v4/"):
            # Mattermost serves its web app for every other path.
            self._send(200, b"<!doctype html><title>Mattermost</title>", "text/html")
            return
        try:
            if headers.get("authorization") != f"Bearer {fake.token}":
                raise _Refusal(
                    401, "api.context.session_expired.app_error", "Invalid or expired session, please login again."
                )
            status, answer = self._answer(fake, parts.path.removeprefix("/api/v4"), query, body or {})
        except _Refusal as refusal:
            self._send(refusal.status, json.dumps(refusal.body).encode())
            return
        self._send(status, json.dumps(answer).encode())

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _post(self, fake: FakeMattermost, post_id: str) -> dict[str, Any]:
        post = fake.posts.get(post_id)
        if post is None:
            raise _Refusal(404, "app.post.get.app_error", "Unable to get the post.")
        return post

    def _answer(self, fake: FakeMattermost, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        method = self.command
        segments = path.strip("/").split("/")
        if method == "GET" and path == "/users/me":
            return 200, USER
        if method == "POST" and path == "/posts":
            channel = str(body.get("channel_id") or "")
            if channel not in fake.channels:
                raise _Refusal(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
            root = str(body.get("root_id") or "")
            if root and (root not in fake.posts or fake.posts[root]["channel_id"] != channel):
                raise _Refusal(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
            if not body.get("message") and not (body.get("props") or {}).get("attachments"):
                raise _Refusal(400, "model.post.is_valid.msg.app_error", "Invalid Message.")
            return 201, fake.add_post(channel, str(body.get("message") or ""), root, body.get("props"))
        if method == "PUT" and len(segments) == 3 and segments[0] == "posts" and segments[2] == "patch":
            with fake.lock:
                post = self._post(fake, segments[1])
                if "message" in body:
                    post["message"] = body["message"]
                if "props" in body:
                    post["props"] = body["props"]
                post["update_at"] += 1000
                post["edit_at"] = post["update_at"]
                return 200, dict(post)
        if method == "DELETE" and len(segments) == 2 and segments[0] == "posts":
            with fake.lock:
                self._post(fake, segments[1])
                del fake.posts[segments[1]]
            return 200, {"status": "OK"}
        if method == "POST" and path == "/reactions":
            if body.get("user_id") != USER["id"]:
                raise _Refusal(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
            with fake.lock:
                self._post(fake, str(body.get("post_id") or ""))
                reaction = {
                    "user_id": body["user_id"],
                    "post_id": body["post_id"],
                    "emoji_name": body.get("emoji_name"),
                    "create_at": 1700000009000,
                }
                fake.reactions.append(reaction)
            return 200, reaction
        if method == "GET" and len(segments) == 3 and segments[0] == "channels" and segments[2] == "posts":
            return 200, self._channel_posts(fake, segments[1], query)
        raise _Refusal(404, "api.context.404.app_error", "Sorry, we could not find the page.")

    def _channel_posts(self, fake: FakeMattermost, channel: str, query: dict[str, str]) -> dict[str, Any]:
        if channel not in fake.channels:
            raise _Refusal(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        page = int(query.get("page", "0"))
        per_page = min(int(query.get("per_page", "60")), MAX_PER_PAGE)
        with fake.lock:
            newest_first = [post for post in reversed(fake.posts.values()) if post["channel_id"] == channel]
        chunk = newest_first[page * per_page : (page + 1) * per_page]
        return {
            "order": [post["id"] for post in chunk],
            "posts": {post["id"]: dict(post) for post in chunk},
            "next_post_id": "",
            "prev_post_id": "",
            "has_next": (page + 1) * per_page < len(newest_first),
        }


@contextmanager
def fake_mattermost_server(token: str = TOKEN) -> Iterator[FakeMattermost]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeMattermost(host, port, token=token), name="fake-mattermost") as fake:
        yield fake
