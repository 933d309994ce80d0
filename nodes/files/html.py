"""HTML: fill an HTML template per item, or turn every item into one HTML table."""

from __future__ import annotations

import html
import re
from typing import Literal

from nodes.data._fields import set_path
from nodes.files._common import table_columns, text_cell
from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, param

TEMPLATE = {"operation": ["template"]}
TABLE = {"operation": ["table"]}
DEFAULT_TEMPLATE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="UTF-8" />
  <title>Page</title>
</head>
<body>
  <h1>Page</h1>
</body>
</html>
"""


class HtmlParameters(Parameters):
    operation: Literal["template", "table"] = param(
        "template",
        title="Operation",
        description="template: fill an HTML template for each item; table: every item becomes a row of one table.",
        no_expressions=True,
    )
    # A textarea, not a code editor: code editors are used literally, and the template needs its {{ }} evaluated.
    html: str = param(
        DEFAULT_TEMPLATE,
        title="HTML",
        description="{{ }} expressions are filled in from each item as written (not escaped), e.g. "
        "<h1>{{ $json.title }}</h1>.",
        widget="textarea",
        show_if=TEMPLATE,
    )
    caption: str = param("", title="Caption", show_if=TABLE)
    styles: str = param(
        "",
        title="Custom styles (CSS)",
        description="Put in a <style> element before the table, e.g. table { border-collapse: collapse; }.",
        widget="textarea",
        advanced=True,
        show_if=TABLE,
    )
    capitalize_headers: bool = param(
        False,
        title="Capitalise headers",
        description="first_name becomes First Name.",
        show_if=TABLE,
    )
    output_field: str = param(
        "html", title="Output field", description="Dots make nested fields.", no_expressions=True, min_length=1
    )


class HtmlNode(Node):
    type = "files.html"
    display_name = "HTML"
    category = Category.FILES
    description = "Fills an HTML template for each item, or converts every item into one HTML table."
    icon = "code"
    Parameters = HtmlParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        if ctx.params(0).operation == "table":
            params: HtmlParameters = ctx.params(0)
            data: dict[str, object] = {}
            set_path(data, params.output_field.strip(), table(items, params))
            return [[Item(data, paired_item=0)]]
        produced: list[Item] = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            data = dict(item.json)
            set_path(data, params.output_field.strip(), params.html)
            produced.append(Item(data, item.binary, index))
        return [produced]


def _header(name: str, capitalize: bool) -> str:
    if not capitalize:
        return name
    words = re.split(r"[\s_\-]+", name.strip())
    return " ".join(word[:1].upper() + word[1:] for word in words if word) or name


def table(items: list[Item], params: HtmlParameters) -> str:
    """One ``<table>`` of every item: a column per key (in order of first appearance), every cell escaped."""
    columns = table_columns(items)
    parts: list[str] = []
    if params.styles.strip():
        # "</" would let the CSS close the <style> element and inject markup.
        css = params.styles.strip().replace("</", "<\\/")
        parts.append(f"<style>\n{css}\n</style>")
    parts.append("<table>")
    if params.caption:
        parts.append(f"  <caption>{html.escape(params.caption)}</caption>")
    header = "".join(f"<th>{html.escape(_header(column, params.capitalize_headers))}</th>" for column in columns)
    parts += ["  <thead>", f"    <tr>{header}</tr>", "  </thead>", "  <tbody>"]
    for item in items:
        cells = "".join(f"<td>{html.escape(text_cell(item.json.get(column)))}</td>" for column in columns)
        parts.append(f"    <tr>{cells}</tr>")
    parts += ["  </tbody>", "</table>"]
    return "\n".join(parts)
