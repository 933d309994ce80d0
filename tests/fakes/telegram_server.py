"""A real HTTP server on 127.0.0.1 speaking the part of the Telegram Bot API the Telegram nodes use.

Methods (``POST /bot<token>/<method>``, JSON, form or multipart bodies; multipart fields holding JSON, such as
``reply_markup``, are decoded as Telegram does):
    ``getMe``            the bot.
    ``sendMessage``      needs ``text``; answers the Message.
    ``sendPhoto``        ``photo`` as a URL (``http(s)://``; one ending in ``/missing.png`` is refused as Telegram
                         refuses a URL it cannot fetch) or an uploaded file; answers the Message with ``photo`` sizes.
    ``sendDocument``     ``document`` as a URL or an uploaded file; answers the Message with ``document``.
    ``editMessageText``  a message it sent, else 400 ``message to edit not found``.
    ``deleteMessage``    a message it sent, else 400 ``message to delete not found``.
    ``pinChatMessage``   a message it sent, else 400 ``message to pin not found``.
Chats must be known (:meth:`FakeTelegram.add_chat`), else 400 ``Bad Request: chat not found``; a wrong token
is 401 ``Unauthorized``; an unknown method 404 ``Not Found``; a path not under ``/bot`` an HTML 404 page.
Set :attr:`FakeTelegram.rate_limited` to answer the next that many calls with 429 and ``parameters.retry_after``.
Errors are ``{"ok": false, "error_code", "description"}``, as Telegram answers. Every call is recorded in
:attr:`FakeTelegram.calls`.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "123456789:AAEfakeTelegramBotToken_0123456789"
BOT = {"id": 123456789, "is_bot": True, "first_name": "HITL Bot", "username": "hitl_studio_bot"}
RETRY_AFTER = 17
JSON_FIELDS = ("reply_markup", "reply_parameters", "entities", "caption_entities")


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart part."""

    field: str
    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class TelegramCall:
    """One Bot API call: the token in the URL, the method, its arguments and uploaded files."""

    token: str
    method: str
    args: dict[str, Any]
    files: dict[str, Upload]
    content_type: str


class _Refusal(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.body["parameters"] = parameters


@dataclass
class FakeTelegram:
    host: str
    port: int
    token: str = TOKEN
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Known chats by id (as text): ``{"id", "type", "title"|"first_name"}``."""
    messages: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    """Every message the bot sent, by (chat id, message id)."""
    pinned: dict[str, int] = field(default_factory=dict)
    calls: list[TelegramCall] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(101))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_chat(self, chat_id: int | str, kind: str = "private", name: str = "Ada") -> dict[str, Any]:
        chat: dict[str, Any] = {"id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id, "type": kind}
        chat["first_name" if kind == "private" else "title"] = name
        with self.lock:
            self.chats[str(chat_id)] = chat
        return chat

    def called(self, method: str) -> list[TelegramCall]:
        with self.lock:
            return [call for call in self.calls if call.method == method]


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    args: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files[name] = Upload(name, str(part.get_filename()), str(part.get_content_type()), data)
        else:
            args[name] = data.decode()
    return args, files


def _decoded(args: dict[str, Any]) -> dict[str, Any]:
    """Form values are text; Telegram reads JSON-valued fields, numbers and booleans out of them."""
    result = dict(args)
    for name, value in args.items():
        if not isinstance(value, str):
            continue
        if name in JSON_FIELDS:
            result[name] = json.loads(value)
        elif name in ("message_id",) and value.isdigit():
            result[name] = int(value)
        elif value in ("true", "false"):
            result[name] = value == "true"
    return result


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeTelegram]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        content_type = self.headers.get("content-type", "")
        files: dict[str, Upload] = {}
        if content_type.startswith("multipart/form-data"):
            args, files = _multipart(content_type, body)
        elif content_type.startswith("application/json"):
            args = json.loads(body or b"{}")
        else:
            args = dict(parse_qsl(body.decode(), keep_blank_values=True))
        args = _decoded(args)
        path = urlsplit(self.path).path
        token, _, method = path.removeprefix("/bot").partition("/")
        with fake.lock:
            fake.calls.append(TelegramCall(token, method, args, files, content_type))
        if not path.startswith("/bot"):
            # Not the Bot API: a web server's page, as any other address would answer.
            page = b"<html><body><h1>404 Not Found</h1></body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        try:
            if token != fake.token:
                raise _Refusal(401, "Unauthorized")
            self._json(200, {"ok": True, "result": self._answer(fake, method, args, files)})
        except _Refusal as refusal:
            self._json(refusal.status, refusal.body)

    def _answer(self, fake: FakeTelegram, method: str, args: dict[str, Any], files: dict[str, Upload]) -> Any:
        with fake.lock:
            if fake.rate_limited:
                fake.rate_limited -= 1
                raise _Refusal(429, f"Too Many Requests: retry after {RETRY_AFTER}", retry_after=RETRY_AFTER)
        if method == "getMe":
            return BOT
        if method not in (
            "sendMessage",
            "sendPhoto",
            "sendDocument",
            "editMessageText",
            "deleteMessage",
            "pinChatMessage",
        ):
            raise _Refusal(404, "Not Found")
        chat_id = str(args.get("chat_id") or "")
        if not chat_id:
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat = fake.chats.get(chat_id)
        if chat is None:
            raise _Refusal(400, "Bad Request: chat not found")
        if method == "sendMessage":
            if not str(args.get("text") or "").strip():
                raise _Refusal(400, "Bad Request: message text is empty")
            return self._store(fake, chat, args, {"text": args["text"]})
        if method in ("sendPhoto", "sendDocument"):
            return self._store(fake, chat, args, self._file(method, args, files))
        key = (chat_id, int(args.get("message_id") or 0))
        with fake.lock:
            stored = fake.messages.get(key)
            if method == "editMessageText":
                if stored is None:
                    raise _Refusal(400, "Bad Request: message to edit not found")
                if stored.get("text") == args.get("text"):
                    raise _Refusal(
                        400,
                        "Bad Request: message is not modified: specified new message content and reply markup "
                        "are exactly the same as a current content and reply markup of the message",
                    )
                stored["text"] = args.get("text")
                stored["edit_date"] = 1700000100
                if "reply_markup" in args:
                    stored["reply_markup"] = args["reply_markup"]
                return dict(stored)
            if method == "deleteMessage":
                if stored is None:
                    raise _Refusal(400, "Bad Request: message to delete not found")
                del fake.messages[key]
                return True
            if stored is None:
                raise _Refusal(400, "Bad Request: message to pin not found")
            fake.pinned[chat_id] = key[1]
            return True

    def _file(self, method: str, args: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        kind = "photo" if method == "sendPhoto" else "document"
        upload = files.get(kind)
        if upload is None:
            url = str(args.get(kind) or "")
            if not url.startswith(("http://", "https://")):
                raise _Refusal(400, "Bad Request: wrong remote file identifier specified: Wrong string length")
            if url.endswith("/missing.png"):
                raise _Refusal(400, "Bad Request: failed to get HTTP URL content")
            name, size = url.rsplit("/", 1)[-1], 1000
        else:
            name, size = upload.file_name, len(upload.content)
        content: dict[str, Any] = {}
        if args.get("caption"):
            content["caption"] = args["caption"]
        if kind == "photo":
            content["photo"] = [{"file_id": f"AgAC-{name}", "file_unique_id": name, "width": 90, "height": 90}]
        else:
            content["document"] = {"file_id": f"BQAC-{name}", "file_name": name, "file_size": size}
            if upload is not None:
                content["document"]["mime_type"] = upload.content_type
        return content

    def _store(
        self, fake: FakeTelegram, chat: dict[str, Any], args: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        with fake.lock:
            message = {"message_id": next(fake._ids), "from": BOT, "chat": chat, "date": 1700000000, **content}
            reply = (args.get("reply_parameters") or {}).get("message_id")
            if reply is not None:
                replied = fake.messages.get((str(args["chat_id"]), int(reply)))
                if replied is None:
                    raise _Refusal(400, "Bad Request: message to be replied not found")
                message["reply_to_message"] = dict(replied)
            if args.get("reply_markup"):
                message["reply_markup"] = args["reply_markup"]
            fake.messages[(str(args["chat_id"]), message["message_id"])] = message
            return dict(message)


@contextmanager
def fake_telegram_server(token: str = TOKEN) -> Iterator[FakeTelegram]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeTelegram(host, port, token=token), name="fake-telegram") as fake:
        yield fake
