"""HTML Extract (files.html_extract) run through the engine: CSS rules on a field or a file, and bad input."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
PAGE = """
<html><body>
  <h1 class="title main">  Spring   sale
  </h1>
  <ul id="products">
    <li class="product"><a href="/p/1">Kettle</a> <span class="price">€ 25</span></li>
    <li class="product"><a href="/p/2">Toaster</a> <span class="price">€ 40</span></li>
  </ul>
  <form><input name="q" value="tea"><textarea> notes </textarea>
    <select><option value="s">Small</option><option value="l" selected>Large</option></select></form>
</body></html>
"""


def rule(key: str, selector: str, returns: str = "text", **options: Any) -> dict[str, Any]:
    return {"key": key, "css_selector": selector, "return_value": returns, **options}


def extract(items: list[dict[str, Any]], *rules: dict[str, Any], **parameters: Any) -> RunResult:
    data = workflow(
        [MANUAL, node("Extract", "files.html_extract", {"rules": list(rules), **parameters})], [("Start", "Extract")]
    )
    return run(data, items)


def test_rules_extract_text_html_attributes_and_lists_from_a_field() -> None:
    result = extract(
        [{"data": PAGE, "url": "https://shop"}],
        rule("title", "h1"),
        rule("names", "li.product a", all_matches=True),
        rule("links", "#products a", "attribute", attribute="href", all_matches=True),
        rule("first_item", "li.product", "html"),
        rule("price_tag", "li.product .price", "outer_html"),
        rule("classes", "h1", "attribute", attribute="class"),
        rule("absent", "table td"),
        rule("absent_all", "table td", all_matches=True),
    )

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Extract") == [
        {
            "title": "Spring   sale",
            "names": ["Kettle", "Toaster"],
            "links": ["/p/1", "/p/2"],
            "first_item": '<a href="/p/1">Kettle</a> <span class="price">€ 25</span>',
            "price_tag": '<span class="price">€ 25</span>',
            "classes": "title main",
            "absent": None,
            "absent_all": [],
        }
    ]
    assert result.last_outputs["Extract"][0][0].paired_item == 0


def test_form_values_clean_up_and_no_trim() -> None:
    cleaned = extract(
        [{"page": PAGE, "id": 3}],
        rule("title", "h1"),
        rule("query", "input[name=q]", "value"),
        rule("size", "select", "value"),
        source_field="page",
        clean_up_text=True,
        include_input_fields=True,
    )
    untrimmed = extract([{"data": PAGE}], rule("notes", "textarea", "value"), trim=False)

    assert output_json(cleaned, "Extract") == [
        {"page": PAGE, "id": 3, "title": "Spring sale", "query": "tea", "size": "l"}
    ]
    assert output_json(untrimmed, "Extract") == [{"notes": " notes "}]


def test_html_is_read_from_a_binary_file_in_its_declared_encoding() -> None:
    host = LocalHost()
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Café</p></body></html>'.encode("latin-1")
    reference = host.store_binary(page, file_name="page.html", mime_type="text/html")
    data = workflow(
        [MANUAL, node("Extract", "files.html_extract", {"source": "binary", "rules": [rule("text", "p")]})],
        [("Start", "Extract")],
    )

    result = run(data, host=host, pinned={"Start": [Item({}, binary={"data": reference})]})

    assert output_json(result, "Extract") == [{"text": "Café"}]
    assert result.last_outputs["Extract"][0][0].binary == {"data": reference}


def test_an_invalid_selector_fails_naming_the_rule_and_the_item() -> None:
    result = extract([{"data": PAGE}, {"data": PAGE}], rule("price", "span[class="))

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Extract" and result.error["item_index"] == 0
    assert result.error["message"].startswith("rule 'price': 'span[class=' is not a valid CSS selector")


def test_a_missing_source_fails_naming_the_item() -> None:
    no_field = extract([{"data": PAGE}, {"html": PAGE}], rule("t", "h1"))
    no_binary = extract([{"data": PAGE}], rule("t", "h1"), source="binary")

    assert no_field.error is not None and no_field.error["item_index"] == 1
    assert no_field.error["message"] == "field 'data' of item 1 does not hold HTML text (no such field)"
    assert no_binary.error is not None and no_binary.error["node"] == "Extract"
    assert no_binary.error["item_index"] == 0
    assert no_binary.error["message"] == "item 0 has no binary property 'data' (its binary properties: none)"


def test_rules_are_required_and_an_attribute_rule_names_its_attribute() -> None:
    no_rules = extract([{"data": PAGE}])
    unnamed = extract([{"data": PAGE}], rule("link", "a", "attribute"))

    assert no_rules.error is not None and no_rules.error["message"] == "there is nothing to extract"
    assert unnamed.error is not None and unnamed.error["node"] == "Extract"
    assert "rule 'link' returns an attribute but does not name it" in unnamed.error["message"]
