"""A real HTTP server on 127.0.0.1 speaking the part of the OpenAI API the AI nodes use, deterministically.

Routes (under ``/v1``, ``Authorization: Bearer <key>``; a wrong key is 401 ``invalid_api_key``):
    ``GET /models``              :data:`MODELS`.
    ``POST /chat/completions``   the "model" answers from the last user message only (instructions go in the
                                 system message, so they never leak into answers):
                                 - text: the message's first sentence;
                                 - ``json_object``: ``{"reply": <that sentence>}``;
                                 - ``json_schema``: an object filled from the message (:func:`fill`): an ``enum``
                                   takes the values the message mentions, a property ``name`` takes what follows
                                   ``name:`` in it;
                                 each cut to ``max_completion_tokens`` words (``finish_reason`` ``length``).
    ``POST /embeddings``         a unit vector per input derived from its SHA-256 (``dimensions``, default 8),
                                 as floats or base64 float32, as asked.
    ``POST /moderations``        flags inputs with a word of :data:`FLAGGED_WORDS`.
    ``POST /images/generations`` a PNG per image (``n``), 1/16 of the requested ``size`` (default 1024x1024) and
                                 filled with :func:`image_colour` of the prompt; ``gpt-image-fake`` always answers
                                 ``b64_json`` and refuses ``response_format`` (like gpt-image-1), ``dall-e-fake``
                                 answers ``url`` unless asked for ``b64_json``, with a ``revised_prompt``.
    ``POST /images/edits``       multipart ``image`` (or ``image[]``), optional ``mask``, ``prompt``: the image with the
                                 mask's transparent pixels (without a mask: the image's own) painted in the prompt's
                                 colour; a mask of another size is 400.
    ``POST /images/variations``  multipart ``image``, ``dall-e-fake`` only: the image mirrored left to right.
    ``GET /files/images/<name>`` the image a ``url`` answer points to (no key needed, like a signed link).
    ``POST /audio/transcriptions`` multipart ``file``: a WAV made by :func:`spoken_wav` (anything else is 400
    ``POST /audio/translations``   ``Invalid file format``); "hears" its ``txt `` chunk (translations: its English),
                                 one segment per sentence spread over the WAV's duration, answered as ``text``,
                                 ``json``, ``verbose_json`` (words with ``timestamp_granularities[]=word``), ``srt``
                                 or ``vtt``.
Bad requests are 400 with OpenAI's error body (``param`` set). An unknown model is 404 ``model_not_found``; the
image and audio models (:data:`MEDIA_MODELS`) are accepted but not listed by ``GET /models``.
:attr:`FakeOpenAI.rate_limited` makes the next N requests answer 429 with ``Retry-After: <retry_after>``.
Every request is recorded (:attr:`FakeOpenAI.requests`).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import json
import math
import re
import struct
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError

from tests.fakes.serving import FakeServer, serve

API_KEY = "sk-fake-4f9d2c7a1b8e"
MODELS = ("gpt-fake-mini", "gpt-fake", "text-embedding-fake", "omni-moderation-fake")
IMAGE_MODEL = "gpt-image-fake"
DALL_E_MODEL = "dall-e-fake"
AUDIO_MODEL = "whisper-fake"
MEDIA_MODELS = (IMAGE_MODEL, DALL_E_MODEL, AUDIO_MODEL)
IMAGE_SIZES = ("256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792")
AUDIO_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
SPOKEN_CHUNK = b"txt "
"""The RIFF chunk of a :func:`spoken_wav` holding what the fake "hears" (``wave`` readers skip it)."""
FLAGGED_WORDS = {"kill": "violence", "attack": "violence", "hate": "hate", "idiot": "harassment"}
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Received:
    """One request: JSON bodies (and multipart text fields) in ``body``, multipart files in ``files``."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)


class BadRequest(Exception):
    """Answered as 400 with OpenAI's error body naming ``param``."""

    def __init__(self, message: str, param: str | None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass
class FakeOpenAI:
    host: str
    port: int
    api_key: str = API_KEY
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    """How many of the next requests get 429."""
    retry_after: str = "0.05"
    images: dict[str, bytes] = field(default_factory=dict)
    """Images served at ``/files/images/<name>`` for ``url`` answers."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def received(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path == f"/v1{path}"]


def _words(text: str) -> list[str]:
    return text.split()


def _user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
    return ""


def _after_name(name: str, text: str) -> str | None:
    """The text after ``name:`` (or ``name =``) up to the next comma, semicolon or line end."""
    label = re.escape(name).replace(r"\_", "[ _]")
    match = re.search(rf"\b{label}\s*[:=]\s*([^,;\n]+)", text, re.IGNORECASE)
    return match.group(1).strip().rstrip(".") if match else None


def _number(raw: str | None) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", raw or "")
    return float(match.group()) if match else None


def fill(schema: dict[str, Any], text: str, name: str = "") -> Any:
    """A value of ``schema`` made from ``text``: what a very literal model would extract."""
    if "enum" in schema:
        mentioned = [value for value in schema["enum"] if str(value).lower() in text.lower()]
        return mentioned[0] if mentioned else schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: fill(sub, text, key) for key, sub in properties.items()}
    if kind == "array":
        items = schema.get("items") or {}
        if "enum" in items:
            return [value for value in items["enum"] if str(value).lower() in text.lower()]
        raw = _after_name(name, text)
        return [fill(items, part.strip()) for part in raw.split(" and ")] if raw else []
    raw = _after_name(name, text) if name else text
    if kind in ("number", "integer"):
        number = _number(raw)
        if number is None:
            return 0
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return (raw or "").lower() in ("yes", "true", "1")
    return raw or ""


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    text = _user_text(body.get("messages") or [])
    response_format = body.get("response_format") or {"type": "text"}
    first_sentence = SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    if response_format.get("type") == "json_schema":
        content = json.dumps(fill(response_format["json_schema"].get("schema") or {}, text))
    elif response_format.get("type") == "json_object":
        content = json.dumps({"reply": first_sentence})
    else:
        content = first_sentence
    finish = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit and len(_words(content)) > limit:
        # Cut like a real model: mid-JSON if need be.
        content, finish = " ".join(_words(content)[:limit]), "length"
    prompt_tokens = sum(len(_words(str(m.get("content") or ""))) for m in body.get("messages") or [])
    completion_tokens = len(_words(content))
    return {
        "id": f"chatcmpl-{hashlib.sha256(content.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def vector(text: str, dimensions: int = 8) -> list[float]:
    """The fake's embedding of ``text``: deterministic, unit length."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return [value / norm for value in raw]


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    dimensions = int(body.get("dimensions") or 8)
    data = []
    for index, text in enumerate(texts):
        values = vector(str(text), dimensions)
        embedding: Any = values
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(len(_words(str(text))) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _moderations(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else [str(text) for text in inputs or []]
    results = []
    for text in texts:
        hits = {FLAGGED_WORDS[word] for word in re.findall(r"[a-z]+", text.lower()) if word in FLAGGED_WORDS}
        results.append(
            {
                "flagged": bool(hits),
                "categories": {category: category in hits for category in MODERATION_CATEGORIES},
                "category_scores": {category: 0.97 if category in hits else 0.01 for category in MODERATION_CATEGORIES},
                "category_applied_input_types": {category: ["text"] for category in MODERATION_CATEGORIES},
            }
        )
    return {"id": "modr-fake", "model": body.get("model") or "omni-moderation-fake", "results": results}


def image_colour(prompt: str, index: int = 0) -> tuple[int, int, int]:
    """The colour the fake paints for ``prompt`` (image ``index`` of a request)."""
    digest = hashlib.sha256(f"{prompt}#{index}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _count(body: dict[str, Any]) -> int:
    try:
        n = int(body.get("n") or 1)
    except ValueError as err:
        raise BadRequest(f"Invalid type for 'n': expected an integer, but got {body['n']!r}.", "n") from err
    if not 1 <= n <= 10:
        raise BadRequest(f"Invalid 'n': integer below minimum value. Expected a value between 1 and 10, got {n}.", "n")
    return n


def _size(body: dict[str, Any]) -> tuple[int, int]:
    size = str(body.get("size") or "1024x1024")
    if size not in IMAGE_SIZES:
        raise BadRequest(f"'{size}' is not one of {list(IMAGE_SIZES)} - 'size'", "size", "invalid_value")
    width, height = (int(part) for part in size.split("x"))
    return width, height


def _prompt(body: dict[str, Any]) -> str:
    prompt = str(body.get("prompt") or "")
    if not prompt.strip():
        raise BadRequest("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    return prompt


def _uploaded_image(files: dict[str, Upload], name: str) -> Image.Image:
    upload = files.get(name) or files.get(f"{name}[]")
    if upload is None:
        raise BadRequest(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
    try:
        image = Image.open(io.BytesIO(upload.data))
        image.load()
    except (UnidentifiedImageError, OSError) as err:
        message = f"Invalid image file or mode for image 1, please check your image file: {upload.file_name}."
        raise BadRequest(message, name, "invalid_image_file") from err
    return image.convert("RGBA")


class _ImageAnswer:
    """Builds an images response: ``b64_json`` or ``url`` entries as the model and ``response_format`` say."""

    def __init__(self, fake: FakeOpenAI, body: dict[str, Any]) -> None:
        self.fake = fake
        self.model = str(body.get("model") or DALL_E_MODEL)
        requested = body.get("response_format")
        if self.model == IMAGE_MODEL and requested is not None:
            raise BadRequest("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter")
        if requested not in (None, "url", "b64_json"):
            raise BadRequest(f"'{requested}' is not one of ['url', 'b64_json'] - 'response_format'", "response_format")
        self.as_url = self.model != IMAGE_MODEL and requested != "b64_json"
        self.data: list[dict[str, Any]] = []

    def add(self, png: bytes, **extra: Any) -> None:
        if self.as_url:
            name = f"{hashlib.sha256(png).hexdigest()[:16]}.png"
            with self.fake.lock:
                self.fake.images[name] = png
            self.data.append({"url": f"http://{self.fake.host}:{self.fake.port}/files/images/{name}", **extra})
        else:
            self.data.append({"b64_json": base64.b64encode(png).decode(), **extra})

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"created": 1_700_000_000, "data": self.data}
        if self.model == IMAGE_MODEL:
            answer.update(output_format="png", usage={"input_tokens": 10, "output_tokens": 272, "total_tokens": 282})
        return answer


def _generations(fake: FakeOpenAI, body: dict[str, Any]) -> dict[str, Any]:
    prompt = _prompt(body)
    width, height = _size(body)
    answer = _ImageAnswer(fake, body)
    for index in range(_count(body)):
        png = _png(Image.new("RGB", (width // 16, height // 16), image_colour(prompt, index)))
        extra = {"revised_prompt": f"A picture of {prompt}"} if answer.model == DALL_E_MODEL else {}
        answer.add(png, **extra)
    return answer.answer()


def _edits(fake: FakeOpenAI, body: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
    prompt = _prompt(body)
    image = _uploaded_image(files, "image")
    mask = _uploaded_image(files, "mask") if "mask" in files else image
    if mask.size != image.size:
        raise BadRequest(
            f"Invalid mask image: it is {mask.width}x{mask.height}, the image is {image.width}x{image.height}; "
            "they must be the same size.",
            "mask",
        )
    _size(body)
    answer = _ImageAnswer(fake, body)
    hole = mask.getchannel("A").point(lambda alpha: 255 if alpha == 0 else 0)
    for index in range(_count(body)):
        edited = image.copy()
        edited.paste((*image_colour(prompt, index), 255), mask=hole)
        answer.add(_png(edited))
    return answer.answer()


def _variations(fake: FakeOpenAI, body: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
    if str(body.get("model") or DALL_E_MODEL) != DALL_E_MODEL:
        message = f"Invalid value for 'model' = {body['model']}. Only {DALL_E_MODEL} supports variations."
        raise BadRequest(message, "model", "invalid_value")
    image = _uploaded_image(files, "image")
    _size(body)
    answer = _ImageAnswer(fake, body)
    for _ in range(_count(body)):
        answer.add(_png(ImageOps.mirror(image)))
    return answer.answer()


def spoken_wav(text: str, *, english: str | None = None, language: str = "english", seconds: float = 2.0) -> bytes:
    """A silent 8 kHz WAV of ``seconds`` in which the fake "hears" ``text`` (in ``language``; ``english``
    is what a translation gives, ``text`` itself when ``None``)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\0\0" * int(8000 * seconds))
    riff = buffer.getvalue()
    said = json.dumps({"text": text, "english": english or text, "language": language}).encode()
    said += b"\0" * (len(said) % 2)
    chunk = SPOKEN_CHUNK + struct.pack("<I", len(said)) + said
    # The chunk goes after "WAVE"; the RIFF size grows by its length.
    return b"RIFF" + struct.pack("<I", len(riff) - 8 + len(chunk)) + riff[8:12] + chunk + riff[12:]


def _heard(upload: Upload | None) -> tuple[dict[str, str], float]:
    """What a spoken WAV says and its duration in seconds."""
    if upload is None:
        raise BadRequest("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    formats = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]
    invalid = BadRequest(f"Invalid file format. Supported formats: {formats}", "file", "invalid_value")
    try:
        with wave.open(io.BytesIO(upload.data), "rb") as reader:
            duration = reader.getnframes() / reader.getframerate()
    except (wave.Error, EOFError) as err:
        raise invalid from err
    start = upload.data.find(SPOKEN_CHUNK, 12)
    if start < 0:
        return {"text": "", "english": "", "language": "english"}, duration
    (length,) = struct.unpack("<I", upload.data[start + 4 : start + 8])
    return json.loads(upload.data[start + 8 : start + 8 + length].rstrip(b"\0")), duration


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _audio(body: dict[str, Any], files: dict[str, Upload], *, translate: bool) -> tuple[str, Any]:
    """The answer's content type and content (text, or JSON data)."""
    response_format = str(body.get("response_format") or "json")
    if response_format not in AUDIO_FORMATS:
        raise BadRequest(
            f"'{response_format}' is not one of {list(AUDIO_FORMATS)} - 'response_format'", "response_format"
        )
    temperature = float(body.get("temperature") or 0)
    if not 0 <= temperature <= 1:
        raise BadRequest(f"Invalid 'temperature': expected a value between 0 and 1, got {temperature}.", "temperature")
    said, duration = _heard(files.get("file"))
    text = said["english"] if translate else said["text"]
    language = "english" if translate else str(body.get("language") or said["language"])
    sentences = [part for part in SENTENCE_END.split(text.strip()) if part] or [""]
    step = duration / len(sentences)
    segments = [
        {
            "id": number,
            "seek": 0,
            "start": round(number * step, 2),
            "end": round((number + 1) * step, 2),
            "text": f" {sentence}",
            "tokens": [50364 + position for position in range(len(_words(sentence)))],
            "temperature": temperature,
            "avg_logprob": -0.25,
            "compression_ratio": 1.1,
            "no_speech_prob": 0.01,
        }
        for number, sentence in enumerate(sentences)
    ]
    if response_format == "text":
        return "text/plain", f"{text}\n"
    if response_format in ("srt", "vtt"):
        separator = "," if response_format == "srt" else "."
        cues = [
            f"{_timestamp(seg['start'], separator)} --> {_timestamp(seg['end'], separator)}\n{seg['text'].strip()}\n"
            for seg in segments
        ]
        if response_format == "srt":
            return "text/plain", "\n".join(f"{number}\n{cue}" for number, cue in enumerate(cues, start=1))
        return "text/vtt", "WEBVTT\n\n" + "\n".join(cues)
    if response_format == "json":
        return "application/json", {"text": text, "usage": {"type": "duration", "seconds": math.ceil(duration)}}
    verbose: dict[str, Any] = {
        "task": "translate" if translate else "transcribe",
        "language": language,
        "duration": duration,
        "text": text,
        "segments": segments,
    }
    if "word" in body.get("timestamp_granularities[]", []):
        words = _words(text)
        span = duration / max(len(words), 1)
        verbose["words"] = [
            {"word": word.strip(".,!?"), "start": round(n * span, 2), "end": round((n + 1) * span, 2)}
            for n, word in enumerate(words)
        ]
    return "application/json", verbose


def _multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Text fields (a ``name[]`` field repeated is a list) and files of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True) or b""
        file_name = part.get_filename()
        if file_name is not None:
            files[name] = Upload(file_name, part.get_content_type(), payload)
        elif name.endswith("[]"):
            fields.setdefault(name, []).append(payload.decode())
        else:
            fields[name] = payload.decode()
    return fields, files


def _error(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeOpenAI]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, status: int, data: Any, **headers: str) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _text(self, status: int, content_type: str, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _file(self, data: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        content_type = self.headers.get("content-type") or ""
        files: dict[str, Upload] = {}
        if content_type.startswith("multipart/form-data"):
            body, files = _multipart(content_type, raw)
        else:
            body = json.loads(raw) if raw else {}
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, path, headers, body, files))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if self.command == "GET" and path.startswith("/files/images/"):
            with fake.lock:
                image = fake.images.get(path.removeprefix("/files/images/"))
            if image is None:
                self._json(404, _error("The image has expired or never existed.", "invalid_request_error", "not_found"))
            else:
                self._file(image, "image/png")
            return
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if key != fake.api_key:
            shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
            message = f"Incorrect API key provided: {shown}. You can find your API key in your account settings."
            self._json(401, _error(message, "invalid_request_error", "invalid_api_key"))
            return
        if limited:
            message = "Rate limit reached for requests. Please try again shortly."
            self._json(429, _error(message, "requests", "rate_limit_exceeded"), Retry_After=fake.retry_after)
            return
        model = body.get("model")
        if model is not None and model not in MODELS + MEDIA_MODELS:
            self._json(404, _error(f"The model `{model}` does not exist.", "invalid_request_error", "model_not_found"))
            return
        try:
            self._route(fake, path, body, files)
        except BadRequest as err:
            self._json(400, _error(err.message, "invalid_request_error", err.code, err.param))

    def _route(self, fake: FakeOpenAI, path: str, body: dict[str, Any], files: dict[str, Upload]) -> None:
        if self.command == "GET" and path == "/v1/models":
            models = [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for name in MODELS]
            self._json(200, {"object": "list", "data": models})
        elif self.command == "POST" and path == "/v1/chat/completions":
            self._json(200, _completion(body))
        elif self.command == "POST" and path == "/v1/embeddings":
            self._json(200, _embeddings(body))
        elif self.command == "POST" and path == "/v1/moderations":
            self._json(200, _moderations(body))
        elif self.command == "POST" and path == "/v1/images/generations":
            self._json(200, _generations(fake, body))
        elif self.command == "POST" and path == "/v1/images/edits":
            self._json(200, _edits(fake, body, files))
        elif self.command == "POST" and path == "/v1/images/variations":
            self._json(200, _variations(fake, body, files))
        elif self.command == "POST" and path in ("/v1/audio/transcriptions", "/v1/audio/translations"):
            kind, content = _audio(body, files, translate=path.endswith("translations"))
            if isinstance(content, str):
                self._text(200, kind, content)
            else:
                self._json(200, content)
        else:
            self._json(
                404, _error(f"Unknown request URL: {self.command} {path}.", "invalid_request_error", "unknown_url")
            )

    do_GET = do_POST = _handle


@contextmanager
def fake_openai_server(api_key: str = API_KEY) -> Iterator[FakeOpenAI]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeOpenAI(host, port, api_key=api_key), name="fake-openai") as fake:
        yield fake
