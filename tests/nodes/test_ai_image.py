"""AI Image (ai.image) through the engine against the fake OpenAI images API on 127.0.0.1."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.fakes.openai_server import DALL_E_MODEL, IMAGE_MODEL, image_colour
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

WRONG_KEY = "sk-wrong-0123456789abcdef"


def draw(
    api: OpenAi, parameters: dict[str, Any], items: list[dict[str, Any] | Item] | None = None, **kw: Any
) -> tuple[RunResult, LocalHost]:
    host = kw.pop("host", None) or host_for(kw.pop("credential", api.credential))
    parameters = {"model": IMAGE_MODEL, **parameters}
    return run_node("ai.image", parameters, items, credential_type="openai_api", host=host, **kw), host


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def with_files(host: LocalHost, **files: bytes) -> Item:
    return Item(
        {"id": 7},
        binary={
            prop: host.store_binary(data, file_name=f"{prop}.png", mime_type="image/png")
            for prop, data in files.items()
        },
    )


def test_generate_returns_one_item_per_image_as_png_files(openai_api: OpenAi) -> None:
    parameters = {"prompt": "{{ $json.subject }} at dawn", "n": 2, "size": "1024x1536", "quality": "high"}

    result, host = draw(openai_api, parameters, [{"subject": "a lighthouse"}])

    made = outputs(result)
    assert made == [
        {"subject": "a lighthouse", "image": {"number": 1, "model": IMAGE_MODEL}},
        {"subject": "a lighthouse", "image": {"number": 2, "model": IMAGE_MODEL}},
    ]
    for number, item in enumerate(result.last_outputs[NODE][0]):
        reference = item.binary["data"]
        assert reference["mime_type"] == "image/png" and reference["file_name"] == f"generate-{number + 1}.png"
        image = opened(host.read_binary(reference))
        assert image.size == (64, 96)
        assert image.getpixel((0, 0)) == image_colour("a lighthouse at dawn", number)
        assert item.paired_item == 0
    (request,) = openai_api.server.received("/images/generations")
    assert request.body == {
        "model": IMAGE_MODEL,
        "n": 2,
        "size": "1024x1536",
        "prompt": "a lighthouse at dawn",
        "quality": "high",
    }
    assert request.headers["authorization"] == f"Bearer {openai_api.credential['api_key']}"


def test_a_dall_e_model_is_asked_for_b64_json_and_gives_its_revised_prompt(openai_api: OpenAi) -> None:
    result, host = draw(openai_api, {"model": DALL_E_MODEL, "prompt": "a cat", "style": "natural"})

    (item,) = outputs(result)
    assert item["image"] == {"number": 1, "model": DALL_E_MODEL, "revised_prompt": "A picture of a cat"}
    reference = result.last_outputs[NODE][0][0].binary["data"]
    assert opened(host.read_binary(reference)).getpixel((0, 0)) == image_colour("a cat")
    (request,) = openai_api.server.received("/images/generations")
    assert request.body["response_format"] == "b64_json" and request.body["style"] == "natural"


def test_return_url_gives_links_that_serve_the_image(openai_api: OpenAi) -> None:
    result, _ = draw(
        openai_api, {"model": DALL_E_MODEL, "prompt": "a boat", "return_as": "url", "result_field": "art.image"}
    )

    (item,) = outputs(result)
    url = item["art"]["image"]["url"]
    assert url.startswith(f"http://{openai_api.server.host}:{openai_api.server.port}/files/images/")
    assert result.last_outputs[NODE][0][0].binary == {}
    assert opened(httpx.get(url).content).getpixel((0, 0)) == image_colour("a boat")
    assert openai_api.server.received("/images/generations")[0].body["response_format"] == "url"


def test_links_from_a_gpt_image_model_are_refused_before_calling(openai_api: OpenAi) -> None:
    error = failure(draw(openai_api, {"prompt": "a boat", "return_as": "url"})[0])

    assert error["message"] == f"item 0: {IMAGE_MODEL} answers with image data only, not links"
    assert openai_api.server.requests == []


def test_edit_sends_the_image_and_mask_and_paints_where_the_mask_is_clear(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)
    mask = Image.new("RGBA", (8, 8), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 4, 8))
    item = with_files(host, photo=png(Image.new("RGBA", (8, 8), (10, 20, 30, 255))), hole=png(mask))
    parameters = {
        "operation": "edit",
        "prompt": "a red door",
        "binary_property": "photo",
        "mask_property": "hole",
        "output_property": "edited",
    }

    result, _ = draw(openai_api, parameters, [item], host=host)

    (made,) = outputs(result)
    assert made == {"id": 7, "image": {"number": 1, "model": IMAGE_MODEL}}
    binary = result.last_outputs[NODE][0][0].binary
    assert set(binary) == {"photo", "hole", "edited"}
    edited = opened(host.read_binary(binary["edited"]))
    assert edited.getpixel((1, 4)) == (*image_colour("a red door"), 255)
    assert edited.getpixel((6, 4)) == (10, 20, 30, 255)
    (request,) = openai_api.server.received("/images/edits")
    assert request.body == {"model": IMAGE_MODEL, "n": "1", "prompt": "a red door"}
    assert request.files["image"].file_name == "photo.png" and request.files["image"].content_type == "image/png"
    assert request.files["mask"].file_name == "hole.png"


def test_a_mask_of_another_size_is_refused_with_the_apis_message(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)
    item = with_files(host, data=png(Image.new("RGBA", (8, 8))), mask=png(Image.new("RGBA", (4, 4))))

    error = failure(
        draw(openai_api, {"operation": "edit", "prompt": "x", "mask_property": "mask"}, [item], host=host)[0]
    )

    assert error["message"] == (
        "item 0: the image edit was refused (400): Invalid mask image: it is 4x4, the image is 8x8; "
        "they must be the same size."
    )


def test_an_edit_of_a_file_that_is_not_an_image_names_the_item(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)
    items = [with_files(host, data=png(Image.new("RGB", (4, 4)))), with_files(host, data=b"plain text")]

    error = failure(draw(openai_api, {"operation": "edit", "prompt": "x"}, items, host=host)[0])

    assert error["message"] == "item 1: binary property 'data' is not a PNG, JPEG, WEBP or GIF image"
    assert error["item_index"] == 1
    assert len(openai_api.server.received("/images/edits")) == 1


def test_variation_mirrors_the_image_with_a_dall_e_model(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)
    source = Image.new("RGB", (6, 6), (0, 0, 255))
    source.paste((255, 0, 0), (0, 0, 3, 6))
    item = with_files(host, data=png(source))

    result, _ = draw(
        openai_api, {"operation": "variation", "model": DALL_E_MODEL, "size": "256x256"}, [item], host=host
    )

    (made,) = outputs(result)
    assert made["image"] == {"number": 1, "model": DALL_E_MODEL}
    varied = opened(host.read_binary(result.last_outputs[NODE][0][0].binary["data"]))
    assert varied.getpixel((0, 0)) == (0, 0, 255, 255) and varied.getpixel((5, 0)) == (255, 0, 0, 255)
    (request,) = openai_api.server.received("/images/variations")
    assert request.body == {"model": DALL_E_MODEL, "n": "1", "size": "256x256", "response_format": "b64_json"}
    assert "prompt" not in request.body


def test_variation_defaults_to_dall_e_2_and_an_unknown_model_is_404(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)

    error = failure(
        draw(
            openai_api,
            {"operation": "variation", "model": ""},
            [with_files(host, data=png(Image.new("RGB", (4, 4))))],
            host=host,
        )[0]
    )

    assert error["message"] == "item 0: the image variation failed (404): The model `dall-e-2` does not exist."


def test_a_size_the_model_does_not_take_is_refused_with_the_apis_message(openai_api: OpenAi) -> None:
    error = failure(draw(openai_api, {"model": DALL_E_MODEL, "prompt": "a cat", "size": "auto"})[0])

    assert error["message"].startswith("item 0: the image generation was refused (400): 'auto' is not one of")
    assert "Check the node's parameters" in error["description"]


def test_an_empty_prompt_fails_before_any_request(openai_api: OpenAi) -> None:
    error = failure(draw(openai_api, {"prompt": "{{ $json.subject }}"}, [{"subject": "  "}])[0])

    assert error["message"] == "item 0: Prompt is empty"
    assert openai_api.server.requests == []


def test_a_wrong_api_key_fails_clearly_and_never_shows_the_key(openai_api: OpenAi) -> None:
    result, _ = draw(openai_api, {"prompt": "a cat"}, credential={**openai_api.credential, "api_key": WRONG_KEY})

    error = failure(result)
    assert error["message"].startswith(f"item 0: {openai_api.server.base_url} refused the API key (401): Incorrect")
    assert WRONG_KEY not in error["message"]


def test_rate_limits_are_retried_then_reported(openai_api: OpenAi) -> None:
    openai_api.server.rate_limited = 1
    retried, _ = draw(openai_api, {"prompt": "a cat", "max_retries": 1})
    openai_api.server.rate_limited = 5
    given_up, _ = draw(openai_api, {"prompt": "a cat", "max_retries": 0})

    assert retried.status is RunStatus.SUCCEEDED
    assert len(openai_api.server.received("/images/generations")) == 3
    assert failure(given_up)["message"].startswith("item 0: the image generation was rate-limited (429)")
