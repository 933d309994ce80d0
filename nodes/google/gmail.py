"""Gmail: send mail (with attachments, or as a reply in a thread), read, list, delete and label messages.

A service account has no mailbox of its own: it reaches one through Google Workspace's domain-wide
delegation, acting as the user named in the credential's "Act as user" (the API's ``me``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from email.message import EmailMessage, Message
from email.utils import formataddr
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.email._mime import attach_files, refuse_line_breaks, set_body
from nodes.email.credentials import parse_addresses
from nodes.files._common import guess_mime_type
from nodes.google._api import execute, listed
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["send", "get", "list", "delete", "mark_read", "mark_unread", "add_labels", "remove_labels"]
BY_ID = ("get", "delete", "mark_read", "mark_unread", "add_labels", "remove_labels")
READS = ("get", "list")
MAX_PAGE = 500
"""The most message ids Gmail lists per page."""
USER = "me"
"""The mailbox of the user the service account acts as."""
HINTS = {
    400: "Check the node's parameters: the addresses, the label ids (INBOX, UNREAD, Label_12...) and the search query.",
    403: "In the Workspace admin console (Security → API controls → Domain-wide delegation), allow the service "
    "account's client id the scope https://mail.google.com/, and enable the Gmail API in its Cloud project.",
    404: "Check the message id: the message may have been deleted, or belong to another mailbox.",
}


class GmailParameters(Parameters):
    operation: Operation = param(
        "send",
        title="Operation",
        description="send an email per item; get a message; list: one item per message; delete one (to the trash, "
        "or for good); mark_read or mark_unread; add_labels or remove_labels.",
        no_expressions=True,
    )
    to: str = param(
        "",
        title="To",
        description="Comma-separated addresses; a name may go first: Ada <ada@example.com>.",
        placeholder="ada@example.com, grace@example.com",
        show_if={"operation": ["send"]},
    )
    cc: str = param("", title="Cc", description="Comma-separated addresses.", show_if={"operation": ["send"]})
    bcc: str = param(
        "",
        title="Bcc",
        description="Comma-separated addresses; they receive it without being shown.",
        show_if={"operation": ["send"]},
    )
    subject: str = param("", title="Subject", show_if={"operation": ["send"]})
    text: str = param(
        "", title="Text", description="The plain-text body.", widget="textarea", show_if={"operation": ["send"]}
    )
    html: str = param(
        "",
        title="HTML",
        description="An HTML body; mail programs show it instead of the text, which stays as the fallback.",
        widget="textarea",
        show_if={"operation": ["send"]},
    )
    attachments: str = param(
        "",
        title="Attachments",
        description="Comma-separated names of the item's binary properties to attach, e.g. data, invoice.",
        placeholder="data",
        show_if={"operation": ["send"]},
    )
    reply_to: str = param(
        "",
        title="Reply to",
        description="Comma-separated addresses replies go to.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    sender_name: str = param(
        "",
        title="Sender name",
        description="Shown before the address of the user the credential acts as.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    thread_id: str = param(
        "",
        title="Thread id",
        description="To answer in a conversation: the threadId of a message in it. Keep the subject the same.",
        placeholder="{{ $json.threadId }}",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    in_reply_to: str = param(
        "",
        title="In reply to (Message-ID)",
        description="The Message-ID header of the message answered, so every mail program threads the reply.",
        placeholder="{{ $json.headers['message-id'] }}",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    message_id: str = param("", title="Message id", placeholder="{{ $json.id }}", show_if={"operation": list(BY_ID)})
    label_ids: list[str] = param(
        default_factory=list,
        title="Label ids",
        description="Ids such as INBOX, UNREAD, STARRED or Label_12 (a list, or text separated by commas); "
        "list: only messages with every one of them.",
        show_if={"operation": ["add_labels", "remove_labels", "list"]},
    )
    query: str = param(
        "",
        title="Search",
        description="Gmail's search syntax, as in its search box: from:ada@example.com is:unread newer_than:2d.",
        show_if={"operation": ["list"]},
    )
    include_spam_trash: bool = param(
        False, title="Include spam and trash", show_if={"operation": ["list"]}, advanced=True
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' messages.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many messages per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )
    read_messages: bool = param(
        True,
        title="Read each message",
        description="Otherwise list only ids and thread ids (one request instead of one per message).",
        show_if={"operation": ["list"]},
    )
    format: Literal["metadata", "full"] = param(
        "full",
        title="Read",
        description="metadata: labels, snippet and headers; full: also the text, the HTML and the attachments.",
        show_if={"operation": list(READS)},
        no_expressions=True,
    )
    download_attachments: bool = param(
        True,
        title="Download attachments",
        description="Into the item's binary properties attachment_0, attachment_1...",
        show_if={"operation": list(READS), "format": ["full"]},
    )
    attachment_prefix: str = param(
        "attachment_",
        title="Attachment property prefix",
        show_if={"operation": list(READS), "format": ["full"]},
        advanced=True,
        min_length=1,
    )
    permanently: bool = param(
        False,
        title="Delete permanently",
        description="Otherwise the message goes to the trash, where it stays 30 days.",
        show_if={"operation": ["delete"]},
    )

    @field_validator("label_ids", mode="before")
    @classmethod
    def _label_list(cls, value: Any) -> Any:
        return listed(value)

    @model_validator(mode="after")
    def _needs(self) -> GmailParameters:
        if self.operation in BY_ID and not self.message_id.strip():
            raise ValueError(f"{self.operation} needs a message id")
        if self.operation in ("add_labels", "remove_labels") and not self.label_ids:
            raise ValueError(f"{self.operation} needs at least one label id")
        if self.operation == "send" and not (self.to.strip() or self.cc.strip() or self.bcc.strip()):
            raise ValueError("send needs a recipient in To, Cc or Bcc")
        return self


class GmailNode(Node):
    type = "google.gmail"
    display_name = "Gmail"
    category = Category.INTEGRATION
    description = "Sends, reads, lists, labels or deletes Gmail messages of a Workspace user, per item."
    icon = "mail"
    Parameters = GmailParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "gmail", "v1")
        user = fields.delegated_user.strip()
        if not user:
            raise NodeError(
                "Gmail needs a user to act as: a service account has no mailbox of its own",
                description="Set 'Act as user' in the Google service account credential to the Workspace user's "
                "email, and allow the account domain-wide delegation with the scope https://mail.google.com/.",
            )
        mailbox = _Mailbox(ctx, service.users().messages(), fields, user)
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: GmailParameters = ctx.params(index)
            produced.extend(mailbox.run(params, item, index))
        return [produced]


class _Mailbox:
    """The messages of the user the credential acts as, for one node run."""

    def __init__(self, ctx: Context, messages: Any, fields: GoogleServiceAccountFields, user: str) -> None:
        self.ctx = ctx
        self.messages = messages
        self.fields = fields
        self.user = user

    def _execute(self, request: Any, action: str, index: int) -> Any:
        return execute(request, self.fields, action, index, HINTS)

    def run(self, params: GmailParameters, item: Item, index: int) -> list[Item]:
        message_id = params.message_id.strip()
        match params.operation:
            case "send":
                body: dict[str, Any] = {"raw": _raw(self.ctx, params, item, index, self.user)}
                if params.thread_id.strip():
                    body["threadId"] = params.thread_id.strip()
                request = self.messages.send(userId=USER, body=body)
                return [Item(self._execute(request, "sending the email", index), paired_item=index)]
            case "get":
                return [self._read(params, message_id, index)]
            case "list":
                found = self._list(params, index)
                if not params.read_messages:
                    return [Item(entry, paired_item=index) for entry in found]
                return [self._read(params, str(entry["id"]), index) for entry in found]
            case "delete":
                if params.permanently:
                    request = self.messages.delete(userId=USER, id=message_id)
                    self._execute(request, f"deleting message {message_id}", index)
                else:
                    request = self.messages.trash(userId=USER, id=message_id)
                    self._execute(request, f"moving message {message_id} to the trash", index)
                data = {"message_id": message_id, "deleted": True, "trashed": not params.permanently}
                return [Item(data, paired_item=index)]
            case "mark_read":
                return [self._modify(message_id, {"removeLabelIds": ["UNREAD"]}, "marking", index)]
            case "mark_unread":
                return [self._modify(message_id, {"addLabelIds": ["UNREAD"]}, "marking", index)]
            case "add_labels":
                return [self._modify(message_id, {"addLabelIds": params.label_ids}, "labelling", index)]
            case "remove_labels":
                return [self._modify(message_id, {"removeLabelIds": params.label_ids}, "unlabelling", index)]
        raise AssertionError(f"unhandled operation {params.operation!r}")

    def _modify(self, message_id: str, body: dict[str, list[str]], verb: str, index: int) -> Item:
        request = self.messages.modify(userId=USER, id=message_id, body=body)
        return Item(self._execute(request, f"{verb} message {message_id}", index), paired_item=index)

    def _list(self, params: GmailParameters, index: int) -> list[dict[str, Any]]:
        limit = None if params.return_all else params.limit
        found: list[dict[str, Any]] = []
        token: str | None = None
        while limit is None or len(found) < limit:
            request = self.messages.list(
                userId=USER,
                q=params.query.strip() or None,
                labelIds=params.label_ids or None,
                includeSpamTrash=params.include_spam_trash,
                maxResults=MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found)),
                pageToken=token,
            )
            answer = self._execute(request, "listing messages", index)
            found.extend(answer.get("messages", []))
            token = answer.get("nextPageToken")
            if not token:
                break
        return found if limit is None else found[:limit]

    def _read(self, params: GmailParameters, message_id: str, index: int) -> Item:
        request = self.messages.get(userId=USER, id=message_id, format=params.format)
        message = self._execute(request, f"reading message {message_id}", index)
        payload = message.get("payload") or {}
        data = {key: value for key, value in message.items() if key != "payload"}
        data["headers"] = _headers(payload)
        binary: dict[str, dict[str, Any]] = {}
        if params.format == "full":
            data["text"] = data["html"] = ""
            attachments: list[dict[str, Any]] = []
            for part in _parts(payload):
                body = part.get("body") or {}
                if part.get("filename") or body.get("attachmentId"):
                    attachments.append(self._attachment(params, message_id, part, len(attachments), binary, index))
                elif part.get("mimeType") in ("text/plain", "text/html") and body.get("data"):
                    key = "text" if part["mimeType"] == "text/plain" else "html"
                    # The first of each wins: later ones are usually forwarded or quoted copies.
                    data[key] = data[key] or _text(part)
            data["attachments"] = attachments
        return Item(data, binary=binary, paired_item=index)

    def _attachment(
        self,
        params: GmailParameters,
        message_id: str,
        part: dict[str, Any],
        number: int,
        binary: dict[str, dict[str, Any]],
        index: int,
    ) -> dict[str, Any]:
        body = part.get("body") or {}
        name = str(part.get("filename") or f"attachment_{number}")
        mime_type = str(part.get("mimeType") or guess_mime_type(name))
        info: dict[str, Any] = {"file_name": name, "mime_type": mime_type, "size": body.get("size", 0)}
        if not params.download_attachments:
            return info
        encoded = body.get("data")
        if encoded is None:
            request = self.messages.attachments().get(userId=USER, messageId=message_id, id=body["attachmentId"])
            encoded = self._execute(request, f"downloading {name!r} of message {message_id}", index).get("data", "")
        prop = f"{params.attachment_prefix}{number}"
        binary[prop] = self.ctx.store_binary(_decoded(encoded), file_name=name, mime_type=mime_type)
        return {**info, "binary_property": prop}


def _raw(ctx: Context, params: GmailParameters, item: Item, index: int, user: str) -> str:
    """The email as Gmail's ``raw``: an RFC 822 message, base64url-encoded."""
    refuse_line_breaks(index, subject=params.subject, sender_name=params.sender_name)
    message = EmailMessage()
    message["From"] = formataddr((params.sender_name.strip(), user))
    for header, text in (("To", params.to), ("Cc", params.cc), ("Bcc", params.bcc), ("Reply-To", params.reply_to)):
        addresses = _addresses(text, header, index)
        if addresses:
            # Gmail reads Bcc recipients from this header and leaves it out of what they receive.
            message[header] = ", ".join(formataddr(pair) for pair in addresses)
    message["Subject"] = params.subject
    reference = params.in_reply_to.strip()
    if reference:
        message["In-Reply-To"] = reference
        message["References"] = reference
    set_body(message, params.text, params.html)
    attach_files(ctx, message, item, params.attachments, index)
    return base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")


def _addresses(text: str, label: str, index: int) -> list[tuple[str, str]]:
    try:
        return parse_addresses(text)
    except ValueError as err:
        raise NodeError(
            f"item {index}: {label}: {err}",
            description=f"Fix the {label} field (or what its expression produced); separate addresses with commas.",
            item_index=index,
        ) from err


def _headers(payload: dict[str, Any]) -> dict[str, str]:
    """The message's headers by lower-case name (``$json.headers.subject``); the first of a repeated one wins."""
    headers: dict[str, str] = {}
    for header in payload.get("headers") or []:
        headers.setdefault(str(header.get("name", "")).lower(), str(header.get("value", "")))
    return headers


def _parts(part: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every part of a message's MIME tree, depth first, the message itself included."""
    yield part
    for child in part.get("parts") or []:
        yield from _parts(child)


def _decoded(data: str) -> bytes:
    """Gmail's base64url, which may come without its padding."""
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _text(part: dict[str, Any]) -> str:
    """A text part's body in its declared charset (Gmail has already undone the transfer encoding)."""
    header = Message()
    for entry in part.get("headers") or []:
        if str(entry.get("name", "")).lower() == "content-type":
            header["Content-Type"] = str(entry.get("value", ""))
    charset = header.get_content_charset() or "utf-8"
    try:
        return _decoded(part["body"]["data"]).decode(charset, "replace")
    except LookupError:
        return _decoded(part["body"]["data"]).decode("utf-8", "replace")
