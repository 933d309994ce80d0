"""AI Image: generate images from a prompt, edit an image (optionally through a mask), or vary one.

Each image the API returns becomes one output item: its file in a binary property, or its link when the
node is set to return links (DALL-E models only: gpt-image models always answer with the image data).
"""

from __future__ import annotations

import base64
import binascii
import warnings
from typing import Any, Literal

import openai

from nodes.ai._chat import ModelParameters, open_client, required_text
from nodes.ai.credentials import call
from nodes.core.set import set_path
from nodes.files._common import read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, param

Operation = Literal["generate", "edit", "variation"]
DEFAULT_MODELS: dict[str, str] = {"generate": "gpt-image-1", "edit": "gpt-image-1", "variation": "dall-e-2"}
"""What an empty Model means: variations are made by dall-e-2 alone."""
PROMPTED = {"operation": ["generate", "edit"]}
FROM_FILE = {"operation": ["edit", "variation"]}
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF8", "image/gif", "gif"),
)


class ImageParameters(ModelParameters):
    operation: Operation = param(
        "generate",
        title="Operation",
        description="generate: images from a prompt; edit: change an image as the prompt says; variation: "
        "images like a given one (dall-e-2 only, which OpenAI is retiring).",
        no_expressions=True,
    )
    model: str = param(
        "",
        title="Model",
        description="An image model the credential's server offers. Empty: gpt-image-1 (variations: dall-e-2, "
        "the only model that makes them).",
    )
    prompt: str = param(
        "",
        title="Prompt",
        description="What to draw, or what to change.",
        widget="textarea",
        show_if=PROMPTED,
        placeholder="A watercolour lighthouse at dawn",
    )
    binary_property: str = param(
        "data", title="Image binary property", description="Holds the image.", show_if=FROM_FILE, min_length=1
    )
    mask_property: str = param(
        "",
        title="Mask binary property",
        description="A PNG the size of the image whose transparent pixels mark where to edit; empty: no mask.",
        show_if={"operation": ["edit"]},
    )
    n: int = param(1, title="Number of images", description="dall-e-3 makes one at a time.", ge=1, le=10)
    size: (
        Literal["auto", "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"] | None
    ) = param(
        None,
        title="Size",
        description="Each model takes only some sizes (gpt-image-1: 1024x1024, 1536x1024, 1024x1536, auto; "
        "dall-e-3: 1024x1024, 1792x1024, 1024x1792; dall-e-2: 256x256 to 1024x1024). Empty: the model's default.",
    )
    quality: Literal["auto", "low", "medium", "high", "standard", "hd"] | None = param(
        None,
        title="Quality",
        description="gpt-image-1: low, medium, high or auto; dall-e-3: standard or hd. Empty: the model's default.",
        show_if=PROMPTED,
        advanced=True,
    )
    style: Literal["vivid", "natural"] | None = param(
        None,
        title="Style",
        description="dall-e-3 only: vivid (dramatic) or natural. Empty: vivid.",
        show_if={"operation": ["generate"]},
        advanced=True,
    )
    return_as: Literal["binary", "url"] = param(
        "binary",
        title="Return",
        description="binary: each image as a file; url: a link to it, valid for an hour (DALL-E models only).",
        no_expressions=True,
    )
    output_property: str = param(
        "data",
        title="Put each image in binary property",
        show_if={"return_as": ["binary"]},
        min_length=1,
    )
    result_field: str = param(
        "image",
        title="Put the image's details in",
        description="A field of the item: its number, the model, the prompt the model rewrote, and the link.",
        min_length=1,
    )


def _always_data(model: str) -> bool:
    """gpt-image models answer with the image data only and refuse a response_format."""
    return model.startswith("gpt-image")


def _vary(client: openai.OpenAI, request: dict[str, Any]) -> Any:
    """POST /images/variations, which the SDK marks deprecated along with dall-e-2, its only model."""
    with warnings.catch_warnings():
        # The node already says variations are dall-e-2's; a warning per item in the worker's log adds nothing.
        warnings.simplefilter("ignore", DeprecationWarning)
        return client.images.create_variation(**request)


def _kind(data: bytes) -> tuple[str, str]:
    """The MIME type and file extension of image bytes, from their first bytes."""
    for signature, mime_type, extension in SIGNATURES:
        if data.startswith(signature):
            return mime_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "application/octet-stream", "bin"


class ImageNode(Node):
    type = "ai.image"
    display_name = "AI Image"
    category = Category.AI
    description = "Generates images from a prompt, edits an image as a prompt says, or makes variations of one."
    icon = "image-plus"
    Parameters = ImageParameters
    credentials = (CredentialRequirement("openai_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: ImageParameters = ctx.params(0)
        client, fields = open_client(ctx, first)
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: ImageParameters = ctx.params(index)
            model = params.model.strip() or DEFAULT_MODELS[params.operation]
            request: dict[str, Any] = {"model": model, "n": params.n}
            if params.size is not None:
                request["size"] = params.size
            if _always_data(model):
                if params.return_as == "url":
                    raise NodeError(
                        f"item {index}: {model} answers with image data only, not links",
                        description="Set Return to binary, or use a DALL-E model.",
                        item_index=index,
                    )
            else:
                request["response_format"] = "b64_json" if params.return_as == "binary" else "url"
            if params.operation != "variation":
                request["prompt"] = required_text(params.prompt, index, "Prompt")
                if params.quality is not None:
                    request["quality"] = params.quality
            if params.operation == "generate":
                if params.style is not None:
                    request["style"] = params.style
                response = call(
                    fields,
                    "the image generation",
                    lambda request=request: client.images.generate(**request),
                    item_index=index,
                )
            else:
                request["image"] = self._upload(ctx, item, params.binary_property, index)
                if params.operation == "edit":
                    if params.mask_property:
                        request["mask"] = self._upload(ctx, item, params.mask_property, index)
                    response = call(
                        fields,
                        "the image edit",
                        lambda request=request: client.images.edit(**request),
                        item_index=index,
                    )
                else:
                    response = call(
                        fields, "the image variation", lambda request=request: _vary(client, request), item_index=index
                    )
            images = response.data or []
            if not images:
                raise NodeError(
                    f"item {index}: the {params.operation} returned no images",
                    description="The server does not follow the images API; check the base URL.",
                    item_index=index,
                )
            for number, image in enumerate(images, start=1):
                produced.append(self._output(ctx, item, index, params, model, number, len(images), image))
        return [produced]

    @staticmethod
    def _upload(ctx: Context, item: Item, prop: str, index: int) -> tuple[str, bytes, str]:
        """A file of the item as the SDK uploads it: name, bytes, MIME type (the API checks the type)."""
        data, reference = read_input(ctx, item, prop, index)
        mime_type, extension = _kind(data)
        if extension == "bin":
            raise NodeError(
                f"item {index}: binary property {prop!r} is not a PNG, JPEG, WEBP or GIF image",
                description="The images API takes PNG images (gpt-image-1 also JPEG and WEBP): convert it first, "
                "e.g. with the Edit Image node.",
                item_index=index,
            )
        return str(reference.get("file_name") or f"{prop}.{extension}"), data, mime_type

    @staticmethod
    def _output(
        ctx: Context, item: Item, index: int, params: ImageParameters, model: str, number: int, count: int, image: Any
    ) -> Item:
        details: dict[str, Any] = {"number": number, "model": model}
        if image.revised_prompt:
            details["revised_prompt"] = image.revised_prompt
        binary = dict(item.binary)
        if params.return_as == "url":
            if not image.url:
                raise NodeError(
                    f"item {index}: the server answered with image data, not a link",
                    description="Set Return to binary.",
                    item_index=index,
                )
            details["url"] = image.url
        else:
            if not image.b64_json:
                raise NodeError(
                    f"item {index}: the server answered with a link, not the image data",
                    description="Set Return to url, or use a server that returns b64_json.",
                    item_index=index,
                )
            try:
                data = base64.b64decode(image.b64_json, validate=True)
            except (binascii.Error, ValueError) as err:
                raise NodeError(
                    f"item {index}: image {number} is not valid base64 ({err})",
                    description="The server does not follow the images API; check the base URL.",
                    item_index=index,
                ) from err
            mime_type, extension = _kind(data)
            name = f"{params.operation}.{extension}" if count == 1 else f"{params.operation}-{number}.{extension}"
            binary[params.output_property] = ctx.store_binary(data, file_name=name, mime_type=mime_type)
        json = dict(item.json)
        set_path(json, params.result_field, details)
        return Item(json, binary=binary, paired_item=index)
