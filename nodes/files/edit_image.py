"""Edit Image: read an image's information, or resize, crop, rotate, flip, convert, label, blur or grey it.

Images are decoded with Pillow. Their size is read from the header and checked against a pixel limit before
any pixel is decoded, so a small file that claims a huge canvas (a decompression bomb) is refused cheaply.
Edited images are saved without their EXIF metadata (camera, GPS); an animated GIF keeps its first frame only.
"""

from __future__ import annotations

import io
import posixpath
import warnings
from collections.abc import Callable
from typing import Any, Literal

from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.core.set import set_path
from nodes.files._common import file_label, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

StepOperation = Literal["resize", "crop", "rotate", "flip", "convert", "text", "blur", "grayscale"]
OutputFormat = Literal["png", "jpeg", "webp", "gif"]

RESIZE = {"operation": ["resize"]}
CROP = {"operation": ["crop"]}
ROTATE = {"operation": ["rotate"]}
FLIP = {"operation": ["flip"]}
CONVERT = {"operation": ["convert"]}
TEXT = {"operation": ["text"]}
BLUR = {"operation": ["blur"]}
EDITS = {"operation": ["resize", "crop", "rotate", "flip", "convert", "text", "blur", "grayscale", "multi_step"]}

KEPT_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}
"""Source formats an edited image is saved in again; any other (ICO, PSD...) is saved as PNG."""
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tiff"}
EXIF_ORIENTATION = 0x0112
DEFAULT_QUALITY = 85


def _colour(value: str) -> str:
    try:
        ImageColor.getrgb(value)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a colour: use a name (white) or #RRGGBB, or #RRGGBBAA for alpha") from err
    return value


class StepFields(BaseModel):
    """What each edit needs; shared by the node's own fields and each step of a multi-step edit."""

    model_config = ConfigDict(extra="forbid")

    width: int | None = param(
        None, title="Width", description="In pixels; empty: follows the height.", show_if=RESIZE, ge=1, le=20_000
    )
    height: int | None = param(
        None, title="Height", description="In pixels; empty: follows the width.", show_if=RESIZE, ge=1, le=20_000
    )
    fit: Literal["fit", "cover", "exact"] = param(
        "fit",
        title="Fit",
        description="fit: the whole image inside width x height, keeping its shape; cover: fill width x height, "
        "keeping its shape and cutting what overflows around the centre; exact: stretch to width x height.",
        show_if=RESIZE,
    )
    x: int = param(0, title="Left (x)", description="Pixels from the left edge.", show_if=CROP, ge=0)
    y: int = param(0, title="Top (y)", description="Pixels from the top edge.", show_if=CROP, ge=0)
    crop_width: int | None = param(None, title="Crop width", show_if=CROP, ge=1)
    crop_height: int | None = param(None, title="Crop height", show_if=CROP, ge=1)
    degrees: float = param(90, title="Degrees", description="Clockwise; negative turns anticlockwise.", show_if=ROTATE)
    background: str = param(
        "#ffffff",
        title="Background colour",
        description="Fills the corners a rotation uncovers; #RRGGBBAA with 00 alpha leaves them transparent.",
        show_if=ROTATE,
    )
    expand: bool = param(
        True, title="Grow to fit", description="Enlarge the canvas so no corner is cut off.", show_if=ROTATE
    )
    direction: Literal["horizontal", "vertical"] = param(
        "horizontal",
        title="Direction",
        description="horizontal: mirror left to right; vertical: flip upside down.",
        show_if=FLIP,
    )
    format: OutputFormat = param("png", title="Format", show_if=CONVERT)
    quality: int = param(
        DEFAULT_QUALITY,
        title="Quality",
        description="JPEG and WEBP only: 1 (smallest file) to 100 (best picture).",
        show_if={"operation": ["convert"], "format": ["jpeg", "webp"]},
        ge=1,
        le=100,
    )
    text: str = param("", title="Text", description="Several lines are allowed.", show_if=TEXT, widget="textarea")
    text_x: int = param(10, title="Text left (x)", show_if=TEXT)
    text_y: int = param(10, title="Text top (y)", show_if=TEXT)
    font_size: int = param(24, title="Font size", description="In pixels.", show_if=TEXT, ge=4, le=1000)
    colour: str = param("#000000", title="Text colour", description="A name or #RRGGBB(AA).", show_if=TEXT)
    radius: float = param(
        2, title="Blur radius", description="In pixels; larger blurs more.", show_if=BLUR, gt=0, le=250
    )

    @field_validator("background", "colour")
    @classmethod
    def _colours(cls, value: str) -> str:
        return _colour(value)

    def check(self, operation: str) -> None:
        """Refuse what ``operation`` cannot do with these values (a resize with no size...)."""
        if operation == "resize":
            if self.width is None and self.height is None:
                raise ValueError("resize needs a width, a height or both")
            if self.fit in ("cover", "exact") and (self.width is None or self.height is None):
                raise ValueError(f"resize with fit {self.fit!r} needs both a width and a height")
        elif operation == "crop" and (self.crop_width is None or self.crop_height is None):
            raise ValueError("crop needs a crop width and a crop height")
        elif operation == "text" and not self.text.strip():
            raise ValueError("text needs some text to write")


class _StepOperation(BaseModel):
    operation: StepOperation = param("resize", title="Operation")


class EditStep(StepFields, _StepOperation):
    """One edit of a multi-step edit."""

    @model_validator(mode="after")
    def _complete(self) -> EditStep:
        self.check(self.operation)
        return self


class _Source(Parameters):
    operation: Literal[
        "information", "resize", "crop", "rotate", "flip", "convert", "text", "blur", "grayscale", "multi_step"
    ] = param(
        "resize",
        title="Operation",
        description="information: add the image's format, size and orientation to the item; multi_step: "
        "several edits in order; the others: that one edit.",
        no_expressions=True,
    )
    binary_property: str = param("data", title="Binary property", description="Holds the image.", min_length=1)


class _Options(BaseModel):
    steps: list[EditStep] = param(
        default_factory=list,
        title="Steps",
        description="Edits applied in order, each to the result of the one before.",
        show_if={"operation": ["multi_step"]},
    )
    output_property: str = param(
        "",
        title="Put the result in binary property",
        description="Empty: replace the image in its own property.",
        show_if=EDITS,
    )
    info_field: str = param(
        "image",
        title="Put the information in",
        description="A field of the item; dots make nested fields.",
        show_if={"operation": ["information"]},
        min_length=1,
    )
    auto_orient: bool = param(
        True,
        title="Turn upright first",
        description="Apply the EXIF orientation a camera recorded before editing, so photos are not sideways.",
        show_if=EDITS,
        advanced=True,
    )
    max_megapixels: float = param(
        50,
        title="Largest image (megapixels)",
        description="Bigger images, and edits that would make them, are refused: they could exhaust memory.",
        advanced=True,
        gt=0,
        le=150,
        no_expressions=True,
    )


class EditImageParameters(_Options, StepFields, _Source):
    @model_validator(mode="after")
    def _complete(self) -> EditImageParameters:
        if self.operation == "multi_step":
            if not self.steps:
                raise ValueError("multi_step needs at least one step")
        elif self.operation != "information":
            self.check(self.operation)
        return self

    def single_step(self) -> EditStep:
        """The one edit the node's own fields describe."""
        values = {name: getattr(self, name) for name in StepFields.model_fields}
        return EditStep.model_validate({**values, "operation": self.operation})


class _Refused(Exception):
    """An edit that cannot be done; the node names the file, item and step around the message."""


class _Output:
    """What the edited image is saved as: a Pillow format and, for JPEG and WEBP, a quality."""

    def __init__(self, source_format: str | None) -> None:
        kept = "JPEG" if source_format == "MPO" else source_format
        self.format = kept if kept in KEPT_FORMATS else "PNG"
        self.quality = DEFAULT_QUALITY


def _check_pixels(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise _Refused(f"the result would be {width}x{height} pixels, more than the {limit} allowed")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA")


def _fill(image: Image.Image, colour: str) -> tuple[Image.Image, Any]:
    """``image`` in a mode that can show ``colour`` (one with alpha if it is see-through), and the colour in it."""
    rgba = ImageColor.getrgb(colour)
    if len(rgba) == 4 and rgba[3] < 255 and not _has_alpha(image):
        image = image.convert("LA" if image.mode == "L" else "RGBA")
    if image.mode in ("L", "LA") and len(set(rgba[:3])) > 1:
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    return image, ImageColor.getcolor(colour, image.mode)


def _resize(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    if step.width is None or step.height is None:
        # One side given: the other follows, keeping the image's shape.
        scale = step.width / image.width if step.width is not None else (step.height or 1) / image.height
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    else:
        size = (step.width, step.height)
    _check_pixels(*size, limit)
    if step.fit == "cover":
        return ImageOps.fit(image, size, Image.Resampling.LANCZOS)
    if step.fit == "fit":
        return ImageOps.contain(image, size, Image.Resampling.LANCZOS)
    return image.resize(size, Image.Resampling.LANCZOS)


def _crop(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    right, bottom = step.x + (step.crop_width or 0), step.y + (step.crop_height or 0)
    if right > image.width or bottom > image.height:
        raise _Refused(
            f"the crop box from ({step.x}, {step.y}) to ({right}, {bottom}) goes outside the "
            f"{image.width}x{image.height} image"
        )
    return image.crop((step.x, step.y, right, bottom))


def _rotate(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    image, fill = _fill(image, step.background)
    # Pillow turns anticlockwise; people (and n8n) mean clockwise.
    return image.rotate(-step.degrees, resample=Image.Resampling.BICUBIC, expand=step.expand, fillcolor=fill)


def _flip(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    return ImageOps.mirror(image) if step.direction == "horizontal" else ImageOps.flip(image)


def _text(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    image, fill = _fill(image, step.colour)
    image = image.copy()
    # Pillow's built-in font, scalable when FreeType is there, so no font file has to be installed.
    font = ImageFont.load_default(size=step.font_size)
    ImageDraw.Draw(image).text((step.text_x, step.text_y), step.text, fill=fill, font=font)
    return image


def _blur(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(step.radius))


def _grayscale(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    return image.convert("LA" if _has_alpha(image) else "L")


def _unchanged(image: Image.Image, step: EditStep, limit: int) -> Image.Image:
    return image


EDITORS: dict[str, Callable[[Image.Image, EditStep, int], Image.Image]] = {
    "resize": _resize,
    "crop": _crop,
    "rotate": _rotate,
    "flip": _flip,
    "convert": _unchanged,
    "text": _text,
    "blur": _blur,
    "grayscale": _grayscale,
}


def _open(data: bytes, label: str, index: int, limit: int) -> Image.Image:
    """The image, refused before decoding when its header claims more than ``limit`` pixels.

    Raises:
        NodeError: The bytes are not an image, are damaged, or the image is too big; names the item.
    """
    try:
        # Pillow warns (and past twice its own limit, refuses) on huge images; ours is checked just below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise NodeError(
            f"{label} is far too big to open ({err})",
            description="It may be a decompression bomb; only images below the node's pixel limit are edited.",
            item_index=index,
        ) from err
    except (UnidentifiedImageError, OSError) as err:
        raise NodeError(
            f"{label} is not an image this node can read",
            description="Pick the binary property holding a PNG, JPEG, WEBP, GIF, BMP or TIFF image.",
            item_index=index,
        ) from err
    if image.width * image.height > limit:
        raise NodeError(
            f"{label} is {image.width}x{image.height} pixels, more than the {limit} allowed; refused",
            description="It may be a decompression bomb; if the image is genuine, raise 'Largest image' in the "
            "node's options.",
            item_index=index,
        )
    try:
        image.load()
    except (OSError, ValueError) as err:
        raise NodeError(
            f"{label} could not be decoded: {err}",
            description="The file is damaged or cut short; load it again.",
            item_index=index,
        ) from err
    return image


def _orientation(image: Image.Image) -> int | None:
    value = image.getexif().get(EXIF_ORIENTATION)
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _information(image: Image.Image, size: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "format": image.format,
        "mime_type": image.get_format_mimetype(),
        "width": image.width,
        "height": image.height,
        "mode": image.mode,
        "has_alpha": image.has_transparency_data,
        "orientation": _orientation(image),
        "frames": getattr(image, "n_frames", 1),
        "file_size": size,
    }
    dpi = image.info.get("dpi")
    if dpi:
        info["dpi"] = [round(float(value), 2) for value in dpi]
    return info


def _workable(image: Image.Image) -> Image.Image:
    """``image`` in a mode every edit handles well (palette images would be resized with nearest-pixel)."""
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _encoded(image: Image.Image, output: _Output) -> bytes:
    if output.format == "JPEG" and _has_alpha(image):
        # JPEG has no alpha: lay the image on white rather than let transparent pixels turn black.
        backdrop = Image.new("RGBA", image.size, (255, 255, 255, 255))
        backdrop.alpha_composite(image.convert("RGBA"))
        image = backdrop.convert("L" if image.mode == "LA" else "RGB")
    options: dict[str, Any] = {"quality": output.quality} if output.format in ("JPEG", "WEBP") else {}
    buffer = io.BytesIO()
    try:
        image.save(buffer, output.format, **options)
    except (OSError, ValueError):
        # A mode the format cannot hold (grey with alpha as BMP...): fall back to plain colour.
        buffer = io.BytesIO()
        image.convert("RGBA" if _has_alpha(image) else "RGB").save(buffer, output.format, **options)
    return buffer.getvalue()


def _renamed(reference: dict[str, Any], prop: str, output_format: str) -> str:
    stem = posixpath.splitext(str(reference.get("file_name") or prop))[0] or prop
    return f"{stem}{EXTENSIONS[output_format]}"


class EditImageNode(Node):
    type = "files.edit_image"
    display_name = "Edit Image"
    category = Category.FILES
    description = "Reads an image's format and size, or resizes, crops, rotates, flips, converts, labels or blurs it."
    icon = "image"
    Parameters = EditImageParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: EditImageParameters = ctx.params(index)
            data, reference = read_input(ctx, item, params.binary_property, index)
            label = file_label(reference, params.binary_property)
            limit = int(params.max_megapixels * 1_000_000)
            image = _open(data, label, index, limit)
            if params.operation == "information":
                json = dict(item.json)
                set_path(json, params.info_field, _information(image, len(data)))
                produced.append(Item(json, binary=item.binary, paired_item=index))
                continue
            output = _Output(image.format)
            if params.auto_orient:
                image = ImageOps.exif_transpose(image)
            image = _workable(image)
            steps = params.steps if params.operation == "multi_step" else [params.single_step()]
            for number, step in enumerate(steps, start=1):
                where = f"step {number} ({step.operation})" if params.operation == "multi_step" else step.operation
                try:
                    image = EDITORS[step.operation](image, step, limit)
                    _check_pixels(image.width, image.height, limit)
                except _Refused as err:
                    raise NodeError(
                        f"{label}: {where}: {err}",
                        description="Change the edit's numbers to fit the image (its information operation shows "
                        "its size).",
                        item_index=index,
                    ) from err
                if step.operation == "convert":
                    output.format, output.quality = step.format.upper(), step.quality
            content = _encoded(image, output)
            stored = ctx.store_binary(
                content,
                file_name=_renamed(dict(reference), params.binary_property, output.format),
                mime_type=Image.MIME[output.format],
            )
            target = params.output_property or params.binary_property
            produced.append(Item(dict(item.json), binary={**item.binary, target: stored}, paired_item=index))
        return [produced]
