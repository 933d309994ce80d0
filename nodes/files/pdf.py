"""PDF: extract text and document information, split into files, merge several into one, rotate pages (pypdf)."""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator
from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from nodes.files._common import file_label, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

PDF_MIME_TYPE = "application/pdf"
RANGE = re.compile(r"^(\d+)(?:\s*-\s*(\d*))?$")
WRITES = {"operation": ["split", "merge", "rotate"]}
DAMAGED = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)
"""What pypdf raises on a damaged or unusual file besides its own errors."""


def _ranges(spec: str) -> list[tuple[int, int | None]]:
    """``1-3, 5, 8-`` as ``[(1, 3), (5, 5), (8, None)]`` (1-based, ``None``: to the last page).

    Raises:
        ValueError: A part is not a page, a range, or an open range, or a range runs backwards.
    """
    ranges: list[tuple[int, int | None]] = []
    for part in (piece.strip() for piece in spec.split(",")):
        if not part:
            continue
        found = RANGE.match(part)
        if not found or int(found.group(1)) < 1:
            raise ValueError(f"{part!r} is not a page or a range of pages such as 1-3, 5 or 8-")
        first = int(found.group(1))
        if found.group(2) is None:
            ranges.append((first, first))
        elif found.group(2) == "":
            ranges.append((first, None))
        elif int(found.group(2)) < first:
            raise ValueError(f"the range {part!r} runs backwards")
        else:
            ranges.append((first, int(found.group(2))))
    return ranges


class PdfParameters(Parameters):
    operation: Literal["extract_text", "split", "merge", "rotate"] = param(
        "extract_text",
        title="Operation",
        description="extract_text: the text and document information of each PDF; split: one item per page "
        "(or range) as its own PDF; merge: the PDFs of all items, in order, into one; rotate pages. Encrypted "
        "PDFs come out of split, merge and rotate without a password.",
        no_expressions=True,
    )
    binary_property: str = param(
        "data", title="Binary property", description="The item's property holding the PDF.", min_length=1
    )
    password: str = param(
        "",
        title="Password",
        description="To open encrypted PDFs (the user or the owner password); empty: none.",
        widget="password",
    )
    pages: str = param(
        "",
        title="Pages",
        description="Which pages, numbered from 1: 1-3, 5, 8- (to the end); empty: all.",
        placeholder="1-3, 5",
        show_if={"operation": ["extract_text", "rotate"]},
    )
    text_output: Literal["joined", "per_page"] = param(
        "joined",
        title="Output",
        description="joined: one item per PDF with the pages' text together; per_page: one item per page.",
        show_if={"operation": ["extract_text"]},
        no_expressions=True,
    )
    page_separator: str = param(
        "\n\n",
        title="Page separator",
        description="Put between the pages' text when joined.",
        show_if={"operation": ["extract_text"], "text_output": ["joined"]},
        advanced=True,
    )
    split_ranges: str = param(
        "",
        title="Ranges",
        description="One PDF per range: 1-2, 3-5, 6-; empty: one PDF per page.",
        placeholder="1-2, 3-",
        show_if={"operation": ["split"]},
    )
    angle: Literal[90, 180, 270] = param(
        90, title="Rotate by", description="Degrees clockwise.", show_if={"operation": ["rotate"]}
    )
    file_name: str = param("merged.pdf", title="File name", show_if={"operation": ["merge"]}, min_length=1)
    output_property: str = param(
        "data",
        title="Put the PDF in binary property",
        show_if=WRITES,
        min_length=1,
    )

    @field_validator("pages", "split_ranges")
    @classmethod
    def _page_list(cls, value: str) -> str:
        _ranges(value)
        return value


def _open(data: bytes, password: str, label: str, index: int) -> PdfReader:
    """The PDF, decrypted when it is encrypted.

    Raises:
        NodeError: It is not a readable PDF, it is encrypted and no password opens it; names the item.
    """
    try:
        reader = PdfReader(io.BytesIO(data))
        # An empty password opens PDFs protected only against editing.
        if reader.is_encrypted and reader.decrypt(password) == PasswordType.NOT_DECRYPTED:
            message = f"the password does not open {label}" if password else f"{label} is encrypted"
            raise NodeError(
                f"item {index}: {message}",
                description="Set 'Password' to the PDF's user or owner password.",
                item_index=index,
            )
        if not reader.pages:
            raise NodeError(
                f"item {index}: {label} has no pages",
                description="Check that the binary property holds the PDF you meant.",
                item_index=index,
            )
    except FileNotDecryptedError as err:
        raise NodeError(
            f"item {index}: {label} is encrypted",
            description="Set 'Password' to the PDF's user or owner password.",
            item_index=index,
        ) from err
    except DependencyError as err:
        raise NodeError(
            f"item {index}: {label} uses an encryption this studio cannot open ({err})",
            description="Save the PDF without encryption (or with AES) and try again.",
            item_index=index,
        ) from err
    except DAMAGED as err:
        raise NodeError(
            f"item {index}: {label} is not a readable PDF ({type(err).__name__}: {err})",
            description="Check that the binary property holds a complete PDF file.",
            item_index=index,
        ) from err
    return reader


def _page_numbers(ranges: list[tuple[int, int | None]], count: int, label: str, index: int) -> list[int]:
    """The 1-based pages the ranges name, each once, in order; all when there are none.

    Raises:
        NodeError: A range starts past the last page.
    """
    if not ranges:
        return list(range(1, count + 1))
    chosen: set[int] = set()
    for first, last in ranges:
        if first > count:
            raise NodeError(
                f"item {index}: {label} has {count} page{'s' if count != 1 else ''}; there is no page {first}",
                description="Change 'Pages' or 'Ranges' to pages the file has.",
                item_index=index,
            )
        chosen.update(range(first, min(count, last if last is not None else count) + 1))
    return sorted(chosen)


def _date(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _info(reader: PdfReader) -> dict[str, Any]:
    """The document information dictionary, with dates as ISO text; fields it lacks are ``None``."""
    meta = reader.metadata
    if meta is None:
        return dict.fromkeys(("title", "author", "subject", "creator", "producer", "created", "modified"))
    try:
        created, modified = _date(meta.creation_date), _date(meta.modification_date)
    except ValueError:
        # A date written outside the PDF format: keep the rest of the information.
        created = modified = None
    return {
        "title": meta.title,
        "author": meta.author,
        "subject": meta.subject,
        "creator": meta.creator,
        "producer": meta.producer,
        "created": created,
        "modified": modified,
    }


def _bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _stem(reference: Mapping[str, Any], prop: str) -> str:
    name = str(reference.get("file_name") or prop)
    return posixpath.splitext(name)[0] or name


class PdfNode(Node):
    type = "files.pdf"
    display_name = "PDF"
    category = Category.FILES
    description = "Extracts text from PDFs, splits them into pages, merges several into one, or rotates pages."
    icon = "file-text"
    Parameters = PdfParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        operation = ctx.params(0).operation
        if operation == "merge":
            return [[_merge(ctx, items)]]
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: PdfParameters = ctx.params(index)
            data, reference = read_input(ctx, item, params.binary_property, index)
            label = file_label(reference, params.binary_property)
            reader = _open(data, params.password, label, index)
            try:
                match operation:
                    case "extract_text":
                        produced.extend(_extract(params, reader, item, reference, label, index))
                    case "split":
                        produced.extend(_split(ctx, params, reader, reference, label, index))
                    case "rotate":
                        produced.append(_rotate(ctx, params, reader, item, reference, label, index))
            except DAMAGED as err:
                raise NodeError(
                    f"item {index}: {label} could not be processed ({type(err).__name__}: {err})",
                    description="The PDF may be damaged: open and save it again in a PDF viewer, then retry.",
                    item_index=index,
                ) from err
        return [produced]


def _extract(
    params: PdfParameters, reader: PdfReader, item: Item, reference: Mapping[str, Any], label: str, index: int
) -> list[Item]:
    count = len(reader.pages)
    numbers = _page_numbers(_ranges(params.pages), count, label, index)
    texts = [reader.pages[number - 1].extract_text() for number in numbers]
    name = reference.get("file_name")
    if params.text_output == "per_page":
        return [
            Item(
                {"file_name": name, "page": number, "page_count": count, "text": text},
                binary=dict(item.binary),
                paired_item=index,
            )
            for number, text in zip(numbers, texts, strict=True)
        ]
    extracted = {
        "file_name": name,
        "page_count": count,
        "pages": numbers,
        "text": params.page_separator.join(texts),
        "info": _info(reader),
    }
    return [Item(extracted, binary=dict(item.binary), paired_item=index)]


def _split(
    ctx: Context, params: PdfParameters, reader: PdfReader, reference: Mapping[str, Any], label: str, index: int
) -> list[Item]:
    count = len(reader.pages)
    ranges = _ranges(params.split_ranges) or [(number, number) for number in range(1, count + 1)]
    stem = _stem(reference, params.binary_property)
    produced: list[Item] = []
    for first, last in ranges:
        numbers = _page_numbers([(first, last)], count, label, index)
        writer = PdfWriter()
        for number in numbers:
            writer.add_page(reader.pages[number - 1])
        span = f"{numbers[0]}" if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}"
        name = f"{stem}_p{span}.pdf"
        stored = ctx.store_binary(_bytes(writer), file_name=name, mime_type=PDF_MIME_TYPE)
        produced.append(
            Item(
                {"file_name": name, "source": reference.get("file_name"), "pages": numbers, "page_count": len(numbers)},
                binary={params.output_property: stored},
                paired_item=index,
            )
        )
    return produced


def _rotate(
    ctx: Context,
    params: PdfParameters,
    reader: PdfReader,
    item: Item,
    reference: Mapping[str, Any],
    label: str,
    index: int,
) -> Item:
    writer = PdfWriter(clone_from=reader)
    numbers = _page_numbers(_ranges(params.pages), len(writer.pages), label, index)
    for number in numbers:
        writer.pages[number - 1].rotate(params.angle)
    name = str(reference.get("file_name") or f"{_stem(reference, params.binary_property)}.pdf")
    stored = ctx.store_binary(_bytes(writer), file_name=name, mime_type=PDF_MIME_TYPE)
    return Item(dict(item.json), binary={**item.binary, params.output_property: stored}, paired_item=index)


def _merge(ctx: Context, items: list[Item]) -> Item:
    writer = PdfWriter()
    sources: list[Any] = []
    for index, item in enumerate(items):
        params: PdfParameters = ctx.params(index)
        data, reference = read_input(ctx, item, params.binary_property, index)
        label = file_label(reference, params.binary_property)
        reader = _open(data, params.password, label, index)
        try:
            writer.append(reader)
        except DAMAGED as err:
            raise NodeError(
                f"item {index}: {label} could not be merged ({type(err).__name__}: {err})",
                description="The PDF may be damaged: open and save it again in a PDF viewer, then retry.",
                item_index=index,
            ) from err
        sources.append(reference.get("file_name"))
    first: PdfParameters = ctx.params(0)
    stored = ctx.store_binary(_bytes(writer), file_name=first.file_name, mime_type=PDF_MIME_TYPE)
    merged = {"file_name": first.file_name, "page_count": len(writer.pages), "sources": sources}
    return Item(merged, binary={first.output_property: stored}, paired_item=0)
