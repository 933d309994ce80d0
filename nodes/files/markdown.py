"""Markdown: convert a field from Markdown to HTML, or from HTML to Markdown."""

from __future__ import annotations

from typing import Literal

import markdown as markdown_lib
from markdownify import ATX, SETEXT, markdownify

from nodes.core.set import set_path
from nodes.files._common import MISSING, get_field
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

TO_HTML = {"mode": ["markdown_to_html"]}
TO_MARKDOWN = {"mode": ["html_to_markdown"]}
Extension = Literal["extra", "sane_lists", "nl2br", "smarty", "toc", "admonition"]


class MarkdownParameters(Parameters):
    mode: Literal["markdown_to_html", "html_to_markdown"] = param(
        "markdown_to_html", title="Convert", no_expressions=True
    )
    source_field: str = param("data", title="Source field", description="Dots reach nested fields.", min_length=1)
    destination_field: str = param(
        "data", title="Destination field", description="Where the result goes; may be the source field.", min_length=1
    )
    extensions: list[Extension] = param(
        default_factory=lambda: ["extra", "sane_lists"],
        title="Markdown extensions",
        description="extra: tables, fenced code, footnotes, abbreviations...; nl2br: a line break is a <br>; "
        "smarty: typographic quotes; toc: heading ids; admonition: !!! note blocks.",
        widget="multi_options",
        show_if=TO_HTML,
    )
    escape_raw_html: bool = param(
        False,
        title="Show raw HTML as text",
        description="HTML tags written in the Markdown appear as text instead of passing through. "
        "Not a sanitizer: clean HTML from untrusted people before showing it to others.",
        show_if=TO_HTML,
    )
    heading_style: Literal["atx", "setext"] = param(
        "atx", title="Heading style", description="atx: # Title; setext: underlined titles.", show_if=TO_MARKDOWN
    )
    bullet: Literal["-", "*", "+"] = param("-", title="List bullet", show_if=TO_MARKDOWN)
    strip_tags: list[str] = param(
        default_factory=list,
        title="Tags to drop (keeping their text)",
        description="For example a, to drop links but keep their words.",
        show_if=TO_MARKDOWN,
    )


def _to_html(text: str, params: MarkdownParameters) -> str:
    converter = markdown_lib.Markdown(extensions=list(dict.fromkeys(params.extensions)), output_format="html")
    if params.escape_raw_html:
        # Without these two, python-markdown passes HTML blocks and inline tags through untouched.
        converter.preprocessors.deregister("html_block")
        converter.inlinePatterns.deregister("html")
    return converter.convert(text)


def _to_markdown(text: str, params: MarkdownParameters) -> str:
    style = ATX if params.heading_style == "atx" else SETEXT
    options: dict[str, object] = {"heading_style": style, "bullets": params.bullet}
    if params.strip_tags:
        options["strip"] = [tag.strip().lower() for tag in params.strip_tags if tag.strip()]
    return markdownify(text, **options).strip()


class MarkdownNode(Node):
    type = "files.markdown"
    display_name = "Markdown"
    category = Category.DATA
    description = "Converts a field from Markdown to HTML, or from HTML to Markdown."
    icon = "file-text"
    Parameters = MarkdownParameters
    subtitle = "mode"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: MarkdownParameters = ctx.params(index)
            source = get_field(item.json, params.source_field)
            if source is MISSING or source is None:
                raise NodeError(
                    f"item {index} has no field {params.source_field!r}",
                    description="Set 'Source field' to the field holding the text.",
                    item_index=index,
                )
            if not isinstance(source, str):
                raise NodeError(
                    f"field {params.source_field!r} of item {index} is {type(source).__name__}, not text",
                    description="Point 'Source field' at a text field.",
                    item_index=index,
                )
            converted = _to_html(source, params) if params.mode == "markdown_to_html" else _to_markdown(source, params)
            data = dict(item.json)
            set_path(data, params.destination_field, converted)
            produced.append(Item(data, binary=item.binary, paired_item=index))
        return [produced]
