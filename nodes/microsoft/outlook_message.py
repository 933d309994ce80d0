"""Microsoft Outlook Message: send mail as a user, list, get, move, mark, delete or reply to their messages."""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.files._common import read_input
from nodes.microsoft._graph import (
    CREDENTIALS,
    GraphClient,
    GraphParameters,
    Permissions,
    check_user,
    segment,
    split_list,
    user_base,
    user_field,
)
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, param

Operation = Literal["send", "get_many", "get", "move", "mark_read", "mark_unread", "delete", "reply"]
BY_ID = ("get", "move", "mark_read", "mark_unread", "delete", "reply")
MAX_ATTACHMENT_BYTES = 3 * 1024 * 1024
"""Graph takes at most 4 MB per sendMail request; base64 makes attachments a third larger."""
PERMISSIONS = Permissions(application="Mail.ReadWrite and Mail.Send", delegated="Mail.ReadWrite Mail.Send")
NOT_FOUND = (
    "Check the user (id or user principal name, with an Exchange Online mailbox), the message id (from Get Many) "
    "and the folder (a folder id, or a well-known name such as inbox, archive or deleteditems)."
)


class OutlookMessageParameters(GraphParameters):
    operation: Operation = param(
        "send",
        title="Operation",
        description="send: mail from the user; get_many: one item per message of a folder; get: one message "
        "(attachments as files); move it to a folder; mark_read or mark_unread; delete it; reply to it.",
        no_expressions=True,
    )
    user: str = user_field("mailbox")
    message_id: str = param(
        "",
        title="Message ID",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    to: list[str] = param(
        default_factory=list,
        title="To",
        description="Email addresses (a list, or text separated by commas).",
        show_if={"operation": ["send"]},
    )
    cc: list[str] = param(default_factory=list, title="CC", show_if={"operation": ["send"]})
    bcc: list[str] = param(default_factory=list, title="BCC", show_if={"operation": ["send"]})
    subject: str = param("", title="Subject", show_if={"operation": ["send"]})
    body: str = param(
        "",
        title="Body",
        description="send: the message; reply: the text above the quoted message.",
        widget="textarea",
        show_if={"operation": ["send", "reply"]},
    )
    body_type: Literal["text", "html"] = param("text", title="Body format", show_if={"operation": ["send"]})
    attachments: str = param(
        "",
        title="Attachments",
        description="Binary properties of the item to attach, separated by commas (3 MB in all at most); empty: none.",
        placeholder="data, invoice",
        show_if={"operation": ["send"]},
    )
    save_to_sent_items: bool = param(True, title="Save to Sent Items", show_if={"operation": ["send"]})
    reply_all: bool = param(
        False, title="Reply to all", description="Also to every other recipient.", show_if={"operation": ["reply"]}
    )
    folder: str = param(
        "inbox",
        title="Folder",
        description="A folder id or a well-known name (inbox, sentitems, drafts, archive, deleteditems, junkemail); "
        "empty: messages of every folder.",
        show_if={"operation": ["get_many"]},
    )
    destination_folder: str = param(
        "",
        title="Destination folder",
        description="A folder id or a well-known name (archive, deleteditems, junkemail, inbox...).",
        show_if={"operation": ["move"]},
    )
    filter: str = param(
        "",
        title="Filter",
        description="An OData $filter, e.g. isRead eq false, or receivedDateTime ge 2026-01-01T00:00:00Z.",
        placeholder="isRead eq false",
        show_if={"operation": ["get_many"]},
    )
    search: str = param(
        "",
        title="Search",
        description="Words to look for in the messages ($search); cannot be combined with a filter.",
        show_if={"operation": ["get_many"]},
    )
    fields: list[str] = param(
        default_factory=list,
        title="Fields",
        description="Only these properties ($select, e.g. subject, from, receivedDateTime); empty: all.",
        show_if={"operation": ["get_many", "get"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' messages.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many messages per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    download_attachments: bool = param(
        False,
        title="Download attachments",
        description="Put the message's file attachments into binary properties of the item.",
        show_if={"operation": ["get"]},
    )
    attachment_prefix: str = param(
        "attachment_",
        title="Attachment property prefix",
        description="Attachments go in binary properties attachment_0, attachment_1...",
        show_if={"operation": ["get"], "download_attachments": [True]},
        min_length=1,
    )

    @field_validator("to", "cc", "bcc", "fields", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return split_list(value)

    @model_validator(mode="after")
    def _needs(self) -> OutlookMessageParameters:
        check_user(self.authentication, self.user)
        if self.operation in BY_ID and not self.message_id.strip():
            raise ValueError(f"{self.operation} needs the message id")
        if self.operation == "send" and not (self.to or self.cc or self.bcc):
            raise ValueError("send needs at least one recipient (To, CC or BCC)")
        if self.operation == "move" and not self.destination_folder.strip():
            raise ValueError("move needs the destination folder")
        if self.operation == "get_many" and self.filter.strip() and self.search.strip():
            raise ValueError("Graph cannot search and filter messages at once: use either the filter or the search")
        return self


class OutlookMessageNode(Node):
    type = "microsoft.outlook_message"
    display_name = "Microsoft Outlook Message"
    category = Category.INTEGRATION
    description = "Sends Outlook mail as a user, and lists, gets, moves, marks, deletes or replies to messages."
    icon = "mail"
    Parameters = OutlookMessageParameters
    credentials = CREDENTIALS
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: OutlookMessageParameters = ctx.params(0)
        produced: list[Item] = []
        with GraphClient.for_node(ctx, first, permissions=PERMISSIONS, not_found=NOT_FOUND) as client:
            for index, item in enumerate(items):
                params: OutlookMessageParameters = ctx.params(index)
                produced.extend(_run(ctx, client, params, item, index))
        return [produced]


def _recipients(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": address}} for address in addresses]


def _run(ctx: Context, client: GraphClient, params: OutlookMessageParameters, item: Item, index: int) -> list[Item]:
    base = user_base(params.user)
    who = params.user.strip() or "the signed-in account"
    message = f"{base}/messages/{segment(params.message_id)}"
    match params.operation:
        case "send":
            return [Item(_send(ctx, client, params, item, index, base, who), paired_item=index)]
        case "get_many":
            query: dict[str, Any] = {}
            if params.filter.strip():
                query["$filter"] = params.filter.strip()
            if params.search.strip():
                words = params.search.strip()
                # $search takes a quoted phrase; quotes inside it are not allowed.
                query["$search"] = words if words.startswith('"') else '"' + words.replace('"', "") + '"'
            if params.fields:
                query["$select"] = ",".join(params.fields)
            folder = params.folder.strip()
            path = f"{base}/mailFolders/{segment(folder)}/messages" if folder else f"{base}/messages"
            where = f"folder {folder}" if folder else "every folder"
            found = client.paginate(
                path,
                f"listing the messages of {who} in {where}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
            return [Item(entry, paired_item=index) for entry in found]
        case "get":
            query = {"$select": ",".join(params.fields)} if params.fields else {}
            action = f"getting message {params.message_id.strip()} of {who}"
            found = client.request("GET", message, action, item_index=index, params=query)
            if not params.download_attachments:
                return [Item(found, paired_item=index)]
            return [_with_attachments(ctx, client, params, found, message, index, who)]
        case "move":
            destination = params.destination_folder.strip()
            moved = client.request(
                "POST",
                f"{message}/move",
                f"moving message {params.message_id.strip()} of {who} to {destination}",
                item_index=index,
                json={"destinationId": destination},
            )
            return [Item(moved, paired_item=index)]
        case "mark_read" | "mark_unread":
            read = params.operation == "mark_read"
            marked = client.request(
                "PATCH",
                message,
                f"marking message {params.message_id.strip()} of {who} as {'read' if read else 'unread'}",
                item_index=index,
                json={"isRead": read},
            )
            return [Item(marked, paired_item=index)]
        case "delete":
            client.request(
                "DELETE", message, f"deleting message {params.message_id.strip()} of {who}", item_index=index
            )
            return [Item({"id": params.message_id.strip(), "deleted": True}, paired_item=index)]
        case "reply":
            action = "replyAll" if params.reply_all else "reply"
            client.request(
                "POST",
                f"{message}/{action}",
                f"replying to message {params.message_id.strip()} of {who}",
                item_index=index,
                json={"comment": params.body},
            )
            replied = {"id": params.message_id.strip(), "replied": True, "reply_all": params.reply_all}
            return [Item(replied, paired_item=index)]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _send(
    ctx: Context,
    client: GraphClient,
    params: OutlookMessageParameters,
    item: Item,
    index: int,
    base: str,
    who: str,
) -> dict[str, Any]:
    attachments: list[dict[str, Any]] = []
    total = 0
    for prop in split_list(params.attachments):
        data, reference = read_input(ctx, item, prop, index)
        total += len(data)
        if total > MAX_ATTACHMENT_BYTES:
            raise NodeError(
                f"item {index}: the attachments come to more than the 3 MB Graph takes in one message "
                f"({total} bytes with {prop!r})",
                description="Send fewer or smaller files, or upload them to OneDrive and send a sharing link instead.",
                item_index=index,
            )
        attachments.append(
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": str(reference.get("file_name") or prop),
                "contentType": str(reference.get("mime_type") or "application/octet-stream"),
                "contentBytes": base64.b64encode(data).decode("ascii"),
            }
        )
    message: dict[str, Any] = {
        "subject": params.subject,
        "body": {"contentType": "HTML" if params.body_type == "html" else "Text", "content": params.body},
        "toRecipients": _recipients(params.to),
    }
    if params.cc:
        message["ccRecipients"] = _recipients(params.cc)
    if params.bcc:
        message["bccRecipients"] = _recipients(params.bcc)
    if attachments:
        message["attachments"] = attachments
    client.request(
        "POST",
        f"{base}/sendMail",
        f"sending mail as {who}",
        item_index=index,
        json={"message": message, "saveToSentItems": params.save_to_sent_items},
    )
    return {
        "sent": True,
        "subject": params.subject,
        "to": params.to,
        "cc": params.cc,
        "bcc": params.bcc,
        "attachments": [attachment["name"] for attachment in attachments],
    }


def _with_attachments(
    ctx: Context,
    client: GraphClient,
    params: OutlookMessageParameters,
    found: dict[str, Any],
    message: str,
    index: int,
    who: str,
) -> Item:
    listed = client.paginate(
        f"{message}/attachments",
        f"getting the attachments of message {params.message_id.strip()} of {who}",
        limit=None,
        item_index=index,
    )
    binary: dict[str, dict[str, Any]] = {}
    described: list[dict[str, Any]] = []
    for attachment in listed:
        summary = {key: value for key, value in attachment.items() if key != "contentBytes"}
        # Only file attachments carry bytes; attached Outlook items and cloud links are described, not downloaded.
        if attachment.get("@odata.type") == "#microsoft.graph.fileAttachment" and "contentBytes" in attachment:
            prop = f"{params.attachment_prefix}{len(binary)}"
            binary[prop] = ctx.store_binary(
                base64.b64decode(attachment["contentBytes"]),
                file_name=str(attachment.get("name") or prop),
                mime_type=str(attachment.get("contentType") or "application/octet-stream"),
            )
            summary["binary_property"] = prop
        described.append(summary)
    return Item({**found, "attachments": described}, binary=binary, paired_item=index)
