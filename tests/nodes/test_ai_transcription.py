"""AI Transcription (ai.transcription) through the engine against the fake OpenAI audio API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.fakes.openai_server import AUDIO_MODEL, spoken_wav
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import failure, host_for, outputs, run_node

WRONG_KEY = "sk-wrong-0123456789abcdef"
SPEECH = "Bonjour à tous. La réunion commence."
ENGLISH = "Hello everyone. The meeting starts."


def audio_item(host: LocalHost, data: bytes, file_name: str = "memo.wav", mime_type: str = "audio/wav") -> Item:
    return Item({"id": 3}, binary={"data": host.store_binary(data, file_name=file_name, mime_type=mime_type)})


def french(host: LocalHost) -> Item:
    return audio_item(host, spoken_wav(SPEECH, english=ENGLISH, language="french", seconds=3.0))


def listen(api: OpenAi, parameters: dict[str, Any], item: Any = None, **kw: Any) -> RunResult:
    host = kw.pop("host", None) or host_for(kw.pop("credential", api.credential))
    items = [item if item is not None else french(host)]
    parameters = {"model": AUDIO_MODEL, **parameters}
    return run_node("ai.transcription", parameters, items, credential_type="openai_api", host=host, **kw)


def test_transcribe_puts_the_text_in_the_item_and_sends_the_options(openai_api: OpenAi) -> None:
    parameters = {"language": "fr", "prompt": "Réunion d'équipe.", "temperature": 0.2, "result_field": "memo.text"}

    (item,) = outputs(listen(openai_api, parameters))

    assert item == {"id": 3, "memo": {"text": SPEECH}}
    (request,) = openai_api.server.received("/audio/transcriptions")
    assert request.body == {
        "model": AUDIO_MODEL,
        "response_format": "json",
        "prompt": "Réunion d'équipe.",
        "temperature": "0.2",
        "language": "fr",
    }
    upload = request.files["file"]
    assert upload.file_name == "memo.wav" and upload.content_type == "audio/wav"
    assert upload.data.startswith(b"RIFF")


def test_text_answers_lose_the_trailing_newline(openai_api: OpenAi) -> None:
    (item,) = outputs(listen(openai_api, {"response_format": "text"}))

    assert item["text"] == SPEECH


def test_verbose_json_gives_language_duration_segments_and_words(openai_api: OpenAi) -> None:
    parameters = {"response_format": "verbose_json", "timestamp_granularities": ["word", "segment"]}

    (item,) = outputs(listen(openai_api, parameters))

    assert item["text"] == SPEECH
    details = item["text_details"]
    assert details["language"] == "french" and details["duration"] == 3.0
    assert details["segments"] == [
        {"id": 0, "start": 0.0, "end": 1.5, "text": "Bonjour à tous."},
        {"id": 1, "start": 1.5, "end": 3.0, "text": "La réunion commence."},
    ]
    assert [word["word"] for word in details["words"]] == ["Bonjour", "à", "tous", "La", "réunion", "commence"]
    (request,) = openai_api.server.received("/audio/transcriptions")
    assert request.body["timestamp_granularities[]"] == ["word", "segment"]


def test_subtitles_come_back_as_srt_or_vtt(openai_api: OpenAi) -> None:
    (srt,) = outputs(listen(openai_api, {"response_format": "srt"}))
    (vtt,) = outputs(listen(openai_api, {"response_format": "vtt"}))

    assert srt["text"] == (
        "1\n00:00:00,000 --> 00:00:01,500\nBonjour à tous.\n\n2\n00:00:01,500 --> 00:00:03,000\nLa réunion commence.\n"
    )
    assert vtt["text"] == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nBonjour à tous.\n\n"
        "00:00:01.500 --> 00:00:03.000\nLa réunion commence.\n"
    )


def test_translate_gives_english_from_the_translations_api(openai_api: OpenAi) -> None:
    (item,) = outputs(
        listen(openai_api, {"operation": "translate", "language": "fr", "response_format": "verbose_json"})
    )

    assert item["text"] == ENGLISH and item["text_details"]["language"] == "english"
    (request,) = openai_api.server.received("/audio/translations")
    assert "language" not in request.body
    assert openai_api.server.received("/audio/transcriptions") == []


def test_a_file_name_without_extension_gets_one_from_its_mime_type(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)
    item = audio_item(host, spoken_wav("Hi."), file_name="recording", mime_type="audio/x-wav")

    (answered,) = outputs(listen(openai_api, {}, item, host=host))

    assert answered["text"] == "Hi."
    assert openai_api.server.received("/audio/transcriptions")[0].files["file"].file_name == "recording.wav"


def test_a_file_that_is_not_audio_is_refused_with_the_apis_message(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)

    error = failure(listen(openai_api, {}, audio_item(host, b"just text", "notes.txt", "text/plain"), host=host))

    assert error["message"].startswith("item 0: the transcription was refused (400): Invalid file format.")
    assert error["item_index"] == 0


def test_audio_over_25_mb_is_refused_before_uploading(openai_api: OpenAi) -> None:
    host = host_for(openai_api.credential)
    item = audio_item(host, b"\0" * (26 * 1024 * 1024), "long.wav")

    error = failure(listen(openai_api, {}, item, host=host))

    assert error["message"] == "item 0: 'long.wav' is 26.0 MB, over the API's 25 MB limit"
    assert openai_api.server.requests == []


def test_an_unknown_model_and_a_wrong_key_fail_clearly(openai_api: OpenAi) -> None:
    unknown = failure(listen(openai_api, {"model": "whisper-none"}))
    refused = failure(listen(openai_api, {}, credential={**openai_api.credential, "api_key": WRONG_KEY}))

    assert unknown["message"] == "item 0: the transcription failed (404): The model `whisper-none` does not exist."
    assert refused["message"].startswith(f"item 0: {openai_api.server.base_url} refused the API key (401): Incorrect")
    assert WRONG_KEY not in refused["message"]


def test_a_missing_binary_property_names_the_item(openai_api: OpenAi) -> None:
    error = failure(listen(openai_api, {"binary_property": "audio"}))

    assert error["message"] == "item 0 has no binary property 'audio' (its binary properties: 'data')"
    assert openai_api.server.requests == []


def test_a_language_that_is_not_a_two_letter_code_is_refused(openai_api: OpenAi) -> None:
    error = failure(listen(openai_api, {"language": "French"}))

    assert "language" in error["message"]
    assert openai_api.server.requests == []
