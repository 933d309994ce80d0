"""AI Transcription: the words spoken in an audio file, as text or subtitles, or translated into English."""

from __future__ import annotations

import mimetypes
import posixpath
import warnings
from typing import Any, Literal

import openai

from nodes.ai._chat import ModelParameters, open_client
from nodes.ai.credentials import call
from nodes.core.set import set_path
from nodes.files._common import read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, param

DEFAULT_AUDIO_MODEL = "whisper-1"
MAX_AUDIO_BYTES = 25 * 1024 * 1024
"""The audio APIs refuse bigger uploads."""
AUDIO_EXTENSIONS = frozenset({"flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"})
TRANSCRIBE = {"operation": ["transcribe"]}


class TranscriptionParameters(ModelParameters):
    operation: Literal["transcribe", "translate"] = param(
        "transcribe",
        title="Operation",
        description="transcribe: the words in the language spoken; translate: the words in English.",
        no_expressions=True,
    )
    model: str = param(
        DEFAULT_AUDIO_MODEL,
        title="Model",
        description="whisper-1 does both and every answer format (translations need it); gpt-4o-transcribe and "
        "gpt-4o-mini-transcribe only transcribe, answering json or text.",
        min_length=1,
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="Holds the audio: flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav or webm, up to 25 MB.",
        min_length=1,
    )
    language: str = param(
        "",
        title="Language",
        description="The ISO-639-1 code of the speech (en, fr, de...); empty: detected. Giving it is faster "
        "and more accurate.",
        show_if=TRANSCRIBE,
        pattern=r"^([a-z]{2})?$",
    )
    prompt: str = param(
        "",
        title="Prompt",
        description="Names and spellings to expect, or what was said just before; in the audio's language "
        "(English when translating).",
        widget="textarea",
    )
    response_format: Literal["text", "json", "verbose_json", "srt", "vtt"] = param(
        "json",
        title="Answer as",
        description="text or json: the text; verbose_json: also the language, duration and timed segments "
        "(in <field>_details); srt or vtt: subtitles.",
        no_expressions=True,
    )
    timestamp_granularities: list[Literal["segment", "word"]] = param(
        default_factory=list,
        title="Timestamps",
        description="Time each segment, each word, or both (word timing takes longer). Empty: segments.",
        widget="multi_options",
        show_if={"response_format": ["verbose_json"], "operation": ["transcribe"]},
        advanced=True,
    )
    temperature: float | None = param(
        None,
        title="Temperature",
        description="0: the most likely words; up to 1: more varied. Empty: the model's default.",
        advanced=True,
        ge=0,
        le=1,
    )
    result_field: str = param(
        "text", title="Put the text in", description="A field of the item; dots make nested fields.", min_length=1
    )


def _upload_name(reference: dict[str, Any], prop: str) -> str:
    """The file name to upload: the API tells the audio format from its extension, so one is added if missing."""
    name = str(reference.get("file_name") or prop)
    extension = posixpath.splitext(name)[1].lstrip(".").lower()
    if extension in AUDIO_EXTENSIONS:
        return name
    guessed = mimetypes.guess_extension(str(reference.get("mime_type") or "")) or ""
    return f"{name}{guessed}" if guessed.lstrip(".") in AUDIO_EXTENSIONS else name


def _translate(client: openai.OpenAI, request: dict[str, Any]) -> Any:
    """POST /audio/translations, which the SDK marks deprecated along with whisper-1, its only model."""
    with warnings.catch_warnings():
        # The node's Model help already names whisper-1; a warning per item in the worker's log adds nothing.
        warnings.simplefilter("ignore", DeprecationWarning)
        return client.audio.translations.create(**request)


def _details(answer: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"language": answer.language, "duration": answer.duration}
    details["segments"] = [
        {"id": segment.id, "start": segment.start, "end": segment.end, "text": segment.text.strip()}
        for segment in answer.segments or []
    ]
    words = getattr(answer, "words", None)
    if words:
        details["words"] = [{"word": word.word, "start": word.start, "end": word.end} for word in words]
    return details


class TranscriptionNode(Node):
    type = "ai.transcription"
    display_name = "AI Transcription"
    category = Category.AI
    description = "Writes down the speech in an audio file, as text or subtitles, or translates it into English."
    icon = "audio-lines"
    Parameters = TranscriptionParameters
    credentials = (CredentialRequirement("openai_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: TranscriptionParameters = ctx.params(0)
        client, fields = open_client(ctx, first)
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: TranscriptionParameters = ctx.params(index)
            data, reference = read_input(ctx, item, params.binary_property, index)
            name = _upload_name(dict(reference), params.binary_property)
            if len(data) > MAX_AUDIO_BYTES:
                raise NodeError(
                    f"item {index}: {name!r} is {len(data) / 1024 / 1024:.1f} MB, over the API's 25 MB limit",
                    description="Split the audio into shorter parts, or compress it (e.g. mp3 at a lower bitrate).",
                    item_index=index,
                )
            request: dict[str, Any] = {
                "model": params.model,
                "file": (name, data, str(reference.get("mime_type") or "application/octet-stream")),
                "response_format": params.response_format,
            }
            if params.prompt.strip():
                request["prompt"] = params.prompt
            if params.temperature is not None:
                request["temperature"] = params.temperature
            if params.operation == "transcribe":
                if params.language:
                    request["language"] = params.language
                if params.response_format == "verbose_json" and params.timestamp_granularities:
                    request["timestamp_granularities"] = params.timestamp_granularities
                answer = call(
                    fields,
                    "the transcription",
                    lambda request=request: client.audio.transcriptions.create(**request),
                    item_index=index,
                )
            else:
                answer = call(
                    fields, "the translation", lambda request=request: _translate(client, request), item_index=index
                )
            json = dict(item.json)
            if isinstance(answer, str):
                # text, srt and vtt come back as plain text; the API ends text answers with a newline.
                set_path(json, params.result_field, answer.strip() if params.response_format == "text" else answer)
            else:
                set_path(json, params.result_field, answer.text)
                if params.response_format == "verbose_json":
                    set_path(json, f"{params.result_field}_details", _details(answer))
            produced.append(Item(json, binary=item.binary, paired_item=index))
        return [produced]
