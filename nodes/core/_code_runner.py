"""The child side of the Code node: run one piece of user Python under limits, answer in JSON.

Run as a script (``python -I _code_runner.py MEMORY_BYTES CPU_SECONDS``), never
imported by the studio at run time; it imports only the standard library. It
limits itself before reading anything, reads ``{"mode", "code", "items"}`` from
stdin and writes one JSON answer, ended by a newline, to the stdout it was started with. The user's
``print`` output and anything written to file descriptors 1 and 2 never reach
that stream, so it cannot corrupt the answer.

Answers: ``{"ok": true, "result": ...}`` (``all_items``: what the code returned;
``each_item``: a list with what it returned for each item), or ``{"ok": false,
"error": {...}}`` where ``kind`` is ``syntax``, ``runtime``, ``memory`` or
``not_json``. Both carry ``console``: the tail of what the code printed.
"""

from __future__ import annotations

import ast
import io
import os
import resource
import signal
import sys
import traceback
from typing import Any

FILENAME = "<code>"
FUNCTION_NAME = "_code_node"
CONSOLE_TAIL_CHARS = 2000
OPEN_FILES_LIMIT = 32
FILE_SIZE_LIMIT_BYTES = 16 * 1024**2
HELPER_MODULES = (
    "base64",
    "collections",
    "datetime",
    "decimal",
    "hashlib",
    "itertools",
    "json",
    "math",
    "random",
    "re",
    "statistics",
    "uuid",
)


class _Console(io.TextIOBase):
    """Stands in for stdout and stderr: keeps only the tail, so a print loop cannot fill memory."""

    def __init__(self) -> None:
        self._text = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._text = (self._text + text)[-CONSOLE_TAIL_CHARS:]
        return len(text)

    def tail(self) -> str:
        return self._text


def _limit(kind: int, value: int) -> None:
    # Soft and hard alike: an unprivileged process cannot raise a hard limit back up.
    resource.setrlimit(kind, (value, value))


def _apply_limits(memory_bytes: int, cpu_seconds: int) -> None:
    _limit(resource.RLIMIT_AS, memory_bytes)
    # SIGXCPU at the soft limit, SIGKILL one second later; the parent's wall clock usually acts first.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT)
    _limit(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT_BYTES)
    # A too-large write then fails with an OSError the code can see instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # No new processes or threads: nothing can outlive the process group the parent kills.
    # (Not enforced for root, which ignores RLIMIT_NPROC.)
    _limit(resource.RLIMIT_NPROC, 0)


def _compile(code: str, mode: str) -> Any:
    """The user's code as the body of a function, keeping its own line numbers."""
    tree = ast.parse(code, filename=FILENAME)
    names = ["items"] if mode == "all_items" else ["item", "index"]
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=name) for name in names], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    fields: dict[str, Any] = {}
    if "type_params" in ast.FunctionDef._fields:
        fields["type_params"] = []
    function = ast.FunctionDef(
        name=FUNCTION_NAME,
        args=arguments,
        body=tree.body or [ast.Pass()],
        decorator_list=[],
        returns=None,
        lineno=1,
        col_offset=0,
        **fields,
    )
    module = ast.Module(body=[function], type_ignores=[])
    ast.fix_missing_locations(module)
    namespace: dict[str, Any] = {"__name__": "__code__", "__builtins__": __builtins__}
    for name in HELPER_MODULES:
        namespace[name] = __import__(name)
    exec(compile(module, FILENAME, "exec"), namespace)
    return namespace[FUNCTION_NAME]


def _line_of(err: BaseException) -> int | None:
    """The line of the user's code where ``err`` was raised (the innermost frame in it)."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == FILENAME:
            line = frame.lineno
    return line


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _json_default(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None and type(value).__module__ == "datetime":
        return isoformat()
    raise TypeError(f"it holds a {type(value).__name__} value")


def _encode(value: Any) -> str:
    import json

    return json.dumps(value, default=_json_default, allow_nan=False, ensure_ascii=False)


def _not_json(err: Exception, results: list[Any] | None) -> dict[str, Any]:
    what = "it holds a NaN or infinite number" if "Out of range float" in str(err) else str(err)
    error: dict[str, Any] = {"kind": "not_json", "message": what}
    if results is not None:
        for index, value in enumerate(results):
            try:
                _encode(value)
            except (TypeError, ValueError):
                error["item_index"] = index
                break
    return error


def _run(payload: dict[str, Any]) -> dict[str, Any]:
    mode, code, items = payload["mode"], payload["code"], payload["items"]
    try:
        function = _compile(code, mode)
    except SyntaxError as err:
        return {"kind": "syntax", "message": f"SyntaxError: {err.msg}", "line": err.lineno, "text": err.text}
    index: int | None = None
    try:
        if mode == "all_items":
            result: Any = function(items)
        else:
            result = []
            for index, item in enumerate(items):
                result.append(function(item, index))
    except MemoryError:
        return {"kind": "memory", "item_index": index}
    except BaseException as err:
        return {"kind": "runtime", "message": _describe(err), "line": _line_of(err), "item_index": index}
    try:
        return {"result": _encode(result)}
    except MemoryError:
        return {"kind": "memory"}
    except (TypeError, ValueError) as err:
        return _not_json(err, result if mode == "each_item" else None)


def main() -> None:
    memory_bytes, cpu_seconds = int(sys.argv[1]), int(sys.argv[2])
    runner_pid = os.getpid()
    _apply_limits(memory_bytes, cpu_seconds)
    answer_fd = os.dup(1)
    # Anything else that writes to fds 1 and 2 (C code, os.write, a crash) goes nowhere near the answer.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    console = _Console()
    sys.stdout = sys.stderr = console
    import json

    try:
        try:
            payload = json.loads(sys.stdin.buffer.read())
        except ValueError as err:
            outcome: dict[str, Any] = {"kind": "runtime", "message": f"the items could not be read: {err}"}
        else:
            sys.stdin = io.StringIO()
            outcome = _run(payload)
        if "result" in outcome:
            tail = json.dumps(console.tail())
            data = ('{"ok": true, "result": ' + outcome["result"] + ', "console": ' + tail + "}").encode()
        else:
            data = json.dumps({"ok": False, "error": outcome, "console": console.tail()}).encode()
    except MemoryError:
        data = b'{"ok": false, "error": {"kind": "memory"}, "console": ""}'
    if os.getpid() != runner_pid:
        # A process the code forked (possible only as root) must not answer too.
        os._exit(0)
    # JSON text has no raw newline: the newline tells the parent the answer is complete.
    data += b"\n"
    view = memoryview(data)
    while view:
        view = view[os.write(answer_fd, view) :]
    # Skip atexit handlers and non-daemon threads the code may have left behind.
    os._exit(0)


if __name__ == "__main__":
    main()
