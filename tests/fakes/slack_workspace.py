"""A Slack workspace behind :mod:`tests.fakes.slack_server`: channels, members, reactions and files.

Plugged in as the fake's :attr:`~tests.fakes.slack_server.FakeSlack.extension`, it answers the Web API
methods the Slack nodes call, with Slack's answer shapes and error codes:

    ``auth.test``, ``chat.delete``, ``chat.getPermalink`` (messages are the fake's own),
    ``conversations.list`` / ``.history`` (cursor pages of ``limit``), ``conversations.create``,
    ``users.info``, ``users.lookupByEmail``, ``reactions.add`` / ``.remove``,
    ``files.getUploadURLExternal``, ``POST /upload/<file id>`` (the bytes), ``files.completeUploadExternal``.

Use it through :func:`slack_workspace`::

    with fake_slack_server() as slack:
        workspace = slack_workspace(slack)
        workspace.add_channel("general")
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_server import FakeSlack

TEAM = "Fake Workspace"
BOT_USER = "hitl-bot"
BOT_USER_ID = "UBOT00001"
PERMALINK_HOST = "https://fake-workspace.slack.test"
CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")


@dataclass
class UploadedFile:
    id: str
    name: str
    length: int
    content: bytes | None = None
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class SlackWorkspace:
    fake: FakeSlack
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    reactions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """Emoji names on each message (channel, ts), in the order they were added."""
    files: dict[str, UploadedFile] = field(default_factory=dict)
    page_cap: int = 1000
    """The most entries one page holds, whatever ``limit`` asks (Slack too may return fewer)."""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_channel(self, name: str, *, is_private: bool = False, is_archived: bool = False) -> dict[str, Any]:
        channel = {
            "id": f"C{next(self._ids):08d}",
            "name": name,
            "is_channel": True,
            "is_private": is_private,
            "is_archived": is_archived,
            "created": 1_700_000_000,
        }
        with self.fake.lock:
            self.channels[channel["id"]] = channel
        return channel

    def add_user(self, name: str, email: str) -> dict[str, Any]:
        user = {
            "id": f"U{next(self._ids):08d}",
            "name": name,
            "real_name": name.title(),
            "profile": {"email": email, "real_name": name.title()},
            "is_bot": False,
        }
        with self.fake.lock:
            self.users[user["id"]] = user
        return user

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return handler(args) if handler is not None else None

    def upload(self, path: str, body: bytes) -> dict[str, Any]:
        file_id = path.rsplit("/", 1)[-1]
        with self.fake.lock:
            pending = self.files.get(file_id)
            if pending is None or len(body) != pending.length:
                return {"ok": False, "error": "upload_failed"}
            pending.content = body
        return {"ok": True}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team": TEAM, "team_id": "T00000001", "user": BOT_USER, "user_id": BOT_USER_ID}

    def _message(self, args: dict[str, Any], ts_name: str) -> tuple[str, str] | None:
        key = (str(args.get("channel") or ""), str(args.get(ts_name) or ""))
        return key if key in self.fake.messages else None

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.fake.lock:
            key = self._message(args, "ts")
            if key is None:
                return {"ok": False, "error": "message_not_found"}
            del self.fake.messages[key]
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        key = self._message(args, "message_ts")
        if key is None:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": key[0],
            "permalink": f"{PERMALINK_HOST}/archives/{key[0]}/p{key[1].replace('.', '')}",
        }

    def _page(self, entries: list[dict[str, Any]], args: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page of ``limit`` entries from the offset in ``cursor``, and the next cursor."""
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or 100), self.page_cap)
        page = entries[start : start + limit]
        following = start + limit if start + limit < len(entries) else None
        return page, {"next_cursor": str(following) if following is not None else ""}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        kinds = set(str(args.get("types") or "public_channel").split(","))
        exclude_archived = str(args.get("exclude_archived")).lower() in ("1", "true")
        with self.fake.lock:
            channels = [
                dict(channel)
                for channel in self.channels.values()
                if ("private_channel" if channel["is_private"] else "public_channel") in kinds
                and not (exclude_archived and channel["is_archived"])
            ]
        page, metadata = self._page(channels, args)
        return {"ok": True, "channels": page, "response_metadata": metadata}

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name") or "")
        if not CHANNEL_NAME.match(name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(channel["name"] == name for channel in self.channels.values()):
            return {"ok": False, "error": "name_taken"}
        is_private = str(args.get("is_private")).lower() in ("1", "true")
        return {"ok": True, "channel": self.add_channel(name, is_private=is_private)}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        with self.fake.lock:
            messages = [
                {"type": "message", "user": BOT_USER_ID, "ts": ts, "text": message.get("text") or ""}
                for (where, ts), message in self.fake.messages.items()
                if where == channel and oldest < float(ts) < latest
            ]
        messages.sort(key=lambda message: float(message["ts"]), reverse=True)
        page, metadata = self._page(messages, args)
        return {"ok": True, "messages": page, "has_more": bool(metadata["next_cursor"]), "response_metadata": metadata}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for user in self.users.values():
            if user["profile"]["email"].lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.fake.lock:
            key = self._message(args, "timestamp")
            if key is None:
                return {"ok": False, "error": "message_not_found"}
            names = self.reactions.setdefault(key, [])
            if args.get("name") in names:
                return {"ok": False, "error": "already_reacted"}
            names.append(str(args.get("name")))
        return {"ok": True}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.fake.lock:
            key = self._message(args, "timestamp")
            if key is None:
                return {"ok": False, "error": "message_not_found"}
            names = self.reactions.get(key, [])
            if args.get("name") not in names:
                return {"ok": False, "error": "no_reaction"}
            names.remove(str(args.get("name")))
        return {"ok": True}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("filename") or "")
        length = int(args.get("length") or 0)
        if not name or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        with self.fake.lock:
            self.files[file_id] = UploadedFile(file_id, name, length)
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"http://{self.fake.host}:{self.fake.port}/upload/{file_id}",
        }

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if isinstance(entries, str):
            entries = json.loads(entries)
        channel = str(args.get("channel_id") or "") or None
        if channel is not None and channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        completed = []
        with self.fake.lock:
            for entry in entries or []:
                uploaded = self.files.get(str(entry.get("id")))
                if uploaded is None or uploaded.content is None:
                    return {"ok": False, "error": "file_not_found"}
                uploaded.title = str(entry.get("title") or uploaded.name)
                uploaded.channel = channel
                uploaded.thread_ts = args.get("thread_ts")
                uploaded.initial_comment = args.get("initial_comment")
                completed.append(
                    {
                        "id": uploaded.id,
                        "name": uploaded.name,
                        "title": uploaded.title,
                        "size": len(uploaded.content),
                        "channels": [channel] if channel else [],
                        "permalink": f"{PERMALINK_HOST}/files/{BOT_USER_ID}/{uploaded.id}/{uploaded.name}",
                    }
                )
        return {"ok": True, "files": completed}


def slack_workspace(fake: FakeSlack) -> SlackWorkspace:
    """A workspace answering on ``fake`` from now on."""
    workspace = SlackWorkspace(fake)
    fake.extension = workspace
    return workspace
