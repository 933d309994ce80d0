"""FTP: list a folder, download a file into the item, upload the item's file, delete or rename, over FTP or FTPS.

Paths are the server's: absolute (``/reports/may.csv``) or relative to the folder the login starts in.
Listing uses MLSD (RFC 3659), which states each entry's type, size and time exactly; servers without it
are read through LIST in the Unix ``ls -l`` or DOS format.
"""

from __future__ import annotations

import ftplib
import io
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import model_validator

from nodes.files._common import guess_mime_type, read_input
from nodes.files.ftp_credentials import DEFAULT_TIMEOUT_SECONDS, FtpCredential, close, connect
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

Operation = Literal["list", "download", "upload", "delete", "rename"]
MAX_ENTRIES = 10_000
"""A listing with more entries than this fails rather than flood the run with items."""
NOT_SUPPORTED = ("500", "502", "504")
"""Replies of a server that does not know a command (here: MLSD)."""
EXISTS = ("550", "521")
"""Replies to MKD for a folder that is already there."""

HINTS = {
    "530": "Check the credential's user and password.",
    "550": "Check the path (servers are usually case-sensitive) and that the user may read or write there.",
    "552": "The server's storage or the user's quota is full: free space, then retry.",
    "553": "The server refuses this file name: choose another.",
}

_UNIX_LINE = re.compile(
    r"^(?P<kind>[-dlbcps])[-rwxsStTl+.@]{9,10}\s+\d+\s+\S+(?:\s+\S+)?\s+(?P<size>\d+)\s+"
    r"(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+(?P<when>\d{1,2}:\d{2}|\d{4})\s(?P<name>.+)$"
)
_DOS_LINE = re.compile(
    r"^(?P<date>\d{2}-\d{2}-\d{2,4})\s+(?P<time>\d{1,2}:\d{2}[AP]M)\s+(?:(?P<dir><DIR>)|(?P<size>\d+))\s+(?P<name>.+)$"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


class FtpParameters(Parameters):
    operation: Operation = param(
        "list",
        title="Operation",
        description="list a folder (one item per entry); download a file into the item; upload the item's file; "
        "delete a file or folder; rename (or move) one.",
        no_expressions=True,
    )
    path: str = param(
        "/",
        title="Path",
        description="list: the folder; upload: where to store (ending in / keeps the file's own name); "
        "otherwise the file or folder. Absolute, or relative to the login's folder.",
        placeholder="/reports/{{ $json.month }}.csv",
    )
    new_path: str = param(
        "", title="New path", placeholder="/archive/{{ $json.month }}.csv", show_if={"operation": ["rename"]}
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="download: the property the file is put in; upload: the property holding the file.",
        show_if={"operation": ["download", "upload"]},
        min_length=1,
    )
    folder: bool = param(
        False, title="Delete a folder", description="The path is a folder.", show_if={"operation": ["delete"]}
    )
    recursive: bool = param(
        False,
        title="Recursive",
        description="list: include the entries of every subfolder; delete: a folder with everything in it.",
        show_if={"operation": ["list", "delete"]},
    )
    create_folders: bool = param(
        True,
        title="Create missing folders",
        description="Create the folders on the way to the new file or name.",
        show_if={"operation": ["upload", "rename"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> FtpParameters:
        if any(char in self.path + self.new_path for char in "\r\n"):
            raise ValueError("a path cannot contain a line break")
        if self.operation in ("download", "delete", "rename") and not self.path.strip("/ "):
            raise ValueError(f"{self.operation} needs the path of a file or folder")
        if self.operation == "rename" and not self.new_path.strip():
            raise ValueError("rename needs the new path")
        return self


class FtpNode(Node):
    type = "files.ftp"
    display_name = "FTP"
    category = Category.FILES
    description = "Lists, downloads, uploads, deletes or renames files on an FTP or FTPS server."
    icon = "server"
    Parameters = FtpParameters
    credentials = (CredentialRequirement("ftp"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields = FtpCredential.parse(ctx.credential("ftp"))
        remaining = ctx.remaining_seconds()
        timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, DEFAULT_TIMEOUT_SECONDS), 1.0)
        session = connect(fields, timeout)
        produced: list[Item] = []
        try:
            for index, item in enumerate(items):
                params: FtpParameters = ctx.params(index)
                produced.extend(_FtpItem(ctx, session, params, item, index).run())
        finally:
            close(session)
        return [produced]


class _FtpItem:
    """One item's operation on the open session."""

    def __init__(self, ctx: Context, session: ftplib.FTP, params: FtpParameters, item: Item, index: int) -> None:
        self.ctx = ctx
        self.session = session
        self.params = params
        self.item = item
        self.index = index

    @contextmanager
    def _refusals(self, action: str) -> Iterator[None]:
        """Turn the server's refusal (or a lost connection) into a NodeError naming the item and the action."""
        try:
            yield
        except ftplib.Error as err:
            reply = " ".join(str(err).split())
            code = reply[:3]
            hint = HINTS.get(code, "The server is busy or failing: retry later." if code.startswith("4") else "")
            raise NodeError(
                f"item {self.index}: the FTP server refused {action}: {reply}",
                description=hint or "See the server's reply above.",
                item_index=self.index,
            ) from err
        except (OSError, EOFError) as err:
            raise NodeError(
                f"item {self.index}: the connection to the FTP server failed while {action}: "
                f"{err or type(err).__name__}",
                description="Retry the node; with a firewall in between, try the other passive mode setting.",
                item_index=self.index,
            ) from err

    def run(self) -> list[Item]:
        match self.params.operation:
            case "list":
                return self._list()
            case "download":
                return [self._download()]
            case "upload":
                return [self._upload()]
            case "delete":
                return [self._delete()]
            case "rename":
                return [self._rename()]
        raise AssertionError(f"unhandled operation {self.params.operation!r}")

    def _list(self) -> list[Item]:
        folder = self.params.path.strip() or "."
        entries: list[dict[str, Any]] = []
        pending = [folder]
        while pending:
            current = pending.pop(0)
            for entry in self._entries(current):
                entries.append(entry)
                if len(entries) > MAX_ENTRIES:
                    raise NodeError(
                        f"item {self.index}: {folder!r} holds more than {MAX_ENTRIES} entries",
                        description="List a narrower folder, or turn off Recursive.",
                        item_index=self.index,
                    )
                if self.params.recursive and entry["type"] == "directory":
                    pending.append(entry["path"])
        return [Item(entry, paired_item=self.index) for entry in entries]

    def _entries(self, folder: str) -> list[dict[str, Any]]:
        """The entries of one folder, from MLSD or else LIST."""
        with self._refusals(f"listing {folder!r}"):
            try:
                # Without asking for facts (OPTS MLST, which some servers refuse): every server sends these.
                listed = list(self.session.mlsd(folder))
            except ftplib.error_perm as err:
                if not str(err).startswith(NOT_SUPPORTED):
                    raise
                lines: list[str] = []
                self.session.retrlines(f"LIST {folder}", lines.append)
                return [entry for line in lines if (entry := _list_line(line, folder)) is not None]
        entries = []
        for name, facts in listed:
            kind = facts.get("type", "").lower()
            if kind in ("cdir", "pdir") or name in (".", ".."):
                continue
            entries.append(
                {
                    "name": name,
                    "path": posixpath.join(folder, name),
                    "type": {"dir": "directory", "file": "file"}.get(kind, "link" if "link" in kind else kind),
                    "size": int(facts["size"]) if facts.get("size", "").isdigit() else None,
                    "modified": _mlsd_time(facts.get("modify", "")),
                }
            )
        return entries

    def _download(self) -> Item:
        path = self.params.path.strip()
        buffer = io.BytesIO()
        with self._refusals(f"downloading {path!r}"):
            self.session.retrbinary(f"RETR {path}", buffer.write)
        data = buffer.getvalue()
        name = PurePosixPath(path).name
        reference = self.ctx.store_binary(data, file_name=name, mime_type=guess_mime_type(name))
        return Item(
            {**self.item.json, "ftp": {"path": path, "size": len(data)}},
            binary={**self.item.binary, self.params.binary_property: reference},
            paired_item=self.index,
        )

    def _upload(self) -> Item:
        data, reference = read_input(self.ctx, self.item, self.params.binary_property, self.index)
        path = self.params.path.strip()
        if not path or path.endswith("/"):
            # Only the name: a stored file name like "../x" must not pick the folder.
            path += PurePosixPath(str(reference.get("file_name") or "")).name or self.params.binary_property
        if self.params.create_folders:
            self._make_folders(posixpath.dirname(path))
        with self._refusals(f"uploading to {path!r}"):
            self.session.storbinary(f"STOR {path}", io.BytesIO(data))
        return Item(
            {**self.item.json, "ftp": {"path": path, "size": len(data)}},
            binary=dict(self.item.binary),
            paired_item=self.index,
        )

    def _delete(self) -> Item:
        path = self.params.path.strip()
        with self._refusals(f"deleting {path!r}"):
            if not self.params.folder:
                self.session.delete(path)
            elif self.params.recursive:
                self._delete_tree(path)
            else:
                self.session.rmd(path)
        return Item({"path": path, "deleted": True}, paired_item=self.index)

    def _delete_tree(self, folder: str) -> None:
        for entry in self._entries(folder):
            if entry["type"] == "directory":
                self._delete_tree(entry["path"])
            else:
                self.session.delete(entry["path"])
        self.session.rmd(folder)

    def _rename(self) -> Item:
        path, new_path = self.params.path.strip(), self.params.new_path.strip()
        if self.params.create_folders:
            self._make_folders(posixpath.dirname(new_path))
        with self._refusals(f"renaming {path!r} to {new_path!r}"):
            self.session.rename(path, new_path)
        return Item({"path": path, "new_path": new_path, "renamed": True}, paired_item=self.index)

    def _make_folders(self, folder: str) -> None:
        """Create ``folder`` and its parents, one level at a time; levels already there are fine."""
        if folder in ("", ".", "/"):
            return
        prefix = "/" if folder.startswith("/") else ""
        for part in [part for part in folder.split("/") if part]:
            prefix = posixpath.join(prefix, part) if prefix else part
            with self._refusals(f"creating the folder {prefix!r}"):
                try:
                    self.session.mkd(prefix)
                except ftplib.error_perm as err:
                    # Servers answer 550 for a folder that exists; a real refusal shows when the file is stored.
                    if not str(err).startswith(EXISTS):
                        raise


def _mlsd_time(value: str) -> str | None:
    """An MLSD ``modify`` fact (``YYYYMMDDHHMMSS[.sss]``, always UTC) as ISO 8601."""
    try:
        moment = datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.isoformat()


def _list_line(line: str, folder: str) -> dict[str, Any] | None:
    """One line of a LIST answer (Unix ``ls -l`` or DOS style) as an entry; ``None`` for totals and the like."""
    unix = _UNIX_LINE.match(line)
    if unix:
        name = unix["name"]
        kind = {"d": "directory", "l": "link", "-": "file"}.get(unix["kind"], "other")
        if kind == "link":
            name = name.split(" -> ", 1)[0]
        if name in (".", ".."):
            return None
        return {
            "name": name,
            "path": posixpath.join(folder, name),
            "type": kind,
            "size": int(unix["size"]),
            "modified": _unix_time(unix["month"], int(unix["day"]), unix["when"]),
        }
    dos = _DOS_LINE.match(line)
    if dos:
        name = dos["name"]
        return {
            "name": name,
            "path": posixpath.join(folder, name),
            "type": "directory" if dos["dir"] else "file",
            "size": None if dos["dir"] else int(dos["size"]),
            "modified": _dos_time(dos["date"], dos["time"]),
        }
    return None


def _unix_time(month: str, day: int, when: str) -> str | None:
    """``ls -l``'s date (a year for old files, a time for the last six months) as ISO 8601, server time."""
    number = _MONTHS.get(month.lower())
    if number is None:
        return None
    now = datetime.now(UTC)
    try:
        if ":" in when:
            hour, minute = (int(part) for part in when.split(":"))
            moment = datetime(now.year, number, day, hour, minute)
            # Without a year the date is within the last six months: a date ahead of now is last year's.
            if moment > now.replace(tzinfo=None):
                moment = moment.replace(year=now.year - 1)
        else:
            moment = datetime(int(when), number, day)
    except ValueError:
        return None
    return moment.isoformat()


def _dos_time(date: str, time: str) -> str | None:
    for pattern in ("%m-%d-%y %I:%M%p", "%m-%d-%Y %I:%M%p"):
        try:
            return datetime.strptime(f"{date} {time}", pattern).isoformat()
        except ValueError:
            continue
    return None
