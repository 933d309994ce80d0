"""The registry contract (CONVENTIONS.md): every node is complete, tested, and never renamed."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest

from nodes.registry import NodeRegistry, RegistryError, UnknownNodeType, discover, get_registry
from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, TriggerKind, TriggerNode, param

SNAPSHOT = Path(__file__).with_name("node_types.txt")
TESTS_ROOT = Path(__file__).resolve().parents[1]


def _snapshot() -> set[str]:
    return {line.strip() for line in SNAPSHOT.read_text().splitlines() if line.strip() and not line.startswith("#")}


def _installed() -> set[str]:
    return {f"{cls.type}@{cls.version}" for cls in get_registry().node_classes(all_versions=True)}


def test_no_node_type_was_renamed_or_removed() -> None:
    missing = _snapshot() - _installed()
    assert not missing, (
        f"node types {sorted(missing)} disappeared. Type ids are permanent: restore them, "
        "or add a new version instead of changing an old one."
    )


def test_every_node_type_is_in_the_snapshot() -> None:
    new = _installed() - _snapshot()
    assert not new, f"add these lines to {SNAPSHOT.name} (ids are permanent once listed): {sorted(new)}"


@pytest.mark.parametrize("cls", get_registry().node_classes(all_versions=True), ids=lambda c: f"{c.type}@{c.version}")
def test_node_contract(cls: type[Node]) -> None:
    description = cls.describe()
    json.dumps(description)
    assert description["display_name"] and description["description"].endswith(".")
    assert description["icon"]
    assert description["parameters"]["type"] == "object"
    for name, schema in description["parameters"].get("properties", {}).items():
        assert "title" in schema, f"{cls.type}: parameter {name!r} has no title"
    registry = get_registry()
    for requirement in cls.credentials:
        registry.credential_type(requirement.type)
    assert issubclass(cls, TriggerNode) == (cls.category == Category.TRIGGER)


@pytest.mark.parametrize("cls", get_registry().node_classes(all_versions=True), ids=lambda c: c.type)
def test_every_node_has_a_behaviour_test(cls: type[Node]) -> None:
    """A test that runs the node through the engine names its type id in tests/nodes/."""
    mentioned = any(
        f'"{cls.type}"' in path.read_text()
        for path in (TESTS_ROOT / "nodes").rglob("test_*.py")
        if path.name != "test_registry.py"
    )
    assert mentioned, f"no test in tests/nodes/ runs {cls.type}; add one that runs it through the engine"


class _Good(Node):
    type = "tests.good"
    display_name = "Good"
    category = Category.UTILITY
    description = "A node for registry tests."
    icon = "check"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        return [items]


def test_a_duplicate_type_id_names_both_classes() -> None:
    class Twin(_Good):
        type = "tests.good"

    registry = NodeRegistry()
    registry.register(_Good)
    with pytest.raises(RegistryError, match=r"Twin.*'tests.good' version 1 is already declared by .*_Good"):
        registry.register(Twin)


def test_an_invalid_declaration_names_the_class_and_every_problem() -> None:
    class Broken(Node):
        type = "Not A Type"
        display_name = ""
        category = Category.UTILITY
        description = "Broken."
        icon = "x"
        outputs = ("a", "a")

        def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
            return [items]

    with pytest.raises(RegistryError) as caught:
        NodeRegistry().register(Broken)
    message = str(caught.value)
    assert "Broken" in message
    assert "type 'Not A Type'" in message
    assert "display_name is missing" in message
    assert "outputs must be a tuple of distinct names" in message


def test_a_trigger_with_inputs_is_refused() -> None:
    class BadTrigger(TriggerNode):
        type = "tests.bad_trigger"
        display_name = "Bad"
        category = Category.TRIGGER
        description = "Bad."
        icon = "x"
        inputs = ("main",)
        trigger_kind: ClassVar[TriggerKind] = TriggerKind.MANUAL

    with pytest.raises(RegistryError, match="a trigger has no inputs"):
        NodeRegistry().register(BadTrigger)


def test_versions_are_looked_up_exactly_or_newest() -> None:
    class GoodV2(_Good):
        version = 2

        class Parameters(Parameters):
            level: int = param(1, title="Level")

    registry = NodeRegistry()
    registry.register(_Good)
    registry.register(GoodV2)
    assert registry.get("tests.good") is GoodV2
    assert registry.get("tests.good", 1) is _Good
    with pytest.raises(UnknownNodeType, match="has no version 3"):
        registry.get("tests.good", 3)
    with pytest.raises(UnknownNodeType, match=r"unknown node type 'tests\.nothing'"):
        registry.get("tests.nothing")


def test_a_third_party_pack_adds_nodes_through_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "acme_nodes"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from nodes.sdk import Category, Node


            class Shout(Node):
                type = "acme.shout"
                display_name = "Shout"
                category = Category.UTILITY
                description = "Upper-cases the text field."
                icon = "megaphone"

                def execute(self, ctx, items):
                    return [items]
            """
        )
    )
    dist = tmp_path / "acme_nodes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-nodes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hitl_studio.nodes]\nacme = acme_nodes\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_nodes", raising=False)

    registry = discover()

    assert registry.get("acme.shout").display_name == "Shout"
    assert registry.has("core.set")
