"""Canvas edits on the workflow document: what the editor's buttons and shortcuts do to the JSON."""

from __future__ import annotations

import pytest

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.ui.editor import document
from hitl_studio.ui.editor.document import EditError


def _flow() -> dict:
    return document.with_ids(
        {
            "name": "Refunds",
            "nodes": [
                {"id": "t", "name": "Manual", "type": "trigger.manual", "position": [0, 0], "parameters": {}},
                {
                    "id": "i",
                    "name": "IF",
                    "type": "core.if",
                    "position": [260, 0],
                    "parameters": {"conditions": [{"left": "{{ $json.amount }}", "operator": "gt", "right": "100"}]},
                },
                {
                    "id": "s",
                    "name": "Edit Fields",
                    "type": "core.set",
                    "position": [520, 0],
                    "parameters": {"assignments": [{"name": "was", "value": '{{ $node["IF"].json.amount }}'}]},
                },
            ],
            "connections": {
                "Manual": {"main": [[{"node": "IF", "type": "main", "index": 0}]]},
                "IF": {"main": [[{"node": "Edit Fields", "type": "main", "index": 0}], []]},
            },
        }
    )


def test_imported_nodes_without_ids_get_them() -> None:
    doc = document.with_ids({"name": "x", "nodes": [{"name": "A", "type": "core.no_op"}]})
    assert doc["nodes"][0]["id"]
    assert doc["connections"] == {} and doc["settings"] == {}


def test_new_nodes_get_n8n_style_unique_names() -> None:
    doc, first = document.add_node(_flow(), node_type="core.set", display_name="Edit Fields", x=10.4, y=20.6)
    doc, second = document.add_node(doc, node_type="core.set", display_name="Edit Fields", x=0, y=0)
    names = {node["id"]: node["name"] for node in doc["nodes"]}
    assert names[first] == "Edit Fields 1"
    assert names[second] == "Edit Fields 2"
    assert document.nodes_by_id(doc)[first]["position"] == [10, 21]


def test_connect_by_handles_writes_n8n_connections_once() -> None:
    doc = document.connect(_flow(), source="i", source_handle="out-1", target="s", target_handle="in-0")
    doc = document.connect(doc, source="i", source_handle="out-1", target="s", target_handle="in-0")
    assert doc["connections"]["IF"]["main"][1] == [{"node": "Edit Fields", "type": "main", "index": 0}]
    assert {edge["id"] for edge in document.edges(doc)} == {"t:0>i:0", "i:0>s:0", "i:1>s:0"}
    parse_workflow(doc)


@pytest.mark.parametrize(
    ("source", "handle", "target", "message"),
    [("i", "out-0", "i", "cannot feed itself"), ("nope", "out-0", "s", "Both ends"), ("i", "left", "s", "handle")],
)
def test_bad_connections_are_refused_with_a_reason(source: str, handle: str, target: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        document.connect(_flow(), source=source, source_handle=handle, target=target, target_handle="in-0")


def test_removing_a_node_drops_its_connections_and_pins() -> None:
    doc = document.pin(_flow(), "IF", [{"json": {"amount": 1}}])
    doc = document.remove(doc, node_ids=["i"])
    assert [node["name"] for node in doc["nodes"]] == ["Manual", "Edit Fields"]
    assert doc["connections"] == {}
    assert document.pinned(doc) == {}


def test_removing_one_edge_keeps_the_nodes() -> None:
    doc = document.remove(_flow(), edge_ids=["i:0>s:0"])
    assert len(doc["nodes"]) == 3
    assert "IF" not in doc["connections"]
    assert doc["connections"]["Manual"]["main"][0][0]["node"] == "IF"


def test_rename_rewrites_connections_expressions_and_pins() -> None:
    doc = document.pin(_flow(), "IF", [{"json": {"amount": 1}}])
    doc = document.rename(doc, "i", "Big refund?")
    assert "Big refund?" in doc["connections"] and "IF" not in doc["connections"]
    assert doc["connections"]["Manual"]["main"][0][0]["node"] == "Big refund?"
    edit = document.node_by_name(doc, "Edit Fields")
    assert edit is not None
    assert edit["parameters"]["assignments"][0]["value"] == '{{ $node["Big refund?"].json.amount }}'
    assert "Big refund?" in document.pinned(doc)
    parse_workflow(doc)


def test_rename_refuses_a_taken_or_empty_name() -> None:
    with pytest.raises(EditError, match="already called"):
        document.rename(_flow(), "i", "Manual")
    with pytest.raises(EditError, match="needs a name"):
        document.rename(_flow(), "i", "  ")


def test_move_sets_node_and_note_positions() -> None:
    doc, note_id = document.add_note(_flow(), x=0, y=-200, text="Why")
    doc = document.move(
        doc, [{"id": "s", "x": 600.7, "y": 40}, {"id": note_id, "x": 5, "y": 6}, {"id": "?", "x": 1, "y": 1}]
    )
    assert document.nodes_by_id(doc)["s"]["position"] == [601, 40]
    assert document.notes(doc)[0]["x"] == 5 and document.notes(doc)[0]["y"] == 6


def test_copy_and_paste_keeps_inner_connections_with_fresh_names() -> None:
    doc = _flow()
    fragment = document.copy_fragment(doc, ["i", "s"])
    assert list(fragment["connections"]) == ["IF"]
    pasted, new_ids = document.paste(doc, fragment)
    assert len(new_ids) == 2
    names = [node["name"] for node in pasted["nodes"]]
    assert names[-2:] == ["IF 1", "Edit Fields 1"]
    assert pasted["connections"]["IF 1"]["main"][0] == [{"node": "Edit Fields 1", "type": "main", "index": 0}]
    assert document.node_by_name(pasted, "IF 1")["position"] == [300, 40]
    parse_workflow(pasted)


def test_sticky_notes_are_edited_and_resized() -> None:
    doc, note_id = document.add_note(_flow(), x=0, y=0)
    doc = document.update_note(
        doc, {"id": note_id, "text": "Refunds over 100 need a person", "width": 300, "height": 0}
    )
    note = document.notes(doc)[0]
    assert note["text"] == "Refunds over 100 need a person"
    assert (note["width"], note["height"]) == (300, 140)
    with pytest.raises(EditError):
        document.update_note(doc, {"id": "note-gone", "text": "x"})
    assert document.remove(doc, node_ids=[note_id])["settings"]["sticky_notes"] == []


def test_pin_and_unpin() -> None:
    doc = document.pin(_flow(), "IF", [{"json": {"amount": 200}}])
    assert document.pinned(doc) == {"IF": [{"json": {"amount": 200}}]}
    assert "pin_data" not in document.pin(doc, "IF", None)["settings"]
