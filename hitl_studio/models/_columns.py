"""Column helpers shared by the table modules, so each table reads as a list of fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from hitl_studio.db import BigIntId, JSONType, UTCDateTime, new_id, utcnow

# Named constraints let Alembic drop and alter them on both databases (SQLite's
# batch mode cannot touch an unnamed constraint).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def id_field() -> Any:
    """A time-ordered UUID string primary key for entities users see in URLs."""
    return Field(default_factory=new_id, primary_key=True, max_length=36)


def log_id_field() -> Any:
    """An auto-increment primary key for append-only logs, which are read in insert order."""
    return Field(default=None, sa_column=Column(BigIntId, primary_key=True, autoincrement=True))


def created_at_field(index: bool = False) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def time_field(index: bool = False) -> Any:
    """An optional aware-UTC timestamp."""
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSONType, nullable=False)


def optional_json_field() -> Any:
    return Field(default=None, sa_type=JSONType, nullable=True)


def foreign_key(target: str, *, nullable: bool = False, ondelete: str = "CASCADE", index: bool = True) -> Any:
    """A foreign key to the UUID id ``target`` ("table.column") with an explicit delete rule."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(String(36), ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


__all__ = [
    "created_at_field",
    "datetime",
    "foreign_key",
    "id_field",
    "json_field",
    "log_id_field",
    "optional_json_field",
    "time_field",
]
