"""Building an email's body and attachments, for every node that sends mail as a MIME message.

Send Email (SMTP), Gmail (``raw``) and SES (raw email) build the same message from the same
parameters: a text body, an HTML body or both as alternatives, and files from the item's binary
properties; only the headers and how it is sent differ.
"""

from __future__ import annotations

from email.message import EmailMessage

from nodes.files._common import guess_mime_type, read_input
from nodes.sdk import Context, Item, NodeError


def refuse_line_breaks(index: int, **headers: str) -> None:
    """Refuse a header value with a line break (``subject="..."``): it would let an item add headers of its own.

    Raises:
        NodeError: Naming the item and the header.
    """
    for label, value in headers.items():
        if any(char in value for char in "\r\n"):
            name = label.replace("_", " ")
            raise NodeError(
                f"item {index}: the {name} has a line break",
                description=f"Remove line breaks from the {name}.",
                item_index=index,
            )


def set_body(message: EmailMessage, text: str, html: str) -> None:
    """The text, the HTML, or both as alternatives (mail programs show the HTML and fall back to the text)."""
    if html and text:
        message.set_content(text)
        message.add_alternative(html, subtype="html")
    elif html:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)


def attach_files(ctx: Context, message: EmailMessage, item: Item, attachments: str, index: int) -> None:
    """Attach the item's binary properties named in ``attachments`` (comma-separated), with their names and types.

    Raises:
        NodeError: The item has no such property, or its file is gone; names the item.
    """
    for prop in (name.strip() for name in attachments.split(",")):
        if not prop:
            continue
        data, reference = read_input(ctx, item, prop, index)
        name = str(reference.get("file_name") or prop)
        maintype, _, subtype = str(reference.get("mime_type") or guess_mime_type(name)).partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
