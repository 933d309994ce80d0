"""Markdown (files.markdown) run through the engine: Markdown to HTML, HTML to Markdown, and bad fields."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


def convert(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    return run(workflow([MANUAL, node("Markdown", "files.markdown", parameters)], [("Start", "Markdown")]), items)


def test_markdown_becomes_html_in_the_destination_field_keeping_the_item() -> None:
    text = "# Report\n\nSales are **up**.\n\n| region | total |\n|---|---|\n| north | 3 |\n\n```\ncode\n```"

    result = convert([{"id": 1, "body": text}], source_field="body", destination_field="page.html")

    assert result.status is RunStatus.SUCCEEDED
    (item,) = output_json(result, "Markdown")
    assert item["id"] == 1 and item["body"] == text
    html = item["page"]["html"]
    assert html.startswith("<h1>Report</h1>\n<p>Sales are <strong>up</strong>.</p>")
    assert "<td>north</td>" in html and "<pre><code>code\n</code></pre>" in html


def test_extensions_can_be_chosen() -> None:
    result = convert([{"data": "line one\nline two"}], extensions=["nl2br"])

    assert output_json(result, "Markdown") == [{"data": "<p>line one<br>\nline two</p>"}]


def test_raw_html_passes_through_unless_escaped() -> None:
    text = "Hi <b>there</b>\n\n<script>alert(1)</script>"

    passed = convert([{"data": text}])
    escaped = convert([{"data": text}], escape_raw_html=True)

    assert "<script>alert(1)</script>" in output_json(passed, "Markdown")[0]["data"]
    assert output_json(escaped, "Markdown")[0]["data"] == (
        "<p>Hi &lt;b&gt;there&lt;/b&gt;</p>\n<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


def test_html_becomes_markdown_with_the_chosen_style() -> None:
    html = (
        "<h2>Title</h2><p>Read <a href='https://example.com'>this</a>, <em>now</em>.</p>"
        "<ul><li>one</li><li>two</li></ul><script>track()</script>"
    )

    default = convert([{"data": html}], mode="html_to_markdown", destination_field="md")
    styled = convert([{"data": html}], mode="html_to_markdown", heading_style="setext", bullet="*", strip_tags=["a"])

    assert output_json(default, "Markdown")[0]["md"] == (
        "## Title\n\nRead [this](https://example.com), *now*.\n\n- one\n- two"
    )
    assert output_json(styled, "Markdown")[0]["data"] == "Title\n-----\n\nRead this, *now*.\n\n* one\n* two"


def test_round_trip_markdown_to_html_and_back() -> None:
    data = workflow(
        [
            MANUAL,
            node("ToHtml", "files.markdown", {"mode": "markdown_to_html"}),
            node("ToMd", "files.markdown", {"mode": "html_to_markdown"}),
        ],
        [("Start", "ToHtml"), ("ToHtml", "ToMd")],
    )

    result = run(data, [{"data": "# Title\n\nSome *text* and a [link](https://x.org).\n\n- a\n- b"}])

    assert output_json(result, "ToMd") == [{"data": "# Title\n\nSome *text* and a [link](https://x.org).\n\n- a\n- b"}]


def test_a_missing_or_non_text_field_fails_naming_the_item() -> None:
    missing = convert([{"data": "ok"}, {"other": "x"}])
    not_text = convert([{"data": ["a list"]}], mode="html_to_markdown")

    assert missing.status is RunStatus.FAILED and missing.error is not None
    assert missing.error["node"] == "Markdown" and missing.error["item_index"] == 1
    assert missing.error["message"] == "item 1 has no field 'data'"
    assert not_text.error is not None and not_text.error["item_index"] == 0
    assert not_text.error["message"] == "field 'data' of item 0 is list, not text"
