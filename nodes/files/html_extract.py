"""HTML Extract: pull values out of an HTML page (a JSON field or a binary file) with CSS selectors."""

from __future__ import annotations

from typing import Any, Literal, Self

from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, model_validator
from soupsieve import SelectorSyntaxError

from nodes.files._common import MISSING, get_field, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

ReturnValue = Literal["text", "html", "outer_html", "attribute", "value"]


class ExtractionRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = param(title="Key", description="The output field the value is put in.", min_length=1)
    css_selector: str = param(title="CSS selector", placeholder="div.price > span", min_length=1)
    return_value: ReturnValue = param(
        "text",
        title="Return",
        description="text: the element's text; html: its inner HTML; outer_html: with its own tag; "
        "attribute: one attribute; value: a form field's value.",
    )
    attribute: str = param("", title="Attribute", placeholder="href", show_if={"return_value": ["attribute"]})
    all_matches: bool = param(False, title="Every match (a list)", description="Otherwise the first match only.")

    @model_validator(mode="after")
    def _attribute_named(self) -> Self:
        if self.return_value == "attribute" and not self.attribute.strip():
            raise ValueError(f"rule {self.key!r} returns an attribute but does not name it")
        return self


class HtmlExtractParameters(Parameters):
    source: Literal["json", "binary"] = param(
        "json",
        title="HTML from",
        description="json: a field holding the HTML; binary: an HTML file.",
        no_expressions=True,
    )
    source_field: str = param("data", title="Field", show_if={"source": ["json"]}, min_length=1)
    binary_property: str = param("data", title="Binary property", show_if={"source": ["binary"]}, min_length=1)
    rules: list[ExtractionRule] = param(default_factory=list, title="Values to extract")
    trim: bool = param(True, title="Trim spaces around values")
    clean_up_text: bool = param(False, title="Collapse spaces and line breaks inside text")
    include_input_fields: bool = param(False, title="Keep the item's other fields")


def _form_value(element: Tag) -> str | None:
    if element.name == "textarea":
        return element.get_text()
    if element.name == "select":
        chosen = element.select_one("option[selected]") or element.select_one("option")
        return None if chosen is None else _attribute(chosen, "value", chosen.get_text())
    return _attribute(element, "value", None)


def _attribute(element: Tag, name: str, default: str | None) -> str | None:
    value = element.get(name)
    if value is None:
        return default
    return value if isinstance(value, str) else " ".join(value)


def _value(element: Tag, rule: ExtractionRule, params: HtmlExtractParameters) -> str | None:
    value: str | None
    match rule.return_value:
        case "text":
            value = element.get_text()
        case "html":
            value = element.decode_contents()
        case "outer_html":
            value = str(element)
        case "attribute":
            value = _attribute(element, rule.attribute.strip(), None)
        case "value":
            value = _form_value(element)
    if value is None:
        return None
    if params.clean_up_text and rule.return_value in ("text", "value"):
        value = " ".join(value.split())
    return value.strip() if params.trim else value


class HtmlExtractNode(Node):
    type = "files.html_extract"
    display_name = "HTML Extract"
    category = Category.DATA
    description = "Extracts text, HTML or attributes from an HTML page with CSS selectors."
    icon = "scan-text"
    Parameters = HtmlExtractParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: HtmlExtractParameters = ctx.params(index)
            if not params.rules:
                raise NodeError(
                    "there is nothing to extract",
                    description="Add a rule: a key and the CSS selector of the element it comes from.",
                    item_index=index,
                )
            soup = BeautifulSoup(self._html(ctx, item, params, index), "html.parser", multi_valued_attributes=None)
            data: dict[str, Any] = dict(item.json) if params.include_input_fields else {}
            for rule in params.rules:
                try:
                    if rule.all_matches:
                        data[rule.key] = [_value(element, rule, params) for element in soup.select(rule.css_selector)]
                    else:
                        element = soup.select_one(rule.css_selector)
                        data[rule.key] = None if element is None else _value(element, rule, params)
                except SelectorSyntaxError as err:
                    raise NodeError(
                        f"rule {rule.key!r}: {rule.css_selector!r} is not a valid CSS selector ({err.args[0]})",
                        description="Fix the selector; the browser's developer tools can copy one for an element.",
                        item_index=index,
                    ) from err
            produced.append(Item(data, binary=item.binary, paired_item=index))
        return [produced]

    @staticmethod
    def _html(ctx: Context, item: Item, params: HtmlExtractParameters, index: int) -> str | bytes:
        if params.source == "binary":
            # Bytes, not text: BeautifulSoup finds the encoding from the page's <meta charset>.
            return read_input(ctx, item, params.binary_property, index)[0]
        html = get_field(item.json, params.source_field)
        if not isinstance(html, str):
            found = "no such field" if html is MISSING else type(html).__name__
            raise NodeError(
                f"field {params.source_field!r} of item {index} does not hold HTML text ({found})",
                description="Set 'Field' to the field holding the HTML, or read it from a binary file.",
                item_index=index,
            )
        return html
