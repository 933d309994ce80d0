"""XML (files.xml) run through the engine: XML to JSON and back, options, malformed XML and entity attacks."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
ORDER = '<?xml version="1.0"?><order id="7"><customer>Ada</customer><line>A</line><line>B</line><note/></order>'


def convert(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    return run(workflow([MANUAL, node("XML", "files.xml", parameters)], [("Start", "XML")]), items)


def test_xml_becomes_the_items_json() -> None:
    result = convert([{"data": ORDER}])

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "XML") == [{"order": {"@id": "7", "customer": "Ada", "line": ["A", "B"], "note": None}}]
    assert result.last_outputs["XML"][0][0].paired_item == 0


def test_xml_to_json_into_a_field_with_options() -> None:
    xml = "<order id='7'><customer vip='yes'>Ada</customer><line>A</line></order>"

    result = convert(
        [{"id": 1, "body": xml}],
        xml_field="body",
        json_field="parsed",
        attribute_prefix="_",
        text_key="value",
        force_list=["line"],
    )

    assert output_json(result, "XML") == [
        {
            "id": 1,
            "body": xml,
            "parsed": {"order": {"_id": "7", "customer": {"_vip": "yes", "value": "Ada"}, "line": ["A"]}},
        }
    ]


def test_json_to_xml_round_trips_through_xml_to_json() -> None:
    data = workflow(
        [
            MANUAL,
            node("ToXml", "files.xml", {"mode": "json_to_xml", "xml_field": "xml"}),
            node("ToJson", "files.xml", {"mode": "xml_to_json", "xml_field": "xml"}),
        ],
        [("Start", "ToXml"), ("ToXml", "ToJson")],
    )
    order = {"@id": "7", "customer": "Ada", "line": ["A", "B"], "paid": "true"}

    result = run(data, [{"order": order}])

    assert output_json(result, "ToXml")[0]["xml"] == (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<order id="7"><customer>Ada</customer><line>A</line><line>B</line><paid>true</paid></order>'
    )
    assert output_json(result, "ToJson") == [{"order": order}]


def test_a_single_key_is_the_root_otherwise_root_wraps_and_pretty_prints() -> None:
    single = convert([{"note": {"text": "hi"}}], mode="json_to_xml", xml_declaration=False)
    several = convert([{"a": 1, "b": True}], mode="json_to_xml", xml_declaration=False, pretty=True)
    named = convert([{"a": 1}], mode="json_to_xml", xml_declaration=False, root_element="doc", xml_field="out")

    assert output_json(single, "XML")[0]["data"] == "<note><text>hi</text></note>"
    assert output_json(several, "XML")[0]["data"] == "<root>\n  <a>1</a>\n  <b>true</b>\n</root>"
    assert output_json(named, "XML") == [{"a": 1, "out": "<doc><a>1</a></doc>"}]


def test_malformed_xml_fails_naming_the_node_and_item() -> None:
    result = convert([{"data": ORDER}, {"data": "<order><line>A</order>"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "XML" and result.error["item_index"] == 1
    assert result.error["message"] == (
        "the XML in field 'data' of item 1 is malformed: mismatched tag: line 1, column 16"
    )


def test_entity_declarations_are_refused() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    external = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY file SYSTEM "file:///etc/passwd">]><x>&file;</x>'

    for xml in (laughs, external):
        result = convert([{"data": xml}])
        assert result.error is not None
        assert result.error["node"] == "XML" and result.error["item_index"] == 0
        assert result.error["message"] == "the XML in field 'data' of item 0 declares entities, which are refused"


def test_a_missing_field_and_keys_that_cannot_be_xml_names_fail_naming_the_item() -> None:
    missing = convert([{"other": 1}])
    bad_name = convert([{"ok": 1}, {"bad key": 1}], mode="json_to_xml")
    not_object = convert([{"list": [1, 2]}], mode="json_to_xml", json_field="list")

    assert missing.error is not None and missing.error["item_index"] == 0
    assert missing.error["message"] == "field 'data' of item 0 does not hold XML text (no such field)"
    assert bad_name.error is not None and bad_name.error["item_index"] == 1
    assert bad_name.error["message"].startswith("item 1 cannot be written as XML")
    assert (
        not_object.error is not None and not_object.error["message"] == "field 'list' of item 0 is not an object (list)"
    )
