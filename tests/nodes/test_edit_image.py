"""Edit Image (files.edit_image) run through the engine on images built here with Pillow; results checked by pixel."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, run, workflow

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def encoded(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def quadrants(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue, with a green top-left quarter: every flip or turn shows."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    image.paste(GREEN, (0, 0, width // 2, height // 2))
    return image


def photo_item(host: LocalHost, data: bytes, file_name: str = "photo.png", json: dict[str, Any] | None = None) -> Item:
    reference = host.store_binary(data, file_name=file_name, mime_type="image/png")
    return Item(json or {"id": 1}, binary={"data": reference})


def edit(host: LocalHost, items: list[Item], parameters: dict[str, Any], **settings: Any) -> RunResult:
    data = workflow(
        [node("Start", "trigger.manual"), node("Edit", "files.edit_image", parameters, **settings)], [("Start", "Edit")]
    )
    return run(data, host=host, pinned={"Start": items})


def result_image(host: LocalHost, result: RunResult, prop: str = "data", item: int = 0) -> Image.Image:
    assert result.status is RunStatus.SUCCEEDED, result.error
    image = Image.open(io.BytesIO(host.read_binary(result.last_outputs["Edit"][0][item].binary[prop])))
    image.load()
    return image


def failure(result: RunResult) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED, result.status
    assert result.error is not None and result.error["node"] == "Edit"
    return result.error


def test_information_reports_format_size_mode_and_exif_orientation() -> None:
    host = LocalHost()
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = encoded(quadrants(), "JPEG", exif=exif, dpi=(300, 300))

    result = edit(host, [photo_item(host, jpeg, "cam.jpg")], {"operation": "information", "info_field": "meta.img"})

    assert result.status is RunStatus.SUCCEEDED, result.error
    (item,) = result.last_outputs["Edit"][0]
    assert item.json["id"] == 1
    assert item.json["meta"]["img"] == {
        "format": "JPEG",
        "mime_type": "image/jpeg",
        "width": 40,
        "height": 20,
        "mode": "RGB",
        "has_alpha": False,
        "orientation": 6,
        "frames": 1,
        "file_size": len(jpeg),
        "dpi": [300.0, 300.0],
    }
    assert item.binary["data"]["file_name"] == "cam.jpg"


def test_resize_fit_keeps_the_shape_inside_the_box() -> None:
    host = LocalHost()

    result = edit(host, [photo_item(host, encoded(quadrants()))], {"operation": "resize", "width": 20, "height": 20})

    image = result_image(host, result)
    assert image.size == (20, 10)
    assert image.getpixel((2, 8)) == RED and image.getpixel((18, 5)) == BLUE


def test_resize_by_one_side_cover_and_exact() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(quadrants()))

    by_height = result_image(host, edit(host, [item], {"operation": "resize", "height": 10}))
    cover = result_image(host, edit(host, [item], {"operation": "resize", "width": 10, "height": 10, "fit": "cover"}))
    exact = result_image(host, edit(host, [item], {"operation": "resize", "width": 10, "height": 30, "fit": "exact"}))

    assert by_height.size == (20, 10)
    # Cover cuts the sides around the centre: a 20x20 middle scaled to 10x10, half red, half blue.
    assert cover.size == (10, 10)
    assert cover.getpixel((1, 8)) == RED and cover.getpixel((8, 8)) == BLUE
    assert exact.size == (10, 30)


def test_crop_takes_the_box_and_refuses_one_outside_the_image() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(quadrants()))
    box = {"operation": "crop", "x": 18, "y": 12, "crop_width": 6, "crop_height": 8}

    image = result_image(host, edit(host, [item], box))
    error = failure(edit(host, [item], {**box, "x": 38}))

    assert image.size == (6, 8)
    assert image.getpixel((0, 0)) == RED and image.getpixel((5, 7)) == BLUE
    assert error["message"] == "'photo.png': crop: the crop box from (38, 12) to (44, 20) goes outside the 40x20 image"
    assert error["item_index"] == 0


def test_rotate_turns_clockwise_and_fills_uncovered_corners() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(quadrants()))

    quarter = result_image(host, edit(host, [item], {"operation": "rotate", "degrees": 90}))
    tilted = result_image(host, edit(host, [item], {"operation": "rotate", "degrees": 45, "background": "#00000000"}))

    # Turned clockwise, the green top-left corner goes to the top right.
    assert quarter.size == (20, 40)
    assert quarter.getpixel((18, 1)) == GREEN and quarter.getpixel((1, 1)) == RED
    assert tilted.mode == "RGBA" and tilted.width > 40 and tilted.height > 20
    assert tilted.getpixel((0, 0))[3] == 0


def test_flip_mirrors_or_turns_upside_down() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(quadrants()))

    mirrored = result_image(host, edit(host, [item], {"operation": "flip", "direction": "horizontal"}))
    flipped = result_image(host, edit(host, [item], {"operation": "flip", "direction": "vertical"}))

    assert mirrored.getpixel((39, 0)) == GREEN and mirrored.getpixel((0, 19)) == BLUE
    assert flipped.getpixel((0, 19)) == GREEN and flipped.getpixel((0, 0)) == RED


def test_convert_to_jpeg_lays_transparency_on_white_and_renames_the_file() -> None:
    host = LocalHost()
    image = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 8, 16))

    result = edit(
        host,
        [photo_item(host, encoded(image), "logo.png")],
        {"operation": "convert", "format": "jpeg", "quality": 95, "output_property": "jpeg"},
    )

    converted = result_image(host, result, "jpeg")
    assert converted.format == "JPEG" and converted.mode == "RGB"
    assert all(abs(a - b) < 8 for a, b in zip(converted.getpixel((12, 8)), WHITE, strict=True))
    assert all(abs(a - b) < 8 for a, b in zip(converted.getpixel((3, 8)), RED, strict=True))
    binary = result.last_outputs["Edit"][0][0].binary
    assert binary["jpeg"]["file_name"] == "logo.jpg" and binary["jpeg"]["mime_type"] == "image/jpeg"
    assert binary["data"]["file_name"] == "logo.png"


def test_convert_to_webp_and_gif() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(quadrants()))

    webp = edit(host, [item], {"operation": "convert", "format": "webp"})
    gif = edit(host, [item], {"operation": "convert", "format": "gif"})

    assert result_image(host, webp).format == "WEBP"
    assert webp.last_outputs["Edit"][0][0].binary["data"]["mime_type"] == "image/webp"
    assert result_image(host, gif).convert("RGB").getpixel((30, 10)) == BLUE
    assert gif.last_outputs["Edit"][0][0].binary["data"]["file_name"] == "photo.gif"


def test_text_is_drawn_in_its_colour_at_its_position_from_an_expression() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(Image.new("RGB", (120, 40), WHITE)), json={"label": "HELLO"})

    image = result_image(
        host,
        edit(
            host,
            [item],
            {
                "operation": "text",
                "text": "{{ $json.label }}",
                "text_x": 60,
                "text_y": 5,
                "font_size": 20,
                "colour": "red",
            },
        ),
    )

    left = image.crop((0, 0, 60, 40))
    right = image.crop((60, 0, 120, 40))
    assert left.getcolors() == [(60 * 40, WHITE)]
    assert RED in {colour for _, colour in right.getcolors(maxcolors=10_000)}


def test_blur_softens_an_edge_and_grayscale_drops_colour() -> None:
    host = LocalHost()
    item = photo_item(host, encoded(quadrants()))

    blurred = result_image(host, edit(host, [item], {"operation": "blur", "radius": 3}))
    grey = result_image(host, edit(host, [item], {"operation": "grayscale"}))

    red, _, blue = blurred.getpixel((20, 15))
    assert 0 < red < 255 and 0 < blue < 255
    assert grey.mode == "L" and grey.getpixel((30, 10)) == 29


def test_multi_step_applies_the_steps_in_order() -> None:
    host = LocalHost()
    steps = [
        {"operation": "crop", "x": 0, "y": 0, "crop_width": 20, "crop_height": 20},
        {"operation": "flip", "direction": "vertical"},
        {"operation": "resize", "width": 10},
        {"operation": "convert", "format": "jpeg", "quality": 90},
    ]

    result = edit(host, [photo_item(host, encoded(quadrants()))], {"operation": "multi_step", "steps": steps})

    image = result_image(host, result)
    assert image.format == "JPEG" and image.size == (10, 10)
    top, bottom = image.getpixel((5, 1)), image.getpixel((5, 8))
    assert top[0] > 200 and top[1] < 40 and bottom[1] > 200 and bottom[0] < 40
    assert result.last_outputs["Edit"][0][0].binary["data"]["file_name"] == "photo.jpg"


def test_a_failing_step_is_named_with_its_number() -> None:
    host = LocalHost()
    steps = [{"operation": "resize", "width": 10}, {"operation": "crop", "crop_width": 50, "crop_height": 5}]

    error = failure(edit(host, [photo_item(host, encoded(quadrants()))], {"operation": "multi_step", "steps": steps}))

    assert error["message"] == (
        "'photo.png': step 2 (crop): the crop box from (0, 0) to (50, 5) goes outside the 10x5 image"
    )


def test_an_incomplete_edit_is_refused_with_what_it_needs() -> None:
    host = LocalHost()

    error = failure(edit(host, [photo_item(host, encoded(quadrants()))], {"operation": "resize", "fit": "exact"}))

    assert "resize needs a width, a height or both" in error["message"]


def test_the_exif_orientation_is_applied_before_editing() -> None:
    host = LocalHost()
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the stored image turned 90 degrees clockwise
    jpeg = encoded(quadrants(), "JPEG", exif=exif, quality=95)

    upright = result_image(host, edit(host, [photo_item(host, jpeg, "cam.jpg")], {"operation": "grayscale"}))
    stored = result_image(
        host, edit(host, [photo_item(host, jpeg, "cam.jpg")], {"operation": "grayscale", "auto_orient": False})
    )

    assert upright.size == (20, 40) and stored.size == (40, 20)
    assert upright.getexif().get(0x0112) is None


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (its data is a few bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_an_image_over_the_pixel_limit_is_refused_before_decoding() -> None:
    host = LocalHost()
    item = photo_item(host, bomb_png(10_000, 10_000), "bomb.png")

    error = failure(edit(host, [item], {"operation": "grayscale"}))
    huge = failure(edit(host, [photo_item(host, bomb_png(100_000, 100_000), "huge.png")], {"operation": "grayscale"}))

    assert error["message"] == "'bomb.png' is 10000x10000 pixels, more than the 50000000 allowed; refused"
    assert "decompression bomb" in error["description"]
    assert huge["message"].startswith("'huge.png' is far too big to open")


def test_a_resize_past_the_pixel_limit_is_refused() -> None:
    host = LocalHost()
    parameters = {"operation": "resize", "width": 4000, "height": 4000, "fit": "exact", "max_megapixels": 10}

    error = failure(edit(host, [photo_item(host, encoded(quadrants()))], parameters))

    assert (
        error["message"] == "'photo.png': resize: the result would be 4000x4000 pixels, more than the 10000000 allowed"
    )


def test_a_file_that_is_not_an_image_names_its_item_and_continue_on_fail_goes_on() -> None:
    host = LocalHost()
    items = [photo_item(host, encoded(quadrants())), photo_item(host, b"%PDF-1.7 not an image", "doc.pdf")]

    error = failure(edit(host, items, {"operation": "grayscale"}))
    continued = edit(host, items, {"operation": "grayscale"}, on_error="continue")

    assert error["message"] == "'doc.pdf' is not an image this node can read"
    assert error["item_index"] == 1
    assert continued.status is RunStatus.SUCCEEDED
    assert continued.last_outputs["Edit"][0][0].json["error"] == "'doc.pdf' is not an image this node can read"


def test_a_missing_binary_property_lists_the_items_properties() -> None:
    host = LocalHost()

    error = failure(edit(host, [photo_item(host, encoded(quadrants()))], {"operation": "blur", "binary_property": "x"}))

    assert error["message"] == "item 0 has no binary property 'x' (its binary properties: 'data')"
