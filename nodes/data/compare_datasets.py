"""Compare Datasets: match the items of two inputs by key and sort them into four outputs."""

from __future__ import annotations

from typing import Any, Literal

from nodes.data._fields import MISSING, delete_path, get_path, identity
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param


class CompareDatasetsParameters(Parameters):
    key_a: str = param(
        "id", title="Key field in input A", description="Dots reach nested fields.", no_expressions=True, min_length=1
    )
    key_b: str = param(
        "id", title="Key field in input B", description="Dots reach nested fields.", no_expressions=True, min_length=1
    )
    fields_to_skip: list[str] = param(
        default_factory=list,
        title="Fields to skip comparing",
        description="Fields whose differences do not count (timestamps...); dots reach nested fields.",
        no_expressions=True,
    )
    different_output: Literal["both", "input_a", "input_b"] = param(
        "both",
        title="For different items, output",
        description="both: the keys, the fields that match and each differing field's two values; "
        "input_a / input_b: that input's item as is.",
        no_expressions=True,
    )
    fuzzy_compare: bool = param(
        False,
        title="Fuzzy compare",
        description='Treat values with the same text as equal: "3" matches 3, "true" matches true.',
        advanced=True,
    )


class CompareDatasetsNode(Node):
    type = "data.compare_datasets"
    display_name = "Compare Datasets"
    category = Category.DATA
    description = "Matches two inputs' items by key and sorts them into: only in A, same, different, only in B."
    icon = "git-compare"
    inputs = ("input A", "input B")
    outputs = ("in A only", "same", "different", "in B only")
    Parameters = CompareDatasetsParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: CompareDatasetsParameters = ctx.params()
        first = list(ctx.inputs[0]) if ctx.inputs else []
        second = list(ctx.inputs[1]) if len(ctx.inputs) > 1 else []
        key_a, key_b = params.key_a.strip(), params.key_b.strip()
        loose = params.fuzzy_compare

        # The first B item with a key is its match (n8n's "first match"); later ones only leave "in B only".
        by_key: dict[Any, int] = {}
        for index, item in enumerate(second):
            by_key.setdefault(identity(_key(item, key_b, "B", index), loose=loose), index)

        only_a: list[Item] = []
        same: list[Item] = []
        different: list[Item] = []
        matched_keys: set[Any] = set()
        for index, item in enumerate(first):
            key_value = _key(item, key_a, "A", index)
            key = identity(key_value, loose=loose)
            partner_index = by_key.get(key)
            if partner_index is None:
                only_a.append(Item(item.json, item.binary, index))
                continue
            matched_keys.add(key)
            partner = second[partner_index]
            a_fields = self._compared(item.json, key_a, params.fields_to_skip)
            b_fields = self._compared(partner.json, key_b, params.fields_to_skip)
            changed = [
                name
                for name in dict.fromkeys([*a_fields, *b_fields])
                if identity(a_fields.get(name, MISSING), loose=loose)
                != identity(b_fields.get(name, MISSING), loose=loose)
            ]
            if not changed:
                same.append(Item(item.json, item.binary, index))
            elif params.different_output == "input_a":
                different.append(Item(item.json, item.binary, index))
            elif params.different_output == "input_b":
                different.append(Item(partner.json, partner.binary, index))
            else:
                different.append(Item(_difference(key_a, key_value, a_fields, b_fields, changed), paired_item=index))

        only_b = [
            Item(item.json, item.binary)
            for index, item in enumerate(second)
            if identity(_key(item, key_b, "B", index), loose=loose) not in matched_keys
        ]
        return [only_a, same, different, only_b]

    @staticmethod
    def _compared(data: dict[str, Any], key: str, skipped: list[str]) -> dict[str, Any]:
        """The fields that count: all but the key and the skipped ones.

        An object emptied by the removal goes too, so ``customer.id`` as B's key
        does not make ``customer: {}`` a difference with an A item that has no ``customer``.
        """
        for name in (key, *(name.strip() for name in skipped if name.strip())):
            data = delete_path(data, name, prune=True)
        return data


def _key(item: Item, field: str, side: str, index: int) -> Any:
    value = get_path(item.json, field)
    if value is MISSING or value is None:
        raise NodeError(
            f"item {index} of input {side} has no key field '{field}'",
            description="Check the key field name, or filter out items without a key before comparing.",
            item_index=index,
        )
    return value


def _difference(
    key_name: str, key_value: Any, a_fields: dict[str, Any], b_fields: dict[str, Any], changed: list[str]
) -> dict[str, Any]:
    """n8n's "include both versions": the key, what matches, and each differing field's two values."""
    return {
        "keys": {key_name: key_value},
        "same": {name: value for name, value in a_fields.items() if name not in changed},
        "different": {name: {"input_a": a_fields.get(name), "input_b": b_fields.get(name)} for name in changed},
    }
