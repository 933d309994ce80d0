"""Code: run the user's Python on the items, in a separate process with time and memory limits.

The code runs in a fresh ``python -I`` child (see ``_code_runner.py``) with an
empty environment, a scratch working directory, and resource limits on memory,
CPU time, open files, file size and new processes. The node talks to it over
pipes and kills its whole process group when the time is up. This isolates the
studio from crashes, runaway loops and memory hogs and keeps the studio's
secrets out of the code's environment; it is not a jail: the code can still
read files the studio's user can read and open network connections.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

RUNNER = Path(__file__).with_name("_code_runner.py")
MAX_RESULT_BYTES = 64 * 1024**2
"""The most JSON the code may hand back; beyond it the run fails rather than the studio's memory."""
MAX_STDERR_BYTES = 64 * 1024
CHUNK = 64 * 1024

DEFAULT_CODE = """\
# `items` is a list of dicts (each item's JSON); return a list of dicts.
# Available without import: json, math, re, datetime, itertools, collections,
# statistics, hashlib, base64, uuid, random, decimal.
for item in items:
    item["processed"] = True
return items
"""


class CodeParameters(Parameters):
    mode: Literal["all_items", "each_item"] = param(
        "all_items",
        title="Mode",
        description="all_items: the code runs once and gets `items` (a list of dicts); "
        "each_item: it runs once per item and gets `item` (a dict) and `index`, "
        "and returns a dict, a list of dicts, or None to drop the item.",
        no_expressions=True,
    )
    code: str = param(
        DEFAULT_CODE,
        title="Python code",
        description="The body of a function: `return` gives the result. print() output is shown only on errors.",
        widget="code",
        no_expressions=True,
    )
    timeout_seconds: int = param(
        10,
        title="Timeout (seconds)",
        description="Wall-clock time before the code is stopped.",
        advanced=True,
        no_expressions=True,
        ge=1,
        le=300,
    )
    memory_mb: int = param(
        256,
        title="Memory limit (MB)",
        description="Address space the code's process may use, the interpreter's ~25 MB included.",
        advanced=True,
        no_expressions=True,
        ge=32,
        le=4096,
    )


@dataclass
class _Exchange:
    """What came back from the child."""

    stdout: bytes
    stderr: bytes
    returncode: int
    timed_out: bool
    too_big: bool
    answered: bool


def _exchange(payload: bytes, memory_mb: int, seconds: float, workdir: str) -> _Exchange:
    """Start the runner, feed it ``payload``, collect its answer; kill its process group when done or late."""
    cpu_seconds = math.ceil(seconds) + 1
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", str(RUNNER), str(memory_mb * 1024**2), str(cpu_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env={},
            start_new_session=True,
        )
    except OSError as err:
        raise NodeError(
            f"could not start Python for the code: {err}",
            description="The studio's host may be out of processes or memory; try again, or tell an admin.",
        ) from err
    assert process.stdin and process.stdout and process.stderr
    deadline = time.monotonic() + seconds
    stdout, stderr = bytearray(), bytearray()
    timed_out = too_big = answered = False
    pending = memoryview(payload)
    with selectors.DefaultSelector() as selector:
        for stream, events in (
            (process.stdin, selectors.EVENT_WRITE),
            (process.stdout, selectors.EVENT_READ),
            (process.stderr, selectors.EVENT_READ),
        ):
            os.set_blocking(stream.fileno(), False)
            selector.register(stream, events)
        try:
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                for key, _ in selector.select(remaining):
                    if key.fileobj is process.stdin:
                        try:
                            pending = pending[os.write(key.fd, pending[:CHUNK]) :]
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(key.fileobj)
                            process.stdin.close()
                        continue
                    chunk = os.read(key.fd, CHUNK)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is process.stdout:
                        stdout += chunk
                        too_big = len(stdout) > MAX_RESULT_BYTES
                        # The answer is complete: do not wait for whatever else holds the pipe open.
                        answered = stdout.endswith(b"\n")
                    elif len(stderr) < MAX_STDERR_BYTES:
                        stderr += chunk
                if too_big or answered:
                    break
        finally:
            if not (timed_out or too_big or answered):
                # Both pipes closed: the child is exiting; let it finish so its exit status is its own.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(min(deadline - time.monotonic(), 1.0), 0.0))
            # Whatever happened, nothing the code started may outlive the node.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            returncode = process.wait()
            for stream in (process.stdin, process.stdout, process.stderr):
                stream.close()
    return _Exchange(bytes(stdout), bytes(stderr), returncode, timed_out, too_big, answered)


def _with_console(description: str, console: str) -> str:
    console = console.strip()
    if not console:
        return description
    return f"{description}\nPrinted before the error:\n{console[-1000:]}"


def _where(line: int | None, item_index: int | None) -> str:
    parts = ([f"line {line}"] if line else []) + ([f"item {item_index}"] if item_index is not None else [])
    return f" ({', '.join(parts)})" if parts else ""


def _source_line(code: str, line: int | None) -> str:
    lines = code.splitlines()
    if line and 1 <= line <= len(lines):
        return f"Line {line}: {lines[line - 1].strip()}\n"
    return ""


def _child_error(error: dict[str, Any], console: str, params: CodeParameters) -> NodeError:
    """Turn the runner's error report into a message a person can act on."""
    kind = error.get("kind")
    item_index = error.get("item_index")
    item_index = item_index if isinstance(item_index, int) else None
    line = error.get("line") if isinstance(error.get("line"), int) else None
    if kind == "memory":
        return _memory_error(params, item_index)
    if kind == "not_json":
        return NodeError(
            f"the code's result cannot be passed on as JSON{_where(None, item_index)}: {error.get('message')}",
            description=_with_console(
                "Return only dicts, lists, strings, numbers, booleans and None; "
                "convert other values with str(), float() or int().",
                console,
            ),
            item_index=item_index,
        )
    message = str(error.get("message") or "the code failed")
    if kind == "syntax":
        description = f"{_source_line(params.code, line)}Fix the code's syntax."
    else:
        description = f"{_source_line(params.code, line)}Fix the code, or check the item it failed on."
    return NodeError(
        f"{message}{_where(line, item_index)}",
        description=_with_console(description, console),
        item_index=item_index,
    )


def _memory_error(params: CodeParameters, item_index: int | None = None) -> NodeError:
    return NodeError(
        f"the code ran out of memory (limit {params.memory_mb} MB){_where(None, item_index)}",
        description="Process fewer items per run (Loop Over Items), use less memory, "
        "or raise 'Memory limit (MB)' (up to 4096).",
        item_index=item_index,
    )


def _crash_error(exchange: _Exchange, params: CodeParameters, seconds: float) -> NodeError:
    """The child ended without an answer: stopped by us, by a limit, or by the code itself."""
    if exchange.timed_out or exchange.returncode == -signal.SIGXCPU:
        return NodeError(
            f"the code did not finish within {seconds:g} s and was stopped",
            description="Make it faster, process fewer items per run (Loop Over Items), "
            "or raise 'Timeout (seconds)' (up to 300).",
        )
    if exchange.too_big:
        return NodeError(
            f"the code returned more than {MAX_RESULT_BYTES // 1024**2} MB of data",
            description="Return less data per run: split the items with Loop Over Items, "
            "or drop fields you do not need.",
        )
    if exchange.answered:
        return NodeError(
            "the code's result could not be read",
            description="Do not write to the process's original stdout (file descriptors, sys.__stdout__); "
            "print() is fine, and `return` gives the result.",
        )
    stderr = exchange.stderr.decode(errors="replace").strip()
    if exchange.returncode == -signal.SIGKILL or "MemoryError" in stderr:
        # Killed by someone else than us: on Linux, the out-of-memory killer.
        return _memory_error(params)
    if exchange.returncode < 0:
        name = signal.Signals(-exchange.returncode).name
        return NodeError(
            f"the code's process crashed ({name})",
            description=f"This can happen when it runs out of memory (limit {params.memory_mb} MB) "
            "or calls a C library wrongly.",
        )
    detail = f": {stderr[-500:]}" if stderr else ""
    return NodeError(
        f"the code's process exited (code {exchange.returncode}) without a result{detail}",
        description="Do not call exit() or os._exit() in the code; use `return` instead.",
    )


def _to_item(value: Any, items: list[Item], *, item_index: int | None) -> Item:
    """A returned dict (or ``{"json": {...}}``) as an item.

    In each_item mode (``item_index`` set) the item pairs with the input item; in all_items
    mode only when the code says so with ``paired_item``. Files come only from the paired
    input item: the code never sees file references, so it cannot forge one.
    """
    where = f" for item {item_index}" if item_index is not None else ""
    if not isinstance(value, dict):
        raise NodeError(
            f"the code must return a list of objects{where}; one entry is {type(value).__name__}",
            description="Return dicts, e.g. `return [{'name': 'Ada'}]` or `return items`.",
            item_index=item_index,
        )
    paired_item = item_index
    if isinstance(value.get("json"), dict) and set(value) <= {"json", "binary", "paired_item"}:
        if "binary" in value:
            raise NodeError(
                f"the code cannot attach files to items{where}",
                description="Return the item's JSON only; to keep an input item's files, "
                "set 'paired_item' to its index (all_items mode) or use each_item mode.",
                item_index=item_index,
            )
        pair = value.get("paired_item")
        if item_index is None and pair is not None:
            if isinstance(pair, bool) or not isinstance(pair, int) or not 0 <= pair < len(items):
                raise NodeError(
                    f"paired_item {pair!r} is not the index of an input item",
                    description=f"Use a number from 0 to {len(items) - 1}, or leave paired_item out.",
                )
            paired_item = pair
        value = value["json"]
    binary = dict(items[paired_item].binary) if paired_item is not None else {}
    return Item(value, binary=binary, paired_item=paired_item)


def _all_items_output(result: Any, items: list[Item]) -> list[Item]:
    if isinstance(result, dict):
        result = [result]
    if not isinstance(result, list):
        shown = "nothing" if result is None else type(result).__name__
        raise NodeError(
            f"the code must return a list of objects; it returned {shown}",
            description="End the code with `return items` or `return [{...}, ...]`.",
        )
    return [_to_item(value, items, item_index=None) for value in result]


def _each_item_output(results: Any, items: list[Item]) -> list[Item]:
    if not isinstance(results, list) or len(results) != len(items):
        raise NodeError("the code's process returned an unreadable result", description="Run the node again.")
    produced: list[Item] = []
    for index, result in enumerate(results):
        where = f" for item {index}"
        if result is None:
            continue
        if isinstance(result, dict):
            result = [result]
        if not isinstance(result, list):
            raise NodeError(
                f"the code must return an object, a list of objects or None{where}; "
                f"it returned {type(result).__name__}",
                description="Return `item` (changed or not), a list of dicts, or None to drop the item.",
                item_index=index,
            )
        produced.extend(_to_item(value, items, item_index=index) for value in result)
    return produced


def _parameters(ctx: Context) -> CodeParameters:
    # Read as saved: the code is Python, never an expression (``{{`` is a literal in it).
    try:
        return CodeParameters.model_validate(ctx.raw_params())
    except ValidationError as err:
        first = err.errors()[0]
        location = ".".join(str(part) for part in first.get("loc", ())) or "parameters"
        raise NodeError(
            f"parameter '{location}': {first.get('msg', 'is invalid')}",
            description="Check the value in the node's settings.",
        ) from err


class CodeNode(Node):
    type = "core.code"
    display_name = "Code"
    category = Category.DATA
    description = "Runs your Python on the items, in a separate process with time and memory limits."
    icon = "code"
    Parameters = CodeParameters
    subtitle = "mode"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params = _parameters(ctx)
        seconds = float(params.timeout_seconds)
        remaining = ctx.remaining_seconds()
        if remaining is not None:
            # The node's own timeout setting is shorter: stop the child then too, not only the engine's wait.
            seconds = max(min(seconds, remaining), 0.1)
        payload = json.dumps(
            {"mode": params.mode, "code": params.code, "items": [item.json for item in items]}, default=str
        )
        with tempfile.TemporaryDirectory(prefix="hitl-code-") as workdir:
            exchange = _exchange(payload.encode(), params.memory_mb, seconds, workdir)
        if exchange.timed_out or exchange.too_big:
            raise _crash_error(exchange, params, seconds)
        try:
            answer = json.loads(exchange.stdout)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise _crash_error(exchange, params, seconds)
        console = str(answer.get("console") or "")
        if not answer.get("ok"):
            error = answer.get("error")
            raise _child_error(error if isinstance(error, dict) else {}, console, params)
        result = answer.get("result")
        if params.mode == "all_items":
            return [_all_items_output(result, items)]
        return [_each_item_output(result, items)]
