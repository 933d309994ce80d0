"""PDF (files.pdf) run through the engine: text and information, split, merge, rotate, encrypted and broken files.

The PDFs are built here with pypdf: each page shows its text in Helvetica through a small content stream, so
text extraction has real text to find.
"""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

TYPE = "files.pdf"
HELVETICA = DictionaryObject(
    {
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    }
)


def make_pdf(
    *texts: str, password: str | None = None, owner_only: bool = False, info: dict[str, str] | None = None
) -> bytes:
    """A PDF with one page per text; encrypted with ``password`` (as the owner's only, if ``owner_only``)."""
    writer = PdfWriter()
    for text in texts:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): HELVETICA})}
        )
        content = StreamObject()
        content.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
        page.replace_contents(content)
    if info:
        writer.add_metadata(info)
    if password:
        writer.encrypt(user_password="" if owner_only else password, owner_password=password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_item(host: LocalHost, data: bytes, name: str = "report.pdf", **json: Any) -> Item:
    return Item(json, binary={"data": host.store_binary(data, file_name=name, mime_type="application/pdf")})


def run_pdf(host: LocalHost, parameters: dict[str, Any], items: list[Item], **settings: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("PDF", TYPE, parameters, **settings)], [("Start", "PDF")])
    return run(data, host=host, pinned={"Start": items})


def succeeded(result: RunResult) -> list[dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "PDF")


def failed(result: RunResult) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED, result.status
    assert result.error is not None and result.error["node"] == "PDF"
    return result.error


def texts_of(host: LocalHost, reference: dict[str, Any]) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(host.read_binary(reference))).pages]


def test_extract_text_joins_the_pages_with_the_document_information() -> None:
    host = LocalHost()
    info = {"/Title": "Quarterly report", "/Author": "Ada", "/CreationDate": "D:20260105090000+00'00'"}
    item = pdf_item(host, make_pdf("First page", "Second page", info=info), id=7)

    result = run_pdf(host, {}, [item])

    (extracted,) = succeeded(result)
    assert extracted == {
        "file_name": "report.pdf",
        "page_count": 2,
        "pages": [1, 2],
        "text": "First page\n\nSecond page",
        "info": {
            "title": "Quarterly report",
            "author": "Ada",
            "subject": None,
            "creator": None,
            "producer": "pypdf",
            "created": "2026-01-05T09:00:00+00:00",
            "modified": None,
        },
    }
    assert result.last_outputs["PDF"][0][0].binary == item.binary


def test_extract_text_per_page_for_a_range() -> None:
    host = LocalHost()
    item = pdf_item(host, make_pdf("One", "Two", "Three", "Four"))

    pages = succeeded(run_pdf(host, {"text_output": "per_page", "pages": "2-3, 4-"}, [item]))

    assert pages == [
        {"file_name": "report.pdf", "page": 2, "page_count": 4, "text": "Two"},
        {"file_name": "report.pdf", "page": 3, "page_count": 4, "text": "Three"},
        {"file_name": "report.pdf", "page": 4, "page_count": 4, "text": "Four"},
    ]


def test_an_encrypted_pdf_opens_with_its_password_from_the_item() -> None:
    host = LocalHost()
    item = pdf_item(host, make_pdf("Salary slip", password="s3cret"), "slip.pdf", pin="s3cret")

    (extracted,) = succeeded(run_pdf(host, {"password": "{{ $json.pin }}"}, [item]))

    assert extracted["text"] == "Salary slip"


def test_a_pdf_protected_only_against_editing_opens_without_a_password() -> None:
    host = LocalHost()
    item = pdf_item(host, make_pdf("Read me", password="owner-only", owner_only=True))

    (extracted,) = succeeded(run_pdf(host, {}, [item]))

    assert extracted["text"] == "Read me"


def test_a_wrong_or_missing_password_is_a_clear_error() -> None:
    host = LocalHost()
    locked = make_pdf("Secret", password="right")

    wrong = failed(run_pdf(host, {"password": "wrong"}, [pdf_item(host, locked, "slip.pdf")]))
    missing = failed(run_pdf(host, {}, [pdf_item(host, locked, "slip.pdf")]))

    assert wrong["message"] == "item 0: the password does not open 'slip.pdf'"
    assert wrong["description"] == "Set 'Password' to the PDF's user or owner password."
    assert missing["message"] == "item 0: 'slip.pdf' is encrypted"
    assert missing["description"] == wrong["description"]


def test_split_makes_one_pdf_per_page() -> None:
    host = LocalHost()

    result = run_pdf(host, {"operation": "split"}, [pdf_item(host, make_pdf("A", "B", "C"), "scan.pdf")])

    assert succeeded(result) == [
        {"file_name": f"scan_p{n}.pdf", "source": "scan.pdf", "pages": [n], "page_count": 1} for n in (1, 2, 3)
    ]
    produced = result.last_outputs["PDF"][0]
    assert [texts_of(host, item.binary["data"]) for item in produced] == [["A"], ["B"], ["C"]]
    assert all(item.binary["data"]["mime_type"] == "application/pdf" for item in produced)
    assert [item.paired_item for item in produced] == [0, 0, 0]


def test_split_by_ranges_into_a_named_property() -> None:
    host = LocalHost()

    result = run_pdf(
        host,
        {"operation": "split", "split_ranges": "1-2, 3-", "output_property": "part"},
        [pdf_item(host, make_pdf("A", "B", "C", "D"), "book.pdf")],
    )

    assert [entry["file_name"] for entry in succeeded(result)] == ["book_p1-2.pdf", "book_p3-4.pdf"]
    assert [texts_of(host, item.binary["part"]) for item in result.last_outputs["PDF"][0]] == [["A", "B"], ["C", "D"]]


def test_merge_joins_every_items_pdf_in_order_opening_encrypted_ones() -> None:
    host = LocalHost()
    items = [
        pdf_item(host, make_pdf("Cover"), "cover.pdf", pin=""),
        pdf_item(host, make_pdf("Body one", "Body two", password="pw"), "body.pdf", pin="pw"),
        pdf_item(host, make_pdf("Appendix"), "appendix.pdf", pin=""),
    ]

    result = run_pdf(host, {"operation": "merge", "password": "{{ $json.pin }}", "file_name": "bundle.pdf"}, items)

    (merged,) = succeeded(result)
    assert merged == {"file_name": "bundle.pdf", "page_count": 4, "sources": ["cover.pdf", "body.pdf", "appendix.pdf"]}
    reference = result.last_outputs["PDF"][0][0].binary["data"]
    assert reference["file_name"] == "bundle.pdf"
    assert texts_of(host, reference) == ["Cover", "Body one", "Body two", "Appendix"]
    assert not PdfReader(io.BytesIO(host.read_binary(reference))).is_encrypted


def test_rotate_turns_the_chosen_pages_and_keeps_the_item() -> None:
    host = LocalHost()
    item = pdf_item(host, make_pdf("A", "B", "C"), "scan.pdf", id=3)
    item.binary["logo"] = host.store_binary(b"png", file_name="logo.png", mime_type="image/png")

    result = run_pdf(host, {"operation": "rotate", "pages": "1, 3", "angle": 270}, [item])

    assert succeeded(result) == [{"id": 3}]
    produced = result.last_outputs["PDF"][0][0]
    assert produced.binary["logo"] == item.binary["logo"]
    assert produced.binary["data"]["file_name"] == "scan.pdf"
    reader = PdfReader(io.BytesIO(host.read_binary(produced.binary["data"])))
    assert [page.rotation for page in reader.pages] == [270, 0, 270]
    assert [page.extract_text() for page in reader.pages] == ["A", "B", "C"]


def test_a_page_past_the_end_names_the_page_count() -> None:
    host = LocalHost()

    error = failed(run_pdf(host, {"pages": "2, 5"}, [pdf_item(host, make_pdf("A", "B", "C"))]))

    assert error["message"] == "item 0: 'report.pdf' has 3 pages; there is no page 5"
    assert error["item_index"] == 0


def test_page_lists_are_checked_when_the_parameters_are_read() -> None:
    host = LocalHost()
    item = pdf_item(host, make_pdf("A"))

    letters = failed(run_pdf(host, {"pages": "1-x"}, [item]))
    backwards = failed(run_pdf(host, {"operation": "split", "split_ranges": "5-3"}, [item]))

    assert "'1-x' is not a page or a range of pages such as 1-3, 5 or 8-" in letters["message"]
    assert "the range '5-3' runs backwards" in backwards["message"]


def test_a_missing_binary_property_names_the_ones_the_item_has() -> None:
    host = LocalHost()

    error = failed(run_pdf(host, {"binary_property": "pdf"}, [pdf_item(host, make_pdf("A"))]))

    assert error["message"] == "item 0 has no binary property 'pdf' (its binary properties: 'data')"


def test_continue_on_fail_turns_a_broken_file_into_an_error_item() -> None:
    host = LocalHost()
    broken = pdf_item(host, b"%PDF-1.7 truncated", "broken.pdf")

    (entry,) = succeeded(run_pdf(host, {}, [broken], on_error="continue"))

    assert entry["error"].startswith("item 0: 'broken.pdf' is not a readable PDF")
    assert entry["error_details"]["description"] == "Check that the binary property holds a complete PDF file."


def test_every_item_is_read_in_turn() -> None:
    host = LocalHost()
    items = [pdf_item(host, make_pdf(f"Doc {n}"), f"doc-{n}.pdf") for n in range(3)]

    extracted = succeeded(run_pdf(host, {"text_output": "per_page"}, items))

    assert [(entry["file_name"], entry["text"]) for entry in extracted] == [
        (f"doc-{n}.pdf", f"Doc {n}") for n in range(3)
    ]
    assert [entry["page"] for entry in extracted] == [1, 1, 1]
