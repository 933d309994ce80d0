"""Rename Keys: change field names, by name or by a regular expression."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.data._fields import MISSING, delete_path, get_path, set_path
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param


class KeyRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = param(title="Current name", description="Dots reach nested fields: customer.mail", min_length=1)
    new: str = param(title="New name", description="Dots make nested fields: customer.email", min_length=1)


class RegexRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = param(title="Regular expression", placeholder="^old_(.*)", min_length=1)
    replacement: str = param(
        "", title="Replace with", description=r"Groups are \1, \2... or \g<name> (Python syntax).", placeholder=r"\1"
    )
    ignore_case: bool = param(False, title="Ignore case")


class RenameKeysParameters(Parameters):
    keys: list[KeyRename] = param(default_factory=list, title="Keys to rename")
    regex: list[RegexRename] = param(
        default_factory=list,
        title="Rename by regular expression",
        description="Applied to each top-level key after the renames above.",
        advanced=True,
    )


class RenameKeysNode(Node):
    type = "data.rename_keys"
    display_name = "Rename Keys"
    category = Category.DATA
    description = "Renames fields on each item, by name (nested with dots) or by a regular expression."
    icon = "replace"
    Parameters = RenameKeysParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: RenameKeysParameters = ctx.params(index)
            data = item.json
            for rename in params.keys:
                current, new = rename.current.strip(), rename.new.strip()
                value = get_path(data, current)
                if value is MISSING or current == new:
                    continue
                # delete_path returns a copy, so setting on it leaves the input item alone.
                data = delete_path(data, current)
                set_path(data, new, value)
            for rule in params.regex:
                data = self._rename_matching(data, rule, index)
            produced.append(Item(data, item.binary, index))
        return [produced]

    @staticmethod
    def _rename_matching(data: dict[str, Any], rule: RegexRename, index: int) -> dict[str, Any]:
        try:
            pattern = re.compile(rule.pattern, re.IGNORECASE if rule.ignore_case else 0)
            # Rebuilt key by key so renamed keys keep their place; a later key wins a name clash.
            renamed: dict[str, Any] = {}
            for key, value in data.items():
                renamed[pattern.sub(rule.replacement, key)] = value
        except re.error as err:
            raise NodeError(
                f"item {index}: the pattern {rule.pattern!r} or its replacement is invalid: {err}",
                description="Fix the regular expression (Python syntax; replacement groups are \\1 or \\g<name>).",
                item_index=index,
            ) from err
        return renamed
