"""Google Docs: create and read documents, and edit them through ``documents.batchUpdate`` requests."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.google._api import execute
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "append_text", "insert_text", "replace_text", "insert_page_break", "batch_update"]
BY_ID = ("get", "append_text", "insert_text", "replace_text", "insert_page_break", "batch_update")
DOCUMENT_URL = re.compile(r"/document/d/([A-Za-z0-9_-]+)")
HINTS = {
    400: "Check the request: indexes count from 1 (the start of the body) and must lie inside the body; raw "
    "requests follow the Docs API's Request shape.",
    403: "Share the document with the service account's client_email as an editor, and enable the Google Docs "
    "API in its Cloud project.",
    404: "Check the document id, and that the document is shared with the service account's client_email.",
}


def document_id(value: str) -> str:
    """The id of a document given by its id or by its URL (``https://docs.google.com/document/d/<id>/edit``)."""
    found = DOCUMENT_URL.search(value)
    return found.group(1) if found else value.strip()


def plain_text(document: dict[str, Any]) -> str:
    """The body of a document as plain text: paragraphs as lines, table cells separated by tabs.

    Page breaks become form feeds, the plain-text page break; images and other objects are left out.
    """
    return _elements_text(document.get("body", {}).get("content", []))


def _elements_text(elements: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for element in elements:
        if "paragraph" in element:
            for run in element["paragraph"].get("elements", []):
                if "textRun" in run:
                    parts.append(run["textRun"].get("content", ""))
                elif "pageBreak" in run:
                    parts.append("\f")
        elif "table" in element:
            for row in element["table"].get("tableRows", []):
                cells = [_elements_text(cell.get("content", [])).rstrip("\n") for cell in row.get("tableCells", [])]
                parts.append("\t".join(cells) + "\n")
        elif "tableOfContents" in element:
            parts.append(_elements_text(element["tableOfContents"].get("content", [])))
    return "".join(parts)


class DocsParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a document per item; get one with its text; append, insert or replace text; insert a "
        "page break; batch_update: send your own Docs API requests.",
        no_expressions=True,
    )
    document: str = param(
        "",
        title="Document",
        description="Its id or its URL. Share it with the service account's client_email.",
        placeholder="https://docs.google.com/document/d/1AbC.../edit",
        show_if={"operation": list(BY_ID)},
    )
    title: str = param("", title="Title", show_if={"operation": ["create"]})
    text: str = param(
        "",
        title="Text",
        description="create: the document's first text (empty: an empty document).",
        widget="textarea",
        show_if={"operation": ["create", "append_text", "insert_text"]},
    )
    index: int | None = param(
        None,
        title="Index",
        description="Where to insert, in UTF-16 code units from the start of the document (the body starts at 1); "
        "empty: at the end of the body.",
        show_if={"operation": ["insert_text", "insert_page_break"]},
        ge=1,
    )
    find: str = param("", title="Find", show_if={"operation": ["replace_text"]})
    replace_with: str = param(
        "", title="Replace with", description="Empty deletes every match.", show_if={"operation": ["replace_text"]}
    )
    match_case: bool = param(False, title="Match case", show_if={"operation": ["replace_text"]})
    requests: list[dict[str, Any]] = param(
        default_factory=list,
        title="Requests",
        description='Docs API requests, e.g. [{"deleteContentRange": {"range": {"startIndex": 1, "endIndex": 5}}}], '
        'or an object with "requests". They apply in order, all or none.',
        widget="json",
        show_if={"operation": ["batch_update"]},
    )

    @field_validator("index", mode="before")
    @classmethod
    def _blank_index(cls, value: Any) -> Any:
        # An expression that finds no index (an empty field) means the end, as the empty field does.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("requests", mode="before")
    @classmethod
    def _request_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return []
            try:
                value = json.loads(value)
            except ValueError as err:
                raise ValueError(f"the requests are not valid JSON ({err})") from err
        if isinstance(value, dict) and "requests" in value:
            value = value["requests"]
        if isinstance(value, dict):
            value = [value]
        return value

    @model_validator(mode="after")
    def _needs(self) -> DocsParameters:
        if self.operation in BY_ID and not self.document.strip():
            raise ValueError(f"{self.operation} needs a document id or URL")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs a title")
        if self.operation in ("append_text", "insert_text") and not self.text:
            raise ValueError(f"{self.operation} needs the text to insert")
        if self.operation == "replace_text" and not self.find:
            raise ValueError("replace_text needs the text to find")
        if self.operation == "batch_update" and not self.requests:
            raise ValueError("batch_update needs at least one request")
        return self


class DocsNode(Node):
    type = "google.docs"
    display_name = "Google Docs"
    category = Category.INTEGRATION
    description = "Creates, reads and edits Google Docs documents (text, replacements, page breaks), per item."
    icon = "file-text"
    Parameters = DocsParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "docs", "v1")
        documents = service.documents()
        produced: list[Item] = []
        for index in range(len(items)):
            params: DocsParameters = ctx.params(index)
            produced.append(Item(_run(documents, fields, params, index), paired_item=index))
        return [produced]


def _run(documents: Any, fields: GoogleServiceAccountFields, params: DocsParameters, index: int) -> dict[str, Any]:
    if params.operation == "create":
        created = execute(
            documents.create(body={"title": params.title}), fields, f"creating document {params.title!r}", index, HINTS
        )
        if not params.text:
            return {**created, "text": plain_text(created)}
        doc_id = created["documentId"]
        _update(documents, fields, doc_id, [_insert(params.text, None)], index)
        return _get(documents, fields, doc_id, index)
    doc_id = document_id(params.document)
    if params.operation == "get":
        return _get(documents, fields, doc_id, index)
    return _update(documents, fields, doc_id, _requests(params), index)


def _requests(params: DocsParameters) -> list[dict[str, Any]]:
    """The batchUpdate requests of an editing operation."""
    match params.operation:
        case "append_text":
            return [_insert(params.text, None)]
        case "insert_text":
            return [_insert(params.text, params.index)]
        case "replace_text":
            contains = {"text": params.find, "matchCase": params.match_case}
            return [{"replaceAllText": {"containsText": contains, "replaceText": params.replace_with}}]
        case "insert_page_break":
            return [{"insertPageBreak": _where(params.index)}]
        case "batch_update":
            return params.requests
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _where(index: int | None) -> dict[str, Any]:
    """A location at ``index`` of the body, or the end of the body (the empty segment id is the body)."""
    return {"location": {"index": index}} if index is not None else {"endOfSegmentLocation": {"segmentId": ""}}


def _insert(text: str, index: int | None) -> dict[str, Any]:
    return {"insertText": {"text": text, **_where(index)}}


def _get(documents: Any, fields: GoogleServiceAccountFields, doc_id: str, index: int) -> dict[str, Any]:
    document = execute(documents.get(documentId=doc_id), fields, f"reading document {doc_id}", index, HINTS)
    return {**document, "text": plain_text(document)}


def _update(
    documents: Any, fields: GoogleServiceAccountFields, doc_id: str, requests: list[dict[str, Any]], index: int
) -> dict[str, Any]:
    request = documents.batchUpdate(documentId=doc_id, body={"requests": requests})
    return execute(request, fields, f"editing document {doc_id}", index, HINTS)
