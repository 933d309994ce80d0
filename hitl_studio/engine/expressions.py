"""Expressions in node parameters: ``{{ ... }}`` parts evaluated in a sandbox.

A parameter such as ``"Total: {{ $json.amount * 2 }}"`` is split into literal text and
expression parts. The expression language is a safe subset of Python with n8n's ``$``
variables (``$json``, ``$input``, ``$node["Name"]``, ``$now``, ``$env`` …). A parameter that
is exactly one ``{{ expr }}`` evaluates to the value itself (number, dict, list …); anything
else renders each part to text.

Why simpleeval (``EvalWithCompoundTypes``) rather than ``eval`` or a home-made language:
it walks the AST node by node and never calls ``eval``/``exec`` on the text, it is small,
maintained and has years of reported-and-fixed escapes behind it, it already limits
comprehensions, powers and string sizes, and it supports per-type attribute allow-lists. On
top of it this module adds:

* a static check of the parsed tree (only whitelisted node types, known names and functions,
  no ``__`` attributes), so most mistakes are reported when the workflow is saved;
* its own attribute rules: on a dict ``.key`` reads the key (``None`` when missing), methods are
  only the allow-listed ones in :data:`_ALLOWED_ATTRS`, and none of them mutates anything;
* tighter resource caps: powers are bounded by the size of their result (simpleeval's
  ``MAX_POWER`` still lets ``3999999 ** 3999999`` run for half a minute), text and lists are
  capped at :data:`MAX_LENGTH`, ``range`` at :data:`MAX_RANGE`, and every container the
  expression builds is weighed (shared references counted every time they appear), so
  ``[x for x in [[y for _ in range(100)] for y in …]]`` style nesting cannot build a value
  whose printing or comparison never ends. With no loops or recursion in the language,
  evaluation time is therefore bounded.

Compilation (splitting, ``$`` rewriting, parsing, checking) is cached per template because a
parameter is evaluated once per item.
"""

from __future__ import annotations

import ast
import base64
import binascii
import functools
import hashlib
import json
import math
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import simpleeval
from simpleeval import DISALLOW_METHODS, EvalWithCompoundTypes

__all__ = ["ExpressionContext", "ExpressionError", "check", "contains_expression", "evaluate", "resolve"]

MAX_LENGTH = 1_000_000
"""Longest text (characters) or list (items) an operator, f-string or method may build."""
MAX_RANGE = 100_000
"""Most numbers ``range()`` may produce."""
MAX_SIZE = 10_000_000
"""Largest container an expression may build, in approximate characters of compact JSON."""
MAX_POWER_BITS = 100_000
"""Largest integer ``**`` may produce, in bits (about 30,000 decimal digits)."""
MAX_FORMAT_WIDTH = 1_000
"""Largest width or precision in an f-string format spec."""
MAX_ROUND_DIGITS = 100
"""Largest ``ndigits`` accepted by ``round()`` (either sign)."""

_PREFIX = "_dollar_"
_VARIABLES = ("json", "input", "node", "now", "today", "env", "execution", "workflow", "runIndex", "itemIndex")
_STRING_PREFIXES = frozenset({"r", "u", "b", "br", "rb", "f", "fr", "rf"})
_MESSAGE_EXPRESSION_LIMIT = 200


class ExpressionError(Exception):
    """An expression could not be compiled or evaluated.

    Attributes:
        expression: The ``{{ ... }}`` part at fault, as written.
        reason: What is wrong, for the person editing the parameter.
    """

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        shown = (
            expression if len(expression) <= _MESSAGE_EXPRESSION_LIMIT else expression[:_MESSAGE_EXPRESSION_LIMIT] + "…"
        )
        super().__init__(f"Expression error in {shown}: {reason}")


@dataclass(frozen=True)
class ExpressionContext:
    """Everything an expression can read; built by the runner for each item.

    Attributes:
        json: The current item's json (``$json``).
        item_index: Index of the current item (``$itemIndex``); pairs ``$node["X"].json``.
        input_items: The json of every item on the node's input (``$input.all()``).
        node_outputs: Node name -> the json of that node's last output items (main output 0).
        execution_id: ``$execution.id``.
        execution_mode: ``$execution.mode`` (``manual``, ``trigger``, ``webhook`` …).
        workflow_id: ``$workflow.id``.
        workflow_name: ``$workflow.name``.
        run_index: ``$runIndex``: how many times this node already ran in the execution.
        env: Environment variables expressions may read, already filtered by
            ``HITL_EXPRESSION_ENV``.
        now: Timezone-aware time for ``$now``/``$today``; pass one per execution so all items
            agree. ``None`` means the time of each evaluation.
        timezone: IANA name of the workflow's timezone; ``$now``, ``$today`` and naive dates
            parsed by ``date()`` use it.
    """

    json: dict[str, Any] = field(default_factory=dict)
    item_index: int = 0
    input_items: Sequence[dict[str, Any]] = ()
    node_outputs: Mapping[str, Sequence[dict[str, Any]]] = field(default_factory=dict)
    execution_id: str = ""
    execution_mode: str = "manual"
    workflow_id: str = ""
    workflow_name: str = ""
    run_index: int = 0
    env: Mapping[str, str] = field(default_factory=dict)
    now: datetime | None = None
    timezone: str = "UTC"


def contains_expression(value: Any) -> bool:
    """Tell whether ``value`` holds an expression, looking inside dicts and lists.

    A string counts as soon as it has ``{{``, even without a closing ``}}``: an unclosed
    expression is reported by :func:`evaluate` instead of passing through as text.
    """
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(contains_expression(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_expression(item) for item in value)
    return False


def check(template: str) -> str | None:
    """Check every ``{{ }}`` part of ``template`` without any data.

    Returns:
        ``None`` when every part parses and uses only allowed syntax, names and methods;
        otherwise the error message. Problems that depend on data (a missing key, a method
        that the value's type does not have) only show at evaluation.
    """
    if "{{" not in template:
        return None
    compiled = _compile(template)
    if compiled.error is None:
        return None
    return str(ExpressionError(*compiled.error))


def evaluate(template: str, context: ExpressionContext) -> Any:
    """Evaluate the expressions in ``template``.

    Returns:
        The template unchanged if it has no ``{{``. If the whole template (ignoring surrounding
        whitespace) is one ``{{ expr }}``, the value itself, made JSON-compatible: dicts, lists,
        numbers, text, booleans and ``None`` as they are (copied), tuples and sets as lists,
        datetimes and dates as ISO 8601 text, timedeltas as seconds. Otherwise the text with
        each part rendered: ``None`` as nothing, booleans as ``true``/``false``, dicts and
        lists as compact JSON.

    Raises:
        ExpressionError: The template does not compile, or an expression fails.
    """
    if "{{" not in template:
        return template
    compiled = _compile(template)
    if compiled.error is not None:
        raise ExpressionError(*compiled.error)
    evaluator = _evaluator()
    if compiled.single is not None:
        return _run(evaluator, compiled.single, context, _to_json)
    return "".join(
        part if isinstance(part, str) else _run(evaluator, part, context, _to_text) for part in compiled.parts
    )


def resolve(value: Any, context: ExpressionContext) -> Any:
    """Evaluate every expression string inside ``value`` (dicts and lists, at any depth).

    Returns:
        ``value`` itself when it holds no expression; otherwise a new structure (dicts and
        lists are rebuilt, the input is never modified).

    Raises:
        ExpressionError: An expression fails.
    """
    if not contains_expression(value):
        return value
    return _resolve(value, context)


def _resolve(value: Any, context: ExpressionContext) -> Any:
    if isinstance(value, str):
        return evaluate(value, context)
    if isinstance(value, Mapping):
        return {key: _resolve(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(item, context) for item in value]
    return value


# Compilation


class _Fault(Exception):
    """Raised inside this module with a reason; turned into ExpressionError at the boundary."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Expression:
    text: str
    tree: ast.expr


@dataclass(frozen=True)
class _Template:
    """A compiled template: literal text and expressions, or the (expression, reason) at fault."""

    parts: tuple[str | _Expression, ...] = ()
    single: _Expression | None = None  # set when the whole template is one expression
    error: tuple[str, str] | None = None


@functools.lru_cache(maxsize=1024)
def _compile(template: str) -> _Template:
    parts: list[str | _Expression] = []
    position = 0
    while (start := template.find("{{", position)) >= 0:
        if start > position:
            parts.append(template[position:start])
        source: list[str] = []
        try:
            end = _scan_code(template, start + 2, source, "}}")
        except _Fault as err:
            return _Template(error=(template[start:], err.reason))
        if end < 0:
            return _Template(error=(template[start:], "missing closing }}"))
        text = template[start : end + 2]
        try:
            parts.append(_Expression(text, _parse("".join(source))))
        except _Fault as err:
            return _Template(error=(text, err.reason))
        position = end + 2
    if position < len(template):
        parts.append(template[position:])
    expressions = [part for part in parts if isinstance(part, _Expression)]
    if len(expressions) == 1 and all(isinstance(part, _Expression) or not part.strip() for part in parts):
        return _Template(single=expressions[0])
    return _Template(parts=tuple(parts))


def _scan_code(text: str, i: int, out: list[str], closing: str) -> int:
    """Copy Python code from ``text[i:]`` into ``out`` with ``$name`` rewritten.

    Stops at ``closing`` outside brackets and strings (``}}`` for a template part, ``}`` for an
    f-string replacement field) and returns its index, or -1 when the text ends first.
    """
    depth = 0
    length = len(text)
    in_field = closing == "}"
    while i < length:
        char = text[i]
        if depth == 0 and text.startswith(closing, i):
            return i
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif in_field and depth == 0 and (char == ":" or (char == "!" and not text.startswith("!=", i))):
            return _scan_format_spec(text, i, out)
        elif char in "'\"":
            i = _scan_string(text, i, "", out)
            continue
        elif char == "$":
            j = i + 1
            while j < length and (text[j].isalnum() or text[j] == "_"):
                j += 1
            if j == i + 1:
                raise _Fault("'$' must be followed by a variable name such as $json")
            if out and (out[-1][-1:].isalnum() or out[-1].endswith("_")):
                out.append(" ")
            out.append(_PREFIX + text[i + 1 : j])
            i = j
            continue
        elif char.isalnum() or char == "_":
            j = i + 1
            while j < length and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if j < length and text[j] in "'\"" and word.lower() in _STRING_PREFIXES:
                out.append(word)
                i = _scan_string(text, j, word.lower(), out)
                continue
            if word.startswith(_PREFIX):
                raise _Fault(f"names starting with {_PREFIX!r} are reserved")
            out.append(word)
            i = j
            continue
        out.append(char)
        i += 1
    return -1


def _scan_string(text: str, i: int, prefix: str, out: list[str]) -> int:
    """Copy the string literal starting at the quote ``text[i]``; return the index after it."""
    quote = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
    formatted = "f" in prefix
    out.append(quote)
    i += len(quote)
    while i < len(text):
        if text.startswith(quote, i):
            out.append(quote)
            return i + len(quote)
        char = text[i]
        if char == "\\" or (formatted and (text.startswith("{{", i) or text.startswith("}}", i))):
            out.append(text[i : i + 2])
            i += 2
        elif formatted and char == "{":
            out.append("{")
            end = _scan_code(text, i + 1, out, "}")
            if end < 0:
                break
            out.append("}")
            i = end + 1
        else:
            out.append(char)
            i += 1
    raise _Fault("a string is not closed (missing quote)")


def _scan_format_spec(text: str, i: int, out: list[str]) -> int:
    """Copy an f-string conversion/format spec up to the field's closing ``}``; return its index."""
    while i < len(text):
        char = text[i]
        if char == "}":
            return i
        if char == "{":
            out.append("{")
            end = _scan_code(text, i + 1, out, "}")
            if end < 0:
                return -1
            out.append("}")
            i = end + 1
        else:
            out.append(char)
            i += 1
    return -1


def _parse(source: str) -> ast.expr:
    if not source.strip():
        raise _Fault("the expression is empty")
    # Parentheses let an expression span several lines, as in Python.
    try:
        tree = ast.parse(f"(\n{source}\n)", mode="eval")
    except SyntaxError as err:
        raise _Fault(_syntax_reason(source, err)) from err
    except (ValueError, RecursionError, MemoryError) as err:
        raise _Fault(f"the expression cannot be parsed ({err})") from err
    _validate(tree)
    return tree.body


def _syntax_reason(source: str, err: SyntaxError) -> str:
    try:
        ast.parse(source.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        message = err.msg.replace(_PREFIX, "$")
        return message if message.startswith("invalid syntax") else f"invalid syntax: {message}"
    return "statements (assignments, imports, loops, …) are not allowed; an expression computes one value"


_ALLOWED_NODES = frozenset(
    {
        ast.Expression,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Store,
        ast.Attribute,
        ast.Subscript,
        ast.Slice,
        ast.Call,
        ast.keyword,
        ast.UnaryOp,
        ast.UAdd,
        ast.USub,
        ast.Not,
        ast.Invert,
        ast.BinOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.LShift,
        ast.RShift,
        ast.BitOr,
        ast.BitXor,
        ast.BitAnd,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.Compare,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.In,
        ast.NotIn,
        ast.Is,
        ast.IsNot,
        ast.IfExp,
        ast.List,
        ast.Tuple,
        ast.Dict,
        ast.Set,
        ast.ListComp,
        ast.DictComp,
        ast.GeneratorExp,
        ast.comprehension,
        ast.JoinedStr,
        ast.FormattedValue,
    }
)
_REFUSED_NODES = {
    ast.Lambda: "lambda functions are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Starred: "* unpacking is not supported; join lists with +",
    ast.SetComp: "set comprehensions are not supported; use set([...])",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.MatMult: "the @ operator is not supported",
}
_DANGEROUS_NAMES = frozenset(
    {
        "__import__",
        "__builtins__",
        "breakpoint",
        "compile",
        "delattr",
        "dir",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "hasattr",
        "help",
        "input",
        "isinstance",
        "locals",
        "object",
        "open",
        "print",
        "quit",
        "setattr",
        "super",
        "type",
        "vars",
    }
)


def _validate(tree: ast.Expression) -> None:
    """Refuse everything but the whitelisted syntax, names, functions and method names."""
    nodes = list(ast.walk(tree))
    targets = {node.id for node in nodes if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    # Calls last, so a forbidden name inside one (``open(f).read()``) is what gets reported.
    for node in sorted(nodes, key=lambda node: type(node) is ast.Call):
        kind = type(node)
        if kind not in _ALLOWED_NODES:
            raise _Fault(_REFUSED_NODES.get(kind, f"{kind.__name__} syntax is not supported in expressions"))
        if kind is ast.Name:
            _validate_name(node, targets)
        elif kind is ast.Attribute:
            if node.attr.startswith("__"):
                raise _Fault(f"access to '.{node.attr}' is not allowed")
            if node.attr.startswith(_PREFIX):
                raise _Fault("a $ variable cannot follow '.'")
            if not isinstance(node.ctx, ast.Load):
                raise _Fault("assignment is not allowed")
        elif kind is ast.Subscript and not isinstance(node.ctx, ast.Load):
            raise _Fault("assignment is not allowed")
        elif kind is ast.Call:
            _validate_call(node, targets)
        elif kind is ast.FormattedValue and node.conversion != -1:
            raise _Fault("f-string conversions (!r, !s, !a) are not supported")
        elif kind is ast.comprehension and node.is_async:
            raise _Fault("async comprehensions are not allowed")
        elif kind is ast.Constant and isinstance(node.value, str | bytes) and len(node.value) > MAX_LENGTH:
            raise _Fault(f"a literal is longer than {MAX_LENGTH:,} characters")


def _validate_name(node: ast.Name, targets: set[str]) -> None:
    name = node.id
    if name.startswith(_PREFIX):
        variable = name[len(_PREFIX) :]
        if isinstance(node.ctx, ast.Store):
            raise _Fault(f"${variable} cannot be assigned")
        if variable not in _VARIABLES:
            available = ", ".join("$" + known for known in _VARIABLES)
            raise _Fault(f"unknown variable ${variable}; available: {available}")
    elif name in targets or name in _FUNCTION_NAMES:
        return
    elif name in _DANGEROUS_NAMES:
        raise _Fault(f"'{name}' is not allowed: expressions cannot run code, import modules or open files")
    else:
        raise _Fault(
            f"unknown name '{name}'; variables start with $ (for example $json.{name}), "
            f"functions are: {', '.join(sorted(_FUNCTION_NAMES))}"
        )


def _validate_call(node: ast.Call, targets: set[str]) -> None:
    func = node.func
    if isinstance(func, ast.Name):
        # Unknown and forbidden names get their own message first.
        _validate_name(func, targets)
        if func.id not in _FUNCTION_NAMES or func.id in targets:
            raise _Fault(f"'{func.id.replace(_PREFIX, '$')}' is not a function")
    elif isinstance(func, ast.Attribute):
        if func.attr not in _METHOD_NAMES:
            raise _Fault(f"'.{func.attr}()' is not an available method")
    else:
        raise _Fault(_REFUSED_NODES.get(type(func), "only functions and methods can be called"))
    if any(keyword.arg is None for keyword in node.keywords):
        raise _Fault("** unpacking in calls is not supported")


# Values the $ variables expose


class _Input:
    """``$input``: the items on the node's input."""

    __slots__ = ("_items", "item")

    def __init__(self, items: Sequence[dict[str, Any]], item: dict[str, Any]) -> None:
        self._items = items
        self.item = item

    def __repr__(self) -> str:
        return "$input"

    def all(self) -> list[dict[str, Any]]:
        return list(self._items)

    def first(self) -> dict[str, Any] | None:
        return self._items[0] if self._items else None

    def last(self) -> dict[str, Any] | None:
        return self._items[-1] if self._items else None


class _NodeOutput(_Input):
    """``$node["Name"]``: that node's output items; ``.json`` is the item paired with the current one."""

    __slots__ = ("_name",)

    def __init__(self, name: str, items: Sequence[dict[str, Any]], item_index: int) -> None:
        super().__init__(items, {})
        self._name = name
        if items:
            self.item = items[item_index] if 0 <= item_index < len(items) else items[0]

    def __repr__(self) -> str:
        return f"$node[{self._name!r}]"

    @property
    def json(self) -> dict[str, Any]:
        if not self._items:
            raise _Fault(f"node '{self._name}' returned no items")
        return self.item


class _Nodes:
    """``$node``: ``$node["Name"]`` reads a node that has already run in this execution."""

    __slots__ = ("_item_index", "_outputs")

    def __init__(self, outputs: Mapping[str, Sequence[dict[str, Any]]], item_index: int) -> None:
        self._outputs = outputs
        self._item_index = item_index

    def __repr__(self) -> str:
        return "$node"

    def __getitem__(self, name: Any) -> _NodeOutput:
        items = self._outputs.get(name) if isinstance(name, str) else None
        if items is None:
            raise _Fault(f"node {name!r} has not run yet in this execution; check its name and that it runs earlier")
        return _NodeOutput(name, items, self._item_index)


class _Env:
    """``$env``: only the variables the caller allow-listed."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def __getitem__(self, name: Any) -> str:
        if not isinstance(name, str) or name not in self._values:
            raise _Fault(
                f"$env.{name} is not available: only variables listed in HITL_EXPRESSION_ENV can be read; "
                f"add {name} there to allow it"
            )
        return self._values[name]

    def __contains__(self, name: Any) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        return "$env"


class _Variables:
    """The names mapping handed to simpleeval: each ``$`` variable is built on first use."""

    __slots__ = ("_context", "_evaluator")

    def __init__(self, context: ExpressionContext, evaluator: _Evaluator) -> None:
        self._context = context
        self._evaluator = evaluator

    def __getitem__(self, name: str) -> Any:
        context = self._context
        match name:
            case "_dollar_json":
                return context.json
            case "_dollar_input":
                return _Input(context.input_items, context.json)
            case "_dollar_node":
                return _Nodes(context.node_outputs, context.item_index)
            case "_dollar_now":
                return self._evaluator.now()
            case "_dollar_today":
                return self._evaluator.now().replace(hour=0, minute=0, second=0, microsecond=0)
            case "_dollar_env":
                return _Env(context.env)
            case "_dollar_execution":
                return {"id": context.execution_id, "mode": context.execution_mode}
            case "_dollar_workflow":
                return {"id": context.workflow_id, "name": context.workflow_name}
            case "_dollar_runIndex":
                return context.run_index
            case "_dollar_itemIndex":
                return context.item_index
        raise KeyError(name)


# Operators and functions with resource caps


def _check_length(length: int) -> None:
    if length > MAX_LENGTH:
        raise _Fault(f"the result would be longer than {MAX_LENGTH:,} characters or items")


def _safe_add(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        _check_length(len(left) + len(right))
    return left + right


def _safe_mult(left: Any, right: Any) -> Any:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int):
            _check_length(len(sequence) * times)
    return left * right


def _safe_power(base: Any, exponent: Any) -> Any:
    growing = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if growing and exponent * math.log2(abs(base)) > MAX_POWER_BITS:
        raise _Fault(f"{base} ** {exponent} is too large (more than {MAX_POWER_BITS:,} bits)")
    return base**exponent


def _safe_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):
        raise _Fault("'%' formatting is not supported; use an f-string")
    return left % right


_OPERATORS = {
    **simpleeval.DEFAULT_OPERATORS,
    ast.Add: _safe_add,
    ast.Mult: _safe_mult,
    ast.Pow: _safe_power,
    ast.Mod: _safe_mod,
}


def _safe_range(*args: int) -> list[int]:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _Fault(f"range() may produce at most {MAX_RANGE:,} numbers, not {len(numbers):,}")
    return list(numbers)


def _safe_round(number: Any, ndigits: int | None = None) -> Any:
    if ndigits is not None and isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise _Fault(f"round() accepts at most {MAX_ROUND_DIGITS} digits")
    return round(number, ndigits)


def _safe_sum(values: Any, start: Any = 0) -> Any:
    if not isinstance(start, int | float):
        raise _Fault("sum() adds numbers only; join lists with + and text with ''.join(...)")
    return sum(values, start)


def _enumerate(iterable: Any, start: int = 0) -> list[tuple[int, Any]]:
    return list(enumerate(iterable, start))


def _zip(*iterables: Any) -> list[tuple[Any, ...]]:
    return list(zip(*iterables, strict=False))


def _json_dumps(value: Any, indent: int | None = None) -> str:
    if indent is not None and not 0 <= indent <= 8:
        raise _Fault("json_dumps() indent must be between 0 and 8")
    if indent is None:
        return json.dumps(_to_json(value), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(_to_json(value), ensure_ascii=False, indent=indent)


def _text_bytes(value: Any, function: str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    raise _Fault(f"{function}() needs text, not {_type_name(value)}")


def _md5(value: Any) -> str:
    return hashlib.md5(_text_bytes(value, "md5"), usedforsecurity=False).hexdigest()


def _sha256(value: Any) -> str:
    return hashlib.sha256(_text_bytes(value, "sha256")).hexdigest()


def _b64encode(value: Any) -> str:
    return base64.b64encode(_text_bytes(value, "b64encode")).decode("ascii")


def _b64decode(value: Any) -> str:
    try:
        return base64.b64decode(_text_bytes(value, "b64decode"), validate=True).decode()
    except binascii.Error as err:
        raise _Fault(f"b64decode(): not valid base64 ({err})") from err
    except UnicodeDecodeError as err:
        raise _Fault("b64decode(): the decoded bytes are not UTF-8 text") from err


def _uuid4() -> str:
    return str(uuid.uuid4())


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise _Fault(f"unknown timezone {name!r}; use an IANA name such as 'Europe/Paris'") from err


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "round": _safe_round,
    "abs": abs,
    "min": min,
    "max": max,
    "sum": _safe_sum,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "range": _safe_range,
    "any": any,
    "all": all,
    "enumerate": _enumerate,
    "zip": _zip,
    "json_dumps": _json_dumps,
    "json_loads": json.loads,
    "timedelta": timedelta,
    "uuid4": _uuid4,
    "md5": _md5,
    "sha256": _sha256,
    "b64encode": _b64encode,
    "b64decode": _b64decode,
}
# date() reads the context's timezone, so the evaluator binds it (see _Evaluator.parse_date).
_FUNCTION_NAMES = frozenset({*_FUNCTIONS, "date"})


# Methods: each type's allow-list. None of them mutates its object, so expressions cannot
# change the items they read.
_ALLOWED_ATTRS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "capitalize",
            "casefold",
            "center",
            "count",
            "endswith",
            "find",
            "index",
            "isalnum",
            "isalpha",
            "isdecimal",
            "isdigit",
            "islower",
            "isnumeric",
            "isspace",
            "istitle",
            "isupper",
            "join",
            "ljust",
            "lower",
            "lstrip",
            "partition",
            "removeprefix",
            "removesuffix",
            "replace",
            "rfind",
            "rindex",
            "rjust",
            "rpartition",
            "rsplit",
            "rstrip",
            "split",
            "splitlines",
            "startswith",
            "strip",
            "swapcase",
            "title",
            "upper",
            "zfill",
        }
    ),
    list: frozenset({"index", "count", "copy"}),
    tuple: frozenset({"index", "count"}),
    dict: frozenset({"get", "keys", "values", "items", "copy"}),
    int: frozenset({"bit_length", "is_integer"} if hasattr(int, "is_integer") else {"bit_length"}),
    float: frozenset({"is_integer"}),
    datetime: frozenset(
        {
            "isoformat",
            "strftime",
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "microsecond",
            "weekday",
            "isoweekday",
            "date",
            "timestamp",
            "replace",
            "astimezone",
            "tzname",
        }
    ),
    date: frozenset({"isoformat", "strftime", "year", "month", "day", "weekday", "isoweekday", "replace"}),
    timedelta: frozenset({"total_seconds", "days", "seconds", "microseconds"}),
    _Input: frozenset({"all", "first", "last", "item"}),
    _NodeOutput: frozenset({"all", "first", "last", "json"}),
}
_METHOD_NAMES = frozenset().union(*_ALLOWED_ATTRS.values())
# Methods that return data already there: no new container to weigh.
_DATA_ACCESSORS = frozenset({_Input, _NodeOutput})


def _pad_guard(method: str) -> Callable[..., str]:
    def padded(text: str, width: int, *args: Any) -> str:
        _check_length(width)
        return getattr(text, method)(width, *args)

    return padded


def _join(separator: str, iterable: Any) -> str:
    parts = list(iterable)
    if all(isinstance(part, str) for part in parts):
        _check_length(sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0))
    return separator.join(parts)


def _replace(text: str, old: str, new: str, count: int = -1) -> str:
    if isinstance(old, str) and isinstance(new, str):
        found = len(text) + 1 if old == "" else text.count(old)
        if count >= 0:
            found = min(found, count)
        _check_length(len(text) + found * (len(new) - len(old)))
    return text.replace(old, new, count)


def _strftime(moment: date, pattern: str) -> str:
    if len(pattern) > MAX_FORMAT_WIDTH:
        raise _Fault(f"date formats longer than {MAX_FORMAT_WIDTH} characters are not allowed")
    return moment.strftime(pattern)


_ADAPTED_METHODS: dict[tuple[type, str], Callable[..., Any]] = {
    (str, "join"): _join,
    (str, "replace"): _replace,
    (str, "center"): _pad_guard("center"),
    (str, "ljust"): _pad_guard("ljust"),
    (str, "rjust"): _pad_guard("rjust"),
    (str, "zfill"): _pad_guard("zfill"),
    (dict, "keys"): lambda mapping: list(mapping.keys()),
    (dict, "values"): lambda mapping: list(mapping.values()),
    (dict, "items"): lambda mapping: list(mapping.items()),
    # A zone name instead of a tzinfo, which expressions cannot build.
    (datetime, "astimezone"): lambda moment, zone: moment.astimezone(_zone(zone)),
    (datetime, "strftime"): lambda moment, pattern: _strftime(moment, pattern),
    (date, "strftime"): lambda day, pattern: _strftime(day, pattern),
}

_TYPE_NAMES: dict[type, str] = {
    type(None): "None",
    _Input: "$input",
    _NodeOutput: '$node["…"]',
    _Nodes: "$node",
    _Env: "$env",
    _Variables: "the variables",
}


def _type_name(value: Any) -> str:
    kind = type(value)
    return _TYPE_NAMES.get(kind, kind.__name__)


# Evaluation


class _Evaluator(EvalWithCompoundTypes):
    """simpleeval's evaluator with this module's attribute rules, caps and ``$`` variables.

    One instance per thread (see :func:`_evaluator`); :meth:`run` sets the context for one
    evaluation and clears it afterwards.
    """

    def __init__(self) -> None:
        super().__init__(
            operators=dict(_OPERATORS),
            functions={**_FUNCTIONS, "date": self.parse_date},
            names={},
            allowed_attrs=_ALLOWED_ATTRS,
        )
        self._context = ExpressionContext()
        self._now: datetime | None = None
        # id -> (value, size); the value is kept so its id cannot be reused during the run.
        self._sizes: dict[int, tuple[Any, int]] = {}

    def run(self, tree: ast.expr, context: ExpressionContext) -> Any:
        self._context = context
        self.names = _Variables(context, self)
        self._max_count = 0
        try:
            return self._eval(tree)
        finally:
            self.names = {}
            self._now = None
            self._sizes.clear()

    def now(self) -> datetime:
        if self._now is None:
            moment = self._context.now or datetime.now(UTC)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            self._now = moment.astimezone(_zone(self._context.timezone))
        return self._now

    def parse_date(self, value: Any) -> datetime:
        """``date(x)``: an ISO 8601 date or datetime text, a Unix timestamp or a date, as an aware datetime."""
        zone = _zone(self._context.timezone)
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        elif isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value, zone)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError as err:
                raise _Fault(f"date(): cannot read {value[:100]!r} as an ISO 8601 date or datetime") from err
        else:
            raise _Fault(f"date() needs text, a number or a date, not {_type_name(value)}")
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)

    # simpleeval re-checks every intermediate value for modules and forbidden functions by
    # walking it whole (O(size of $json) per node). Here names hold only JSON data and this
    # module's objects, functions are a fixed list and attributes go through allow-lists, so
    # the walk is skipped; the node whitelist was enforced at compile time.
    def _eval(self, node: ast.AST) -> Any:
        return self.nodes[type(node)](node)

    def _eval_name(self, node: ast.Name) -> Any:
        try:
            return self.names[node.id]
        except KeyError:
            return self.functions[node.id]

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        value = self._eval(node.value)
        name = node.attr
        kind = type(value)
        if kind is dict:
            # Dot access reads a key, leniently as in n8n; methods are only reached by calls.
            return value.get(name)
        if kind is _Env:
            return value[name]
        return getattr(value, self._allowed(value, name))

    def _allowed(self, value: Any, name: str) -> str:
        if name in self.allowed_attrs.get(type(value), ()) and name not in DISALLOW_METHODS:
            return name
        if value is None:
            raise _Fault(f"cannot read '.{name}' of None (the value before it is missing)")
        if type(value) is _Nodes:
            raise _Fault(f'write $node["{name}"] to read the output of the node named {name!r}')
        raise _Fault(f"'.{name}' is not available on {_type_name(value)}")

    def _eval_call(self, node: ast.Call) -> Any:
        func_node = node.func
        fresh = True
        if type(func_node) is ast.Attribute:
            target = self._eval(func_node.value)
            kind = type(target)
            method = func_node.attr
            self._allowed(target, method)
            adapted = _ADAPTED_METHODS.get((kind, method))
            func = functools.partial(adapted, target) if adapted else getattr(target, method)
            fresh = kind not in _DATA_ACCESSORS and method != "get"
        else:
            func = self.functions[func_node.id]
        args = [self._eval(arg) for arg in node.args]
        kwargs = {keyword.arg: self._eval(keyword.value) for keyword in node.keywords}
        result = func(*args, **kwargs)
        return self._bounded(result) if fresh else result

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        try:
            result = container[key]
        except KeyError as err:
            raise _Fault(f"key {key!r} not found; use .get({key!r}) if it may be missing") from err
        except IndexError as err:
            raise _Fault(f"index {key!r} is out of range (length {len(container)})") from err
        except TypeError as err:
            if container is None:
                raise _Fault(f"cannot read [{key!r}] of None (the value before it is missing)") from err
            raise
        return self._bounded(result) if type(key) is slice else result

    def _eval_binop(self, node: ast.BinOp) -> Any:
        return self._bounded(super()._eval_binop(node))

    def _eval_dict(self, node: ast.Dict) -> Any:
        return self._bounded(super()._eval_dict(node))

    def _eval_list(self, node: ast.List) -> Any:
        return self._bounded(super()._eval_list(node))

    def _eval_tuple(self, node: ast.Tuple) -> Any:
        return self._bounded(super()._eval_tuple(node))

    def _eval_set(self, node: ast.Set) -> Any:
        return self._bounded(super()._eval_set(node))

    def _eval_comprehension(self, node: ast.ListComp | ast.DictComp | ast.GeneratorExp) -> Any:
        return self._bounded(super()._eval_comprehension(node))

    def _eval_joinedstr(self, node: ast.JoinedStr) -> str:
        pieces = []
        length = 0
        for value in node.values:
            piece = str(self._eval(value))
            length += len(piece)
            _check_length(length)
            pieces.append(piece)
        return "".join(pieces)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        value = self._eval(node.value)
        if not node.format_spec:
            return value
        spec = self._eval(node.format_spec)
        # Widths and precisions pad text; dates format with strftime codes, which do not.
        if len(spec) > MAX_FORMAT_WIDTH or (
            not isinstance(value, date | time) and any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", spec))
        ):
            raise _Fault(f"format specs, widths and precisions above {MAX_FORMAT_WIDTH} are not allowed")
        return format(value, spec)

    def _bounded(self, value: Any) -> Any:
        if type(value) in (list, tuple, dict, set):
            self._size(value)
        return value

    def _size(self, value: Any) -> int:
        """Approximate compact-JSON size, counting a shared value each time it appears."""
        kind = type(value)
        if kind is str:
            return len(value) + 2
        if kind not in (list, tuple, dict, set, frozenset):
            return 4
        known = self._sizes.get(id(value))
        if known is not None:
            return known[1]
        total = 2
        pairs = value.items() if kind is dict else ((None, item) for item in value)
        for key, item in pairs:
            total += self._size(key) + self._size(item)
            if total > MAX_SIZE:
                raise _Fault(f"the value is too large (over {MAX_SIZE:,} characters as JSON)")
        self._sizes[id(value)] = (value, total)
        return total


_local = threading.local()


def _evaluator() -> _Evaluator:
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = _local.evaluator = _Evaluator()
    return evaluator


def _run(evaluator: _Evaluator, part: _Expression, context: ExpressionContext, convert: Callable[[Any], Any]) -> Any:
    """Evaluate ``part`` and convert the value; any failure becomes an ExpressionError about ``part``."""
    try:
        return convert(evaluator.run(part.tree, context))
    except Exception as err:
        raise ExpressionError(part.text, _reason(err)) from err


def _reason(err: Exception) -> str:
    if isinstance(err, _Fault):
        return err.reason
    if isinstance(err, simpleeval.IterableTooLong):
        return f"a comprehension may produce at most {simpleeval.MAX_COMPREHENSION_LENGTH:,} elements"
    if isinstance(err, RecursionError):
        return "the expression or its data is nested too deeply"
    if isinstance(err, MemoryError):
        return "out of memory"
    if isinstance(err, ZeroDivisionError):
        return "division by zero"
    if isinstance(err, KeyError):
        return f"key {err.args[0]!r} not found" if err.args else "key not found"
    if isinstance(err, ValueError) and "integer string conversion" in str(err):
        return "numbers longer than 4,300 digits cannot be converted to or from text"
    message = str(err) or type(err).__name__
    for kind, name in _TYPE_NAMES.items():
        message = message.replace(f"'{kind.__name__}'", name)
    return message.replace(_PREFIX, "$")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    converted = _to_json(value)
    if isinstance(converted, str):
        return converted
    return json.dumps(converted, ensure_ascii=False, separators=(",", ":"))


def _to_json(value: Any) -> Any:
    """A JSON-compatible copy of ``value`` (what items hold)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {_json_key(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_to_json(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if callable(value):
        raise _Fault("the result is a function or method; call it with ()")
    raise _Fault(f"the result is {_type_name(value)} itself, which cannot be stored; read a value from it")


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise _Fault(f"dict keys must be text or numbers, not {_type_name(key)}")
