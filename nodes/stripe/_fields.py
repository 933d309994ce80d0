"""Parameter pieces the Stripe nodes share: metadata as a key/value list, and limits Stripe sets on it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator

from nodes.sdk import param

MAX_METADATA_KEYS = 50
"""Stripe keeps at most 50 metadata keys per object."""


class MetadataEntry(BaseModel):
    """One metadata key and its value; Stripe stores every value as text."""

    model_config = ConfigDict(extra="forbid")

    key: str = param(
        title="Key", description="Up to 40 characters, without square brackets.", min_length=1, max_length=40
    )
    value: str = param(
        "", title="Value", description="Up to 500 characters; on update, empty removes the key.", max_length=500
    )

    @field_validator("key")
    @classmethod
    def _plain_key(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a metadata key cannot be blank")
        if "[" in value or "]" in value:
            # Brackets would split the key in Stripe's form encoding (metadata[a[b]]).
            raise ValueError(f"the metadata key {value!r} contains square brackets, which Stripe refuses")
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
    """Metadata typed as an object by an expression (``{"order": 7}``) or as JSON text, as the key/value list."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ValueError(f"the metadata is not valid JSON ({err})") from err
    if isinstance(value, Mapping):
        return [{"key": key, "value": inner} for key, inner in value.items()]
    return value


def _unique_keys(entries: list[MetadataEntry]) -> list[MetadataEntry]:
    keys = [entry.key for entry in entries]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"the metadata key {duplicates[0]!r} is given twice")
    if len(keys) > MAX_METADATA_KEYS:
        raise ValueError(f"Stripe keeps at most {MAX_METADATA_KEYS} metadata keys, not {len(keys)}")
    return entries


Metadata = Annotated[list[MetadataEntry], BeforeValidator(_from_object), AfterValidator(_unique_keys)]
"""A metadata parameter: a key/value list, or an object or JSON text from an expression."""


def metadata_form(entries: Sequence[MetadataEntry]) -> dict[str, str] | None:
    """The ``metadata`` field of a request body, or ``None`` to leave it out."""
    return {entry.key: entry.value for entry in entries} or None
