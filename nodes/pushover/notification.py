"""Pushover Notification: push a message to a user's or group's devices, once per item."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from nodes.files._common import read_input
from nodes.pushover._client import PushoverClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

EMERGENCY = 2
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
"""Pushover takes attachments of at most 5 MB."""


class PushoverNotificationParameters(Parameters):
    user_key: str = param(
        title="User or group key",
        description="The recipient's user key (on their Pushover dashboard) or a delivery group's key.",
        placeholder="uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
        min_length=1,
    )
    message: str = param(
        title="Message",
        description="At most 1024 characters.",
        widget="textarea",
        min_length=1,
        max_length=1024,
    )
    title: str = param("", title="Title", description="Empty: the application's name.", max_length=250)
    priority: int = param(
        0,
        title="Priority",
        description="-2: no alert; -1: quiet; 0: normal; 1: high, bypasses quiet hours; 2: emergency, repeats "
        "until someone acknowledges it.",
        ge=-2,
        le=2,
    )
    retry: int = param(
        60,
        title="Retry every (seconds)",
        description="How often an emergency notification repeats; at least 30.",
        show_if={"priority": [EMERGENCY]},
        ge=30,
    )
    expire: int = param(
        3600,
        title="Stop after (seconds)",
        description="When an unacknowledged emergency notification stops repeating; at most 10800 (3 hours).",
        show_if={"priority": [EMERGENCY]},
        ge=30,
        le=10800,
    )
    callback_url: str = param(
        "",
        title="Callback URL",
        description="Pushover POSTs to this URL when someone acknowledges the emergency notification.",
        show_if={"priority": [EMERGENCY]},
        advanced=True,
    )
    url: str = param("", title="URL", description="A link shown under the message.", max_length=512, advanced=True)
    url_title: str = param(
        "", title="URL title", description="The link's text; empty: the URL.", max_length=100, advanced=True
    )
    sound: str = param(
        "",
        title="Sound",
        description="A sound name (pushover, bike, cashregister, none...); empty: the user's default.",
        advanced=True,
    )
    device: str = param(
        "",
        title="Devices",
        description="Only these devices of the user, separated by commas; empty: all of them.",
        advanced=True,
    )
    html: bool = param(
        False,
        title="HTML",
        description="Read the message as HTML (<b>, <i>, <u>, <font color>, <a href>).",
        advanced=True,
    )
    attachment: str = param(
        "",
        title="Image attachment",
        description="The item's binary property holding an image of at most 5 MB to show with the message; "
        "empty: none.",
        placeholder="data",
        advanced=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> PushoverNotificationParameters:
        if not self.user_key.strip():
            raise ValueError("the user or group key is required")
        if not self.message.strip():
            raise ValueError("the message is required")
        if self.url_title.strip() and not self.url.strip():
            raise ValueError("a URL title needs a URL")
        return self


class PushoverNotificationNode(Node):
    type = "pushover.notification"
    display_name = "Pushover Notification"
    category = Category.INTEGRATION
    description = "Pushes a notification per item to a Pushover user's or group's devices."
    icon = "bell-ring"
    Parameters = PushoverNotificationParameters
    credentials = (CredentialRequirement("pushover_api"),)

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with PushoverClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: PushoverNotificationParameters = ctx.params(index)
                produced.append(Item(_push(ctx, client, params, item, index), paired_item=index))
        return [produced]


def _push(
    ctx: Context, client: PushoverClient, params: PushoverNotificationParameters, item: Item, index: int
) -> dict[str, Any]:
    user = params.user_key.strip()
    form = {"user": user, "message": params.message, "priority": str(params.priority)}
    if params.priority == EMERGENCY:
        form.update(retry=str(params.retry), expire=str(params.expire))
        if params.callback_url.strip():
            form["callback"] = params.callback_url.strip()
    devices = ",".join(name.strip() for name in params.device.split(",") if name.strip())
    for key, value in (
        ("title", params.title),
        ("url", params.url.strip()),
        ("url_title", params.url_title),
        ("sound", params.sound.strip()),
        ("device", devices),
    ):
        if value:
            form[key] = value
    if params.html:
        form["html"] = "1"
    files = None
    if params.attachment.strip():
        data, reference = read_input(ctx, item, params.attachment.strip(), index)
        name = str(reference.get("file_name") or params.attachment.strip())
        mime_type = str(reference.get("mime_type") or "application/octet-stream")
        if not mime_type.startswith("image/"):
            raise NodeError(
                f"item {index}: {name!r} is {mime_type}, not an image, so Pushover cannot show it",
                description="Attach an image (JPEG, PNG, GIF), or leave 'Image attachment' empty.",
                item_index=index,
            )
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise NodeError(
                f"item {index}: {name!r} is {len(data) / 1024 / 1024:.1f} MB; Pushover takes at most 5 MB",
                description="Send a smaller image, or leave 'Image attachment' empty.",
                item_index=index,
            )
        files = {"attachment": (name, data, mime_type)}
    answer = client.request(
        "POST", "/1/messages.json", f"pushing a notification to {user}", item_index=index, data=form, files=files
    )
    result: dict[str, Any] = {"request": answer.get("request"), "user": user, "priority": params.priority}
    if "receipt" in answer:
        # Emergency notifications get a receipt to poll for acknowledgement.
        result["receipt"] = answer["receipt"]
    return result
