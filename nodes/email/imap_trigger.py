"""Email Trigger (IMAP): starts a run for each poll that finds new mail in a mailbox.

New means a higher UID than the last one seen. IMAP gives each message of a
mailbox a UID that only grows, so the cursor is just the highest UID seen and
the mailbox's UIDVALIDITY: when that changes the mailbox was recreated, its
UIDs start over, and the poll starts over as from no cursor (what is there
then is not new). Messages are fetched with ``BODY.PEEK[]``, which leaves them
unread unless "Mark as read" asks otherwise.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import mimetypes
import re
from collections.abc import Iterator, Mapping
from datetime import UTC
from email.message import EmailMessage, Message
from typing import Any

from nodes._rest import clamp_timeout
from nodes.email.credentials import (
    DEFAULT_TIMEOUT_SECONDS,
    ImapCredential,
    close_imap,
    encode_mailbox,
    imap_text,
    open_imap,
)
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    NodeError,
    Poll,
    PollParameters,
    PollTriggerNode,
    param,
)

FETCH_BATCH = 50
"""Messages fetched per FETCH command: few round trips, no command line too long for a server."""

_UID = re.compile(rb"\bUID (\d+)")
_MALFORMED = (ValueError, TypeError, IndexError, LookupError, AttributeError)
"""What the email package raises on headers it cannot parse: one odd message must not block the mailbox."""


class EmailImapTriggerParameters(PollParameters):
    mailbox: str = param(
        "INBOX",
        title="Mailbox",
        description="The folder to watch, as the server names it: INBOX, or e.g. Archive/Invoices.",
        min_length=1,
    )
    only_unseen: bool = param(
        False,
        title="Only unread",
        description="Start runs only for new messages not yet marked as read (IMAP's \\Seen flag).",
    )
    mark_as_read: bool = param(
        False,
        title="Mark as read",
        description="Mark the messages a poll finds as read. Otherwise reading them leaves them unread.",
    )
    include_attachments: bool = param(
        False,
        title="Include attachments",
        description="Put each attachment's file in the item's binary data, as attachment_0, attachment_1...",
    )
    max_messages: int = param(
        100,
        title="Messages per poll",
        description="At most this many messages per poll; the rest come with the next polls, oldest first.",
        advanced=True,
        ge=1,
        le=1000,
    )


class EmailImapTrigger(PollTriggerNode):
    type = "trigger.email_imap"
    display_name = "Email Trigger (IMAP)"
    category = Category.TRIGGER
    description = "Starts the workflow when new email arrives in an IMAP mailbox, one item per message, oldest first."
    icon = "mail"
    Parameters = EmailImapTriggerParameters
    credentials = (CredentialRequirement("imap"),)
    subtitle = "mailbox"

    def poll(self, ctx: Context, cursor: Mapping[str, Any] | None) -> Poll:
        params: EmailImapTriggerParameters = ctx.params()
        fields = ImapCredential.parse(ctx.credential("imap"))
        timeout = clamp_timeout(ctx.remaining_seconds(), DEFAULT_TIMEOUT_SECONDS)
        where = f"{fields.host}:{fields.port}"
        client = open_imap(fields, timeout)
        try:
            return _poll(ctx, client, params, cursor, where)
        except (OSError, imaplib.IMAP4.error) as err:
            raise NodeError(
                f"reading the mailbox {params.mailbox!r} on the IMAP server {where} failed: {imap_text(err)}",
                description="Check the server and try again; the next poll starts from the same place.",
            ) from err
        finally:
            # LOGOUT, never CLOSE: CLOSE would expunge messages another client marked \Deleted.
            close_imap(client)


def _poll(
    ctx: Context,
    client: imaplib.IMAP4,
    params: EmailImapTriggerParameters,
    cursor: Mapping[str, Any] | None,
    where: str,
) -> Poll:
    status, data = client.select(encode_mailbox(params.mailbox), readonly=not params.mark_as_read)
    if status != "OK":
        raise NodeError(
            f"the IMAP server {where} cannot open the mailbox {params.mailbox!r}: {_reply(data)}",
            description="Check the Mailbox setting: the folder must exist, names are case-sensitive (except INBOX), "
            "and subfolders use the server's separator, often / or .",
        )
    uidvalidity = _uidvalidity(client, params.mailbox)
    fresh = cursor is None or cursor.get("uidvalidity") != uidvalidity
    last_uid = 0 if fresh or cursor is None else int(cursor.get("last_uid", 0))
    # "n:*" always matches the newest message, even when its UID is below n: hence the filter.
    after = f"{last_uid + 1}:*"
    every = sorted(uid for uid in _search(client, "UID", after) if uid > last_uid)
    wanted = (
        sorted(uid for uid in _search(client, "UID", after, "UNSEEN") if uid > last_uid)
        if params.only_unseen
        else every
    )
    if fresh:
        # What is there now: the newest messages, and everything counts as seen from here on.
        chosen = wanted[-params.max_messages :]
        newest = max(every, default=0)
    else:
        # New mail: the oldest first, so what does not fit comes with the next poll.
        chosen = wanted[: params.max_messages]
        newest = chosen[-1] if len(wanted) > params.max_messages else max(every, default=last_uid)
    raw = _fetch(client, chosen)
    # A message deleted between SEARCH and FETCH is simply gone.
    items = [_item(ctx, uid, raw[uid], params.include_attachments) for uid in chosen if uid in raw]
    # The first poll after activation only takes its cursor; its items start no run, so they stay unread.
    discarded = cursor is None and ctx.execution_mode == "poll"
    if params.mark_as_read and chosen and not discarded:
        for batch in _batches(chosen):
            status, data = client.uid("STORE", batch, "+FLAGS.SILENT", r"(\Seen)")
            if status != "OK":
                raise NodeError(
                    f"the IMAP server {where} refused to mark messages as read in {params.mailbox!r}: {_reply(data)}",
                    description="Check that the user may change this mailbox, or turn off Mark as read.",
                )
    return Poll(items=items, cursor={"uidvalidity": uidvalidity, "last_uid": max(newest, last_uid)})


def _uidvalidity(client: imaplib.IMAP4, mailbox: str) -> int:
    _, values = client.response("UIDVALIDITY")
    if not values or values[0] is None:
        # Every server should say it on SELECT (RFC 3501); ask for it when one does not.
        _, status = client.status(encode_mailbox(mailbox), "(UIDVALIDITY)")
        values = [match[1] for match in [re.search(rb"UIDVALIDITY (\d+)", status[0] or b"")] if match]
    if not values:
        raise imaplib.IMAP4.error("the server did not tell the mailbox's UIDVALIDITY")
    return int(values[-1])


def _search(client: imaplib.IMAP4, *criteria: str) -> set[int]:
    status, data = client.uid("SEARCH", *criteria)
    if status != "OK":
        raise imaplib.IMAP4.error(f"SEARCH failed: {_reply(data)}")
    return {int(uid) for chunk in data if chunk for uid in chunk.split()}


def _batches(uids: list[int]) -> Iterator[str]:
    for start in range(0, len(uids), FETCH_BATCH):
        yield ",".join(str(uid) for uid in uids[start : start + FETCH_BATCH])


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    """The raw messages by UID. PEEK, so that reading a message does not mark it as read."""
    found: dict[int, bytes] = {}
    for batch in _batches(uids):
        status, data = client.uid("FETCH", batch, "(UID BODY.PEEK[])")
        if status != "OK":
            raise imaplib.IMAP4.error(f"FETCH failed: {_reply(data)}")
        pending: bytes | None = None
        for entry in data:
            # imaplib gives (b'7 (UID 7 BODY[] {123}', message) then b')'; some servers put UID after the literal.
            if isinstance(entry, tuple):
                match = _UID.search(entry[0])
                if match:
                    found[int(match[1])] = entry[1]
                    pending = None
                else:
                    pending = entry[1]
            elif isinstance(entry, bytes) and pending is not None:
                match = _UID.search(entry)
                if match:
                    found[int(match[1])] = pending
                pending = None
    return found


def _item(ctx: Context, uid: int, raw: bytes, include_attachments: bool) -> Item:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments: list[dict[str, Any]] = []
    binary: dict[str, dict[str, Any]] = {}
    for index, (part, data) in enumerate(_attachments(message, (plain, html))):
        mime_type = part.get_content_type()
        described: dict[str, Any] = {"file_name": _file_name(part, index), "mime_type": mime_type, "size": len(data)}
        if include_attachments:
            prop = f"attachment_{index}"
            binary[prop] = ctx.store_binary(data, file_name=described["file_name"], mime_type=mime_type)
            described["binary_property"] = prop
        attachments.append(described)
    headers = _headers(message)
    senders = _addresses(message, "from")
    data = {
        "uid": uid,
        "message_id": headers.get("message-id") or None,
        "subject": headers.get("subject", ""),
        "from": ", ".join(senders),
        "to": _addresses(message, "to"),
        "cc": _addresses(message, "cc"),
        "date": _date(message),
        "text": _content(plain) if plain is not None else "",
        "html": _content(html) if html is not None else None,
        "headers": headers,
        "attachments": attachments,
    }
    return Item(data, binary=binary)


def _attachments(message: Message, bodies: tuple[Message | None, ...]) -> Iterator[tuple[Message, bytes]]:
    """Every part that is a file, however deep (inline images too), and not the text or HTML body."""
    for part in _leaves(message):
        if any(part is body for body in bodies):
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            yield part, inner.as_bytes() if isinstance(inner, Message) else b""
            continue
        # An unnamed inline text part is another rendering of the body, not a file.
        named = part.get_content_disposition() == "attachment" or part.get_filename()
        if not named and part.get_content_maintype() == "text":
            continue
        payload = part.get_payload(decode=True)
        yield part, payload if isinstance(payload, bytes) else b""


def _leaves(part: Message) -> Iterator[Message]:
    # A forwarded message is one attachment (an .eml), not parts of this one.
    if part.get_content_type() != "message/rfc822" and part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub)
    else:
        yield part


def _file_name(part: Message, index: int) -> str:
    name = part.get_filename()
    if name:
        # Names come from the sender: keep the last path component only.
        name = re.split(r"[\\/]", str(name))[-1].strip()
    if name:
        return name
    extension = (
        ".eml" if part.get_content_type() == "message/rfc822" else mimetypes.guess_extension(part.get_content_type())
    )
    return f"attachment_{index}{extension or ''}"


def _content(part: Message) -> str:
    """A text part decoded, with the line ends of the text a person would type (IMAP sends CRLF)."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AttributeError):
        # An unknown charset or a broken encoding: the text as well as it decodes.
        content = part.get_payload(decode=True)
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def _headers(message: Message) -> dict[str, str]:
    """Each header's first value, decoded, by lower-case name; as sent when it will not decode."""
    headers: dict[str, str] = {}
    for name, raw in message.raw_items():
        key = name.lower()
        if key not in headers:
            try:
                headers[key] = str(message.policy.header_fetch_parse(name, raw))
            except _MALFORMED:
                headers[key] = re.sub(r"\r?\n[ \t]", " ", str(raw))
    return headers


def _addresses(message: Message, name: str) -> list[str]:
    """``Name <address>`` per address, as Send Email's To accepts them; an empty group gives none."""
    try:
        header = message.get(name)
        return [] if header is None else [str(address) for address in header.addresses]
    except _MALFORMED:
        # A header the parser cannot take apart: its text, so the item still says who.
        raw = next((value for key, value in message.raw_items() if key.lower() == name), "")
        text = re.sub(r"\s+", " ", str(raw)).strip()
        return [text] if text else []


def _date(message: Message) -> str | None:
    try:
        moment = getattr(message.get("date"), "datetime", None)
    except _MALFORMED:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        # RFC 5322's "-0000": the time is UTC, the sender's zone unknown.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _reply(data: list[Any]) -> str:
    parts = [chunk.decode(errors="replace") if isinstance(chunk, bytes) else str(chunk) for chunk in data if chunk]
    return " ".join(parts) or "no reason given"
