"""Parameter pieces the HubSpot nodes share: other properties as a name/value list, property names to return."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator

from nodes.sdk import param


class PropertyValue(BaseModel):
    """One property by its internal name; HubSpot takes every value as text."""

    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Property", description="The internal name (Settings → Properties → the property → </>).")
    value: str = param("", title="Value", description="An empty value clears the property.")

    @field_validator("name")
    @classmethod
    def _internal_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a property needs its internal name")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if isinstance(value, int | float) else value


def _from_object(value: Any) -> Any:
    """Properties typed as an object by an expression (``{"city": "Berlin"}``) or as JSON text, as the list."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ValueError(f"the properties are not valid JSON ({err})") from err
    if isinstance(value, Mapping):
        return [{"name": name, "value": inner} for name, inner in value.items()]
    return value


def _unique(entries: list[PropertyValue]) -> list[PropertyValue]:
    names = [entry.name for entry in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"the property {twice[0]!r} is given twice")
    return entries


OtherProperties = Annotated[list[PropertyValue], BeforeValidator(_from_object), AfterValidator(_unique)]
"""A list of other properties: name/value entries, or an object or JSON text from an expression."""


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


PropertyNames = Annotated[list[str], BeforeValidator(_names)]
"""Property names as a list, or as text separated by commas."""


def properties_body(named: Mapping[str, str], others: Sequence[PropertyValue]) -> dict[str, str]:
    """The ``properties`` of a request: the named fields that were given, then the other properties.

    Raises:
        ValueError: An other property repeats one of the named fields.
    """
    body = {name: value.strip() for name, value in named.items() if value.strip()}
    for entry in others:
        if entry.name in named and named[entry.name].strip():
            raise ValueError(f"the property {entry.name!r} is set by its own field and again under other properties")
        body[entry.name] = entry.value
    return body
