"""HTML (files.html) run through the engine: templates filled per item, and items turned into one escaped table."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "files.html"


def html_node(items: list[dict[str, Any]], settings: dict[str, Any] | None = None, **parameters: Any) -> RunResult:
    data = workflow(
        [node("Start", "trigger.manual"), node("HTML", TYPE, parameters, **(settings or {}))], [("Start", "HTML")]
    )
    return run(data, items)


class TableReader(HTMLParser):
    """The text of every cell, row by row, as a browser would see it."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.caption = ""
        self.tags: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self._in = "cell"
        elif tag == "caption":
            self._in = "caption"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "caption"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "cell":
            self.rows[-1][-1] += data
        elif self._in == "caption":
            self.caption += data


def parse(markup: str) -> TableReader:
    reader = TableReader()
    reader.feed(markup)
    reader.close()
    return reader


def test_a_template_is_filled_from_each_item() -> None:
    template = "<h1>{{ $json.name }}</h1><p>{{ $json.count * 2 }} items</p>"
    result = html_node([{"name": "Ada", "count": 2}, {"name": "Bob", "count": 5}], html=template)

    assert output_json(result, "HTML") == [
        {"name": "Ada", "count": 2, "html": "<h1>Ada</h1><p>4 items</p>"},
        {"name": "Bob", "count": 5, "html": "<h1>Bob</h1><p>10 items</p>"},
    ]
    assert [item.paired_item for item in result.last_outputs["HTML"][0]] == [0, 1]


def test_a_template_without_expressions_is_copied_as_is_into_a_nested_output() -> None:
    result = html_node([{"title": "Report"}], output_field="page.body")

    body = output_json(result, "HTML")[0]["page"]["body"]
    assert body.startswith("<!DOCTYPE html>") and "<body>" in body
    assert output_json(result, "HTML")[0]["title"] == "Report"


def test_items_become_one_table_with_the_union_of_keys_and_escaped_cells() -> None:
    items = [
        {"name": "<script>alert(1)</script>", "age": 30},
        {"name": "Bo & Co", "city": "Paris", "tags": ["a", "b"]},
        {"age": None, "active": True},
    ]
    result = html_node(items, operation="table", caption="People <2025>")
    (row,) = output_json(result, "HTML")
    markup = row["html"]
    table = parse(markup)

    assert set(row) == {"html"}
    assert result.last_outputs["HTML"][0][0].paired_item == 0
    assert "<script>" not in markup and "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "script" not in table.tags
    assert table.caption == "People <2025>"
    assert table.rows == [
        ["name", "age", "city", "tags", "active"],
        ["<script>alert(1)</script>", "30", "", "", ""],
        ["Bo & Co", "", "Paris", '["a", "b"]', ""],
        ["", "", "", "", "true"],
    ]


def test_headers_can_be_capitalised_and_styles_cannot_close_their_element() -> None:
    result = html_node(
        [{"first_name": "Ada", "last-name": "L", "email": "a@x"}],
        operation="table",
        capitalize_headers=True,
        styles="td { color: red; }</style><script>alert(1)</script>",
    )
    markup = output_json(result, "HTML")[0]["html"]

    assert parse(markup).rows[0] == ["First Name", "Last Name", "Email"]
    assert markup.startswith("<style>\ntd { color: red; }<\\/style><script>")
    assert markup.count("</style>") == 1


def test_items_without_fields_still_get_a_row_each() -> None:
    result = html_node([{}, {"a": 1}, {}], operation="table", output_field="report.table")

    assert parse(output_json(result, "HTML")[0]["report"]["table"]).rows == [["a"], [""], ["1"], [""]]


def test_an_expression_error_in_the_template_fails_naming_the_item_and_can_continue() -> None:
    items = [{"n": 1}, {}]
    failed = html_node(items, html="{{ $json.n + 1 }}")

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None and failed.error["node"] == "HTML"
    continued = html_node(items, settings={"on_error": "continue"}, html="{{ $json.n + 1 }}")
    assert continued.status is RunStatus.SUCCEEDED
    assert "error" in output_json(continued, "HTML")[0]
