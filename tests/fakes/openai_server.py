"""A real HTTP server on 127.0.0.1 speaking the part of the OpenAI API the AI nodes use, deterministically.

Routes (under ``/v1``, ``Authorization: Bearer <key>``; a wrong key is 401 ``invalid_api_key``):
    ``GET /models``              :data:`MODELS`.
    ``POST /chat/completions``   the "model" answers from the last user message only (instructions go in the
                                 system message, so they never leak into answers):
                                 - text: the message's first sentence;
                                 - ``json_object``: ``{"reply": <that sentence>}``;
                                 - ``json_schema``: an object filled from the message (:func:`fill`): an ``enum``
                                   takes the values the message mentions, a property ``name`` takes what follows
                                   ``name:`` in it;
                                 each cut to ``max_completion_tokens`` words (``finish_reason`` ``length``).
    ``POST /embeddings``         a unit vector per input derived from its SHA-256 (``dimensions``, default 8),
                                 as floats or base64 float32, as asked.
    ``POST /moderations``        flags inputs with a word of :data:`FLAGGED_WORDS`.
An unknown model is 404 ``model_not_found``. :attr:`FakeOpenAI.rate_limited` makes the next N requests answer
429 with ``Retry-After: <retry_after>``. Every request is recorded (:attr:`FakeOpenAI.requests`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "sk-fake-4f9d2c7a1b8e"
MODELS = ("gpt-fake-mini", "gpt-fake", "text-embedding-fake", "omni-moderation-fake")
FLAGGED_WORDS = {"kill": "violence", "attack": "violence", "hate": "hate", "idiot": "harassment"}
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    host: str
    port: int
    api_key: str = API_KEY
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    """How many of the next requests get 429."""
    retry_after: str = "0.05"
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def received(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path == f"/v1{path}"]


def _words(text: str) -> list[str]:
    return text.split()


def _user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
    return ""


def _after_name(name: str, text: str) -> str | None:
    """The text after ``name:`` (or ``name =``) up to the next comma, semicolon or line end."""
    label = re.escape(name).replace(r"\_", "[ _]")
    match = re.search(rf"\b{label}\s*[:=]\s*([^,;\n]+)", text, re.IGNORECASE)
    return match.group(1).strip().rstrip(".") if match else None


def _number(raw: str | None) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", raw or "")
    return float(match.group()) if match else None


def fill(schema: dict[str, Any], text: str, name: str = "") -> Any:
    """A value of ``schema`` made from ``text``: what a very literal model would extract."""
    if "enum" in schema:
        mentioned = [value for value in schema["enum"] if str(value).lower() in text.lower()]
        return mentioned[0] if mentioned else schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: fill(sub, text, key) for key, sub in properties.items()}
    if kind == "array":
        items = schema.get("items") or {}
        if "enum" in items:
            return [value for value in items["enum"] if str(value).lower() in text.lower()]
        raw = _after_name(name, text)
        return [fill(items, part.strip()) for part in raw.split(" and ")] if raw else []
    raw = _after_name(name, text) if name else text
    if kind in ("number", "integer"):
        number = _number(raw)
        if number is None:
            return 0
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return (raw or "").lower() in ("yes", "true", "1")
    return raw or ""


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    text = _user_text(body.get("messages") or [])
    response_format = body.get("response_format") or {"type": "text"}
    first_sentence = SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    if response_format.get("type") == "json_schema":
        content = json.dumps(fill(response_format["json_schema"].get("schema") or {}, text))
    elif response_format.get("type") == "json_object":
        content = json.dumps({"reply": first_sentence})
    else:
        content = first_sentence
    finish = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit and len(_words(content)) > limit:
        # Cut like a real model: mid-JSON if need be.
        content, finish = " ".join(_words(content)[:limit]), "length"
    prompt_tokens = sum(len(_words(str(m.get("content") or ""))) for m in body.get("messages") or [])
    completion_tokens = len(_words(content))
    return {
        "id": f"chatcmpl-{hashlib.sha256(content.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def vector(text: str, dimensions: int = 8) -> list[float]:
    """The fake's embedding of ``text``: deterministic, unit length."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return [value / norm for value in raw]


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    dimensions = int(body.get("dimensions") or 8)
    data = []
    for index, text in enumerate(texts):
        values = vector(str(text), dimensions)
        embedding: Any = values
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(len(_words(str(text))) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _moderations(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else [str(text) for text in inputs or []]
    results = []
    for text in texts:
        hits = {FLAGGED_WORDS[word] for word in re.findall(r"[a-z]+", text.lower()) if word in FLAGGED_WORDS}
        results.append(
            {
                "flagged": bool(hits),
                "categories": {category: category in hits for category in MODERATION_CATEGORIES},
                "category_scores": {category: 0.97 if category in hits else 0.01 for category in MODERATION_CATEGORIES},
                "category_applied_input_types": {category: ["text"] for category in MODERATION_CATEGORIES},
            }
        )
    return {"id": "modr-fake", "model": body.get("model") or "omni-moderation-fake", "results": results}


def _error(message: str, kind: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeOpenAI]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, status: int, data: Any, **headers: str) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw) if raw else {}
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, path, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if key != fake.api_key:
            shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
            message = f"Incorrect API key provided: {shown}. You can find your API key in your account settings."
            self._json(401, _error(message, "invalid_request_error", "invalid_api_key"))
            return
        if limited:
            message = "Rate limit reached for requests. Please try again shortly."
            self._json(429, _error(message, "requests", "rate_limit_exceeded"), Retry_After=fake.retry_after)
            return
        model = body.get("model")
        if model is not None and model not in MODELS:
            self._json(404, _error(f"The model `{model}` does not exist.", "invalid_request_error", "model_not_found"))
            return
        if self.command == "GET" and path == "/v1/models":
            models = [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for name in MODELS]
            self._json(200, {"object": "list", "data": models})
        elif self.command == "POST" and path == "/v1/chat/completions":
            self._json(200, _completion(body))
        elif self.command == "POST" and path == "/v1/embeddings":
            self._json(200, _embeddings(body))
        elif self.command == "POST" and path == "/v1/moderations":
            self._json(200, _moderations(body))
        else:
            self._json(
                404, _error(f"Unknown request URL: {self.command} {path}.", "invalid_request_error", "unknown_url")
            )

    do_GET = do_POST = _handle


@contextmanager
def fake_openai_server(api_key: str = API_KEY) -> Iterator[FakeOpenAI]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeOpenAI(host, port, api_key=api_key), name="fake-openai") as fake:
        yield fake
