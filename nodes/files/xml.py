"""XML: convert a field holding XML into JSON, or JSON into an XML string; entity declarations are refused."""

from __future__ import annotations

from typing import Any, Literal
from xml.parsers.expat import ExpatError

import xmltodict

from nodes.core.set import set_path
from nodes.files._common import MISSING, get_field
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

TO_JSON = {"mode": ["xml_to_json"]}
TO_XML = {"mode": ["json_to_xml"]}


class XmlParameters(Parameters):
    mode: Literal["xml_to_json", "json_to_xml"] = param("xml_to_json", title="Convert", no_expressions=True)
    xml_field: str = param(
        "data",
        title="XML field",
        description="xml_to_json: the field holding the XML; json_to_xml: the field the XML is put in.",
        min_length=1,
    )
    json_field: str = param(
        "",
        title="JSON field",
        description="xml_to_json: where the result goes; json_to_xml: the object to convert. "
        "Empty: the whole item. Dots reach nested fields.",
    )
    attribute_prefix: str = param(
        "@", title="Attribute prefix", description="Keys starting with it are XML attributes.", advanced=True
    )
    text_key: str = param(
        "#text",
        title="Text key",
        description="The key of an element's text when it also has attributes.",
        advanced=True,
    )
    force_list: list[str] = param(
        default_factory=list,
        title="Always lists",
        description="Element names that always become lists, even when they appear once.",
        show_if=TO_JSON,
    )
    root_element: str = param(
        "",
        title="Root element",
        description="The element wrapping the document; empty: the object's only key, or <root> if it has several.",
        show_if=TO_XML,
    )
    pretty: bool = param(False, title="Indent (pretty print)", show_if=TO_XML)
    xml_declaration: bool = param(True, title='Start with <?xml version="1.0"?>', show_if=TO_XML)


def _to_json(text: str, params: XmlParameters, index: int) -> Any:
    try:
        return xmltodict.parse(
            text,
            attr_prefix=params.attribute_prefix,
            cdata_key=params.text_key,
            force_list=tuple(params.force_list) or None,
            dict_constructor=dict,
            # Entity declarations are how "billion laughs" and external-entity attacks start.
            disable_entities=True,
        )
    except ExpatError as err:
        raise NodeError(
            f"the XML in field {params.xml_field!r} of item {index} is malformed: {err}",
            description="Check that every tag is closed and the text is complete.",
            item_index=index,
        ) from err
    except ValueError as err:
        raise NodeError(
            f"the XML in field {params.xml_field!r} of item {index} declares entities, which are refused",
            description="<!ENTITY> declarations can expand into huge documents or read local files; remove them.",
            item_index=index,
        ) from err


def _to_xml(value: dict[str, Any], params: XmlParameters, index: int) -> str:
    keys = list(value)
    single_root = (
        len(keys) == 1 and not keys[0].startswith(params.attribute_prefix) and not isinstance(value[keys[0]], list)
    )
    if params.root_element:
        document = {params.root_element: value}
    elif single_root:
        document = value
    else:
        document = {"root": value}
    try:
        return xmltodict.unparse(
            document,
            full_document=params.xml_declaration,
            pretty=params.pretty,
            indent="  ",
            attr_prefix=params.attribute_prefix,
            cdata_key=params.text_key,
            short_empty_elements=False,
        )
    except ValueError as err:
        raise NodeError(
            f"item {index} cannot be written as XML: {err}",
            description="XML names cannot contain spaces, quotes, <, >, / or =; rename those keys first.",
            item_index=index,
        ) from err


class XmlNode(Node):
    type = "files.xml"
    display_name = "XML"
    category = Category.DATA
    description = "Converts a field holding XML into JSON, or an item's JSON into an XML string."
    icon = "code-xml"
    Parameters = XmlParameters
    subtitle = "mode"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: XmlParameters = ctx.params(index)
            if params.mode == "xml_to_json":
                data = self._xml_to_json(item, params, index)
            else:
                data = self._json_to_xml(item, params, index)
            produced.append(Item(data, binary=item.binary, paired_item=index))
        return [produced]

    @staticmethod
    def _xml_to_json(item: Item, params: XmlParameters, index: int) -> dict[str, Any]:
        text = get_field(item.json, params.xml_field)
        if not isinstance(text, str):
            found = "no such field" if text is MISSING else type(text).__name__
            raise NodeError(
                f"field {params.xml_field!r} of item {index} does not hold XML text ({found})",
                description="Set 'XML field' to the field holding the XML.",
                item_index=index,
            )
        parsed = _to_json(text, params, index)
        if not params.json_field:
            return parsed
        data = dict(item.json)
        set_path(data, params.json_field, parsed)
        return data

    @staticmethod
    def _json_to_xml(item: Item, params: XmlParameters, index: int) -> dict[str, Any]:
        value = get_field(item.json, params.json_field) if params.json_field else item.json
        if not isinstance(value, dict):
            found = "no such field" if value is MISSING else type(value).__name__
            raise NodeError(
                f"field {params.json_field!r} of item {index} is not an object ({found})",
                description="Point 'JSON field' at an object, or leave it empty to convert the whole item.",
                item_index=index,
            )
        data = dict(item.json)
        set_path(data, params.xml_field, _to_xml(value, params, index))
        return data
