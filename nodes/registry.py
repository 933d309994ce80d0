"""Finding every node and credential type: our ``nodes`` package and third-party packs.

Discovery imports each module under ``nodes/`` and each ``hitl_studio.nodes``
entry point (a module, a class, or a list of classes), and validates every
declaration. A bad or duplicate declaration stops start-up with a message that
names the class, so a broken plugin is found before a user meets it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from nodes.sdk import (
    CREDENTIAL_ID_PATTERN,
    TYPE_ID_PATTERN,
    Category,
    CredentialType,
    Node,
    Parameters,
    PollParameters,
    PollTriggerNode,
    TriggerKind,
    TriggerNode,
)

ENTRY_POINT_GROUP = "hitl_studio.nodes"


class RegistryError(Exception):
    """A node or credential declaration is invalid; the message names the class and what to fix."""


class UnknownNodeType(LookupError):
    """No node with this type (and version) is installed."""


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def validate_node_class(cls: type[Node]) -> None:
    """Check a node's declaration.

    Raises:
        RegistryError: Naming the class and the problem.
    """
    problems: list[str] = []
    type_id = getattr(cls, "type", None)
    if not isinstance(type_id, str) or not TYPE_ID_PATTERN.match(type_id):
        problems.append(f"type {type_id!r} must be dotted lower-case, like 'core.set' or 'slack.send_message'")
    if not isinstance(cls.version, int) or cls.version < 1:
        problems.append(f"version {cls.version!r} must be a whole number ≥ 1")
    for attribute in ("display_name", "description", "icon"):
        value = getattr(cls, attribute, None)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{attribute} is missing")
    if getattr(cls, "category", None) not in set(Category):
        problems.append(f"category must be one of {', '.join(Category)}")
    for kind in ("inputs", "outputs"):
        names = getattr(cls, kind)
        if not isinstance(names, tuple) or len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
            problems.append(f"{kind} must be a tuple of distinct names")
    parameters = getattr(cls, "Parameters", None)
    if not (inspect.isclass(parameters) and issubclass(parameters, Parameters)):
        problems.append("Parameters must subclass nodes.sdk.Parameters")
    else:
        try:
            parameters.model_json_schema()
        except Exception as err:
            problems.append(f"its parameter schema cannot be rendered: {err}")
    for requirement in cls.credentials:
        if not CREDENTIAL_ID_PATTERN.match(requirement.type):
            problems.append(f"credential type {requirement.type!r} is not a valid id")
    if issubclass(cls, TriggerNode):
        if getattr(cls, "trigger_kind", None) not in set(TriggerKind):
            problems.append(f"trigger_kind must be one of {', '.join(TriggerKind)}")
        if cls.inputs:
            problems.append("a trigger has no inputs")
        if getattr(cls, "trigger_kind", None) == TriggerKind.POLL:
            if not issubclass(cls, PollTriggerNode):
                problems.append("a polling trigger must subclass nodes.sdk.PollTriggerNode")
            elif not issubclass(cls.Parameters, PollParameters):
                problems.append("a polling trigger's Parameters must subclass nodes.sdk.PollParameters")
    if problems:
        raise RegistryError(f"node class {_where(cls)}: " + "; ".join(problems))


def validate_credential_class(cls: type[CredentialType]) -> None:
    problems: list[str] = []
    cred_id = getattr(cls, "id", None)
    if not isinstance(cred_id, str) or not CREDENTIAL_ID_PATTERN.match(cred_id):
        problems.append(f"id {cred_id!r} must be lower-case letters, digits and underscores")
    if not getattr(cls, "display_name", ""):
        problems.append("display_name is missing")
    fields = getattr(cls, "Fields", None)
    if not (inspect.isclass(fields) and issubclass(fields, BaseModel)):
        problems.append("Fields must be a pydantic model")
    elif not set(cls.secret_fields) <= set(fields.model_fields):
        problems.append(f"secret_fields {sorted(set(cls.secret_fields) - set(fields.model_fields))} are not fields")
    if problems:
        raise RegistryError(f"credential class {_where(cls)}: " + "; ".join(problems))


class NodeRegistry:
    """Every installed node class by type and version, and every credential type."""

    def __init__(self) -> None:
        self._nodes: dict[str, dict[int, type[Node]]] = {}
        self._credentials: dict[str, type[CredentialType]] = {}

    def register(self, cls: type[Node]) -> type[Node]:
        validate_node_class(cls)
        versions = self._nodes.setdefault(cls.type, {})
        existing = versions.get(cls.version)
        if existing is not None and existing is not cls:
            raise RegistryError(
                f"node class {_where(cls)}: type {cls.type!r} version {cls.version} is already "
                f"declared by {_where(existing)}; node type ids are permanent, pick another"
            )
        versions[cls.version] = cls
        return cls

    def register_credential(self, cls: type[CredentialType]) -> type[CredentialType]:
        validate_credential_class(cls)
        existing = self._credentials.get(cls.id)
        if existing is not None and existing is not cls:
            raise RegistryError(
                f"credential class {_where(cls)}: id {cls.id!r} is already declared by {_where(existing)}"
            )
        self._credentials[cls.id] = cls
        return cls

    def check_credentials(self) -> None:
        """Every credential type a node asks for must be declared somewhere."""
        for cls in self.node_classes(all_versions=True):
            for requirement in cls.credentials:
                if requirement.type not in self._credentials:
                    raise RegistryError(
                        f"node class {_where(cls)}: credential type {requirement.type!r} is not declared"
                    )

    def get(self, type_id: str, version: int | None = None) -> type[Node]:
        """The class for ``type_id`` at ``version`` (the newest when ``None``)."""
        versions = self._nodes.get(type_id)
        if not versions:
            raise UnknownNodeType(f"unknown node type {type_id!r}; is the package that provides it installed?")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            known = ", ".join(str(v) for v in sorted(versions))
            raise UnknownNodeType(f"node type {type_id!r} has no version {version} (installed: {known})")
        return versions[version]

    def has(self, type_id: str, version: int | None = None) -> bool:
        versions = self._nodes.get(type_id, {})
        return bool(versions) if version is None else version in versions

    def node_classes(self, *, all_versions: bool = False) -> list[type[Node]]:
        """Node classes sorted by type id; only each type's newest version unless ``all_versions``."""
        classes: list[type[Node]] = []
        for type_id in sorted(self._nodes):
            versions = self._nodes[type_id]
            chosen = sorted(versions) if all_versions else [max(versions)]
            classes.extend(versions[v] for v in chosen)
        return classes

    def credential_types(self) -> list[type[CredentialType]]:
        return [self._credentials[key] for key in sorted(self._credentials)]

    def credential_type(self, type_id: str) -> type[CredentialType]:
        try:
            return self._credentials[type_id]
        except KeyError as err:
            raise LookupError(f"unknown credential type {type_id!r}") from err

    def add_from(self, objects: Iterable[Any]) -> None:
        """Register every concrete node and credential class among ``objects``."""
        for obj in objects:
            if not inspect.isclass(obj) or inspect.isabstract(obj):
                continue
            if issubclass(obj, Node) and "type" in vars(obj):
                self.register(obj)
            elif issubclass(obj, CredentialType) and "id" in vars(obj):
                self.register_credential(obj)


def _module_members(module: ModuleType) -> list[Any]:
    """Classes defined in ``module`` itself (not those it imports)."""
    return [obj for obj in vars(module).values() if inspect.isclass(obj) and obj.__module__ == module.__name__]


def _walk(package_name: str) -> Iterable[ModuleType]:
    package = importlib.import_module(package_name)
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        yield importlib.import_module(info.name)


def discover(package: str = "nodes", *, include_entry_points: bool = True) -> NodeRegistry:
    """Build a registry from ``package`` and the ``hitl_studio.nodes`` entry points.

    Raises:
        RegistryError: A declaration is invalid or an id is declared twice.
    """
    registry = NodeRegistry()
    for module in _walk(package):
        if module.__name__ in ("nodes.sdk", "nodes.registry"):
            continue
        registry.add_from(_module_members(module))
    if include_entry_points:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = entry.load()
            except Exception as err:
                raise RegistryError(f"entry point {entry.name!r} ({entry.value}) failed to load: {err}") from err
            if isinstance(loaded, ModuleType):
                registry.add_from(_module_members(loaded))
            elif isinstance(loaded, list | tuple):
                registry.add_from(loaded)
            else:
                registry.add_from([loaded])
    registry.check_credentials()
    return registry


@lru_cache(maxsize=1)
def get_registry() -> NodeRegistry:
    """The process-wide registry, discovered on first use."""
    return discover()
