"""Code (core.code) run through the engine: transforms, result shapes, errors, and the child's limits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import nodes.core.code as code_node
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


def code_workflow(code: str, **parameters: Any) -> dict[str, Any]:
    settings = parameters.pop("settings", {})
    return workflow(
        [MANUAL, node("Code", "core.code", {"code": code, **parameters}, **settings), node("After", "core.no_op")],
        [("Start", "Code"), ("Code", "After")],
    )


def error_of(result: Any) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Code"
    assert "After" not in result.last_outputs
    return result.error


def gone(pid: int, within: float = 3.0) -> bool:
    """The process no longer runs: it does not exist, or it is a zombie waiting to be reaped."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def still_works() -> None:
    result = run(code_workflow("return [{'n': len(items)}]"), [{}, {}])
    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Code") == [{"n": 2}]


def test_the_default_code_runs() -> None:
    result = run(workflow([MANUAL, node("Code", "core.code")], [("Start", "Code")]), [{"id": 1}])

    assert output_json(result, "Code") == [{"id": 1, "processed": True}]


def test_all_items_mode_transforms_the_list() -> None:
    code = """
total = sum(item["price"] for item in items)
return [{"name": item["name"], "share": round(item["price"] / total, 2)} for item in items]
"""
    result = run(code_workflow(code), [{"name": "a", "price": 1}, {"name": "b", "price": 3}])

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Code") == [{"name": "a", "share": 0.25}, {"name": "b", "share": 0.75}]
    assert output_json(result, "After") == output_json(result, "Code")


def test_all_items_mode_accepts_a_single_object_and_the_json_form() -> None:
    single = run(code_workflow("return {'count': len(items)}"), [{}, {}, {}])
    wrapped = run(
        code_workflow("return [{'json': {'id': i['id']}, 'paired_item': 1} for i in items[1:]]"),
        [
            {"id": 0},
            {"id": 1},
        ],
    )

    assert output_json(single, "Code") == [{"count": 3}]
    assert output_json(wrapped, "Code") == [{"id": 1}]
    assert wrapped.last_outputs["Code"][0][0].paired_item == 1


def test_each_item_mode_transforms_and_none_drops_the_item() -> None:
    code = """
if item["n"] % 2:
    return None
item["index"] = index
item["double"] = item["n"] * 2
return item
"""
    result = run(code_workflow(code, mode="each_item"), [{"n": 0}, {"n": 1}, {"n": 2}])

    assert output_json(result, "Code") == [{"n": 0, "index": 0, "double": 0}, {"n": 2, "index": 2, "double": 4}]
    assert [item.paired_item for item in result.last_outputs["Code"][0]] == [0, 2]


def test_each_item_mode_can_split_an_item_into_several() -> None:
    result = run(code_workflow("return [{'tag': t} for t in item['tags']]", mode="each_item"), [{"tags": ["a", "b"]}])

    assert output_json(result, "Code") == [{"tag": "a"}, {"tag": "b"}]
    assert [item.paired_item for item in result.last_outputs["Code"][0]] == [0, 0]


def test_files_stay_with_their_paired_input_item_and_cannot_be_forged() -> None:
    reference = {"id": "file-1", "file_name": "a.txt"}
    pinned = {"Start": [Item({"id": 1}, binary={"data": reference}), Item({"id": 2})]}

    each = run(code_workflow("return {'seen': item['id']}", mode="each_item"), [], pinned=pinned)
    paired = run(code_workflow("return [{'json': {}, 'paired_item': 0}, {'other': True}]"), [], pinned=pinned)
    forged = run(code_workflow("return [{'json': {}, 'binary': {'data': {'id': 'someone-elses'}}}]"), [], pinned=pinned)

    assert [item.binary for item in each.last_outputs["Code"][0]] == [{"data": reference}, {}]
    assert [item.binary for item in paired.last_outputs["Code"][0]] == [{"data": reference}, {}]
    assert "cannot attach files" in error_of(forged)["message"]


def test_helpers_are_available_without_import() -> None:
    code = """
return [{
    "sha": hashlib.sha256(b"x").hexdigest()[:8],
    "root": math.sqrt(16),
    "mean": statistics.mean([1, 2, 3]),
    "b64": base64.b64encode(b"hi").decode(),
    "when": datetime.date(2024, 1, 2),
    "counts": dict(collections.Counter("aab")),
    "parsed": json.loads('{"a": 1}'),
    "digits": re.findall(r"\\d", "a1b2"),
}]
"""
    result = run(code_workflow(code), [{}])

    assert output_json(result, "Code") == [
        {
            "sha": "2d711642",
            "root": 4.0,
            "mean": 2,
            "b64": "aGk=",
            "when": "2024-01-02",
            "counts": {"a": 2, "b": 1},
            "parsed": {"a": 1},
            "digits": ["1", "2"],
        }
    ]


def test_braces_in_the_code_are_python_not_expressions() -> None:
    result = run(code_workflow("return [{'text': '{{ $json.n }}', 'f': f'{{{len(items)}}}'}]"), [{"n": 1}])

    assert output_json(result, "Code") == [{"text": "{{ $json.n }}", "f": "{1}"}]


def test_printing_does_not_break_the_result() -> None:
    code = """
import os, sys
print("hello", {"not": "json"})
print("to stderr", file=sys.stderr)
sys.__stdout__.write("raw")
os.write(1, b"}{ garbage on fd 1")
os.write(2, b"garbage on fd 2")
for _ in range(100_000):
    print("a long log line")
return items
"""
    result = run(code_workflow(code), [{"id": 1}])

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Code") == [{"id": 1}]


def test_a_syntax_error_names_the_line() -> None:
    code = "total = 0\nfor item in items\n    total += 1\nreturn items\n"

    error = error_of(run(code_workflow(code), [{}]))

    assert error["message"].startswith("SyntaxError:")
    assert "(line 2)" in error["message"]
    assert "Line 2: for item in items" in error["description"]


def test_a_runtime_error_names_the_line_the_item_and_shows_prints() -> None:
    code = """
print("working on", index)
ratio = 10 / item["n"]
return {"ratio": ratio}
"""
    error = error_of(run(code_workflow(code, mode="each_item"), [{"n": 5}, {"n": 0}]))

    assert error["message"] == "ZeroDivisionError: division by zero (line 3, item 1)"
    assert error["item_index"] == 1
    assert 'Line 3: ratio = 10 / item["n"]' in error["description"]
    assert "working on 1" in error["description"]


def test_an_error_inside_a_helper_function_points_at_the_code_line() -> None:
    code = "def parse(text):\n    return json.loads(text)\n\nreturn [parse(i['raw']) for i in items]\n"

    error = error_of(run(code_workflow(code), [{"raw": "{oops"}]))

    assert error["message"].startswith("JSONDecodeError:")
    assert "(line 2)" in error["message"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("return 5", "the code must return a list of objects; it returned int"),
        ("x = 1", "the code must return a list of objects; it returned nothing"),
        ("return [1, 2]", "the code must return a list of objects; one entry is int"),
        (
            "return [{'d': decimal.Decimal('1.5')}]",
            "the code's result cannot be passed on as JSON: it holds a Decimal value",
        ),
        (
            "return [{'x': float('nan')}]",
            "the code's result cannot be passed on as JSON: it holds a NaN or infinite number",
        ),
    ],
)
def test_a_wrong_result_is_explained(code: str, expected: str) -> None:
    assert error_of(run(code_workflow(code), [{}]))["message"].startswith(expected)


def test_a_wrong_result_in_each_item_mode_names_the_item() -> None:
    error = error_of(run(code_workflow("return item if index == 0 else 'oops'", mode="each_item"), [{}, {}]))

    assert error["message"].startswith("the code must return an object, a list of objects or None for item 1")
    assert error["item_index"] == 1


@pytest.mark.parametrize(
    ("code", "memory_mb"),
    [
        ("x = [0] * (10**10)\nreturn items", 256),
        ("x = bytearray(10 * 1024**3)\nreturn items", 256),
        ("chunks = []\nwhile True:\n    chunks.append(bytearray(1024**2))", 64),
    ],
    ids=["list", "bytearray", "growing"],
)
def test_running_out_of_memory_is_reported_and_the_studio_is_fine(code: str, memory_mb: int) -> None:
    error = error_of(run(code_workflow(code, memory_mb=memory_mb), [{}]))

    assert error["message"] == f"the code ran out of memory (limit {memory_mb} MB)"
    still_works()


def test_an_endless_loop_is_stopped_with_its_whole_process_group(tmp_path: Path) -> None:
    # As root the code can fork (RLIMIT_NPROC does not bind root); the helper must die with it.
    code = f"""
import os
try:
    if os.fork() == 0:
        open({str(tmp_path / "helper")!r}, "w").write(str(os.getpid()))
        while True:
            pass
except OSError:
    pass
open({str(tmp_path / "main")!r}, "w").write(str(os.getpid()))
while True:
    pass
"""
    started = time.monotonic()
    error = error_of(run(code_workflow(code, timeout_seconds=1), [{}]))

    assert error["message"] == "the code did not finish within 1 s and was stopped"
    assert time.monotonic() - started < 3
    assert gone(int((tmp_path / "main").read_text()))
    if (tmp_path / "helper").exists():
        assert gone(int((tmp_path / "helper").read_text()))
    still_works()


def test_a_forked_helper_neither_delays_the_answer_nor_survives_it(tmp_path: Path) -> None:
    code = f"""
import os, time
try:
    child = os.fork()
except OSError:
    return [{{"forked": False}}]
if child == 0:
    time.sleep(60)
    os._exit(0)
with open({str(tmp_path / "pid")!r}, "w") as f:
    f.write(str(child))
return [{{"forked": True}}]
"""
    started = time.monotonic()
    result = run(code_workflow(code), [{}])

    assert result.status is RunStatus.SUCCEEDED
    assert time.monotonic() - started < 3
    if output_json(result, "Code") == [{"forked": True}]:
        assert gone(int((tmp_path / "pid").read_text()))


def test_the_engine_node_timeout_also_stops_the_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    pass\n"

    error = error_of(run(code_workflow(code, timeout_seconds=30, settings={"timeout": 0.5}), [{}]))

    assert "timed out" in error["message"]
    assert gone(int(pid_file.read_text()))


def test_the_code_gets_no_studio_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITL_SECRET_KEY_TEST_LEAK", "x")

    result = run(code_workflow("import os\nreturn [{'env': dict(os.environ), 'cwd': os.getcwd()}]"), [{}])

    [data] = output_json(result, "Code")
    assert "HITL_SECRET_KEY_TEST_LEAK" not in data["env"]
    assert set(data["env"]) <= {"LC_CTYPE"}  # set by Python itself for the C locale
    assert not Path(data["cwd"]).exists()  # a scratch directory, removed afterwards


def test_limits_are_set_in_the_child() -> None:
    code = "import resource\nreturn [{'as': resource.getrlimit(resource.RLIMIT_AS)[0], 'core': resource.getrlimit(resource.RLIMIT_CORE)[0]}]"  # noqa: E501

    result = run(code_workflow(code, memory_mb=128), [{}])

    assert output_json(result, "Code") == [{"as": 128 * 1024**2, "core": 0}]


def test_a_result_larger_than_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_node, "MAX_RESULT_BYTES", 1024**2)

    error = error_of(run(code_workflow("return [{'s': 'x' * (2 * 1024**2)}]"), [{}]))

    assert error["message"] == "the code returned more than 1 MB of data"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import os\nos._exit(3)", "the code's process exited (code 3) without a result"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "the code's process crashed (SIGSEGV)"),
    ],
    ids=["exit", "segfault"],
)
def test_the_studio_keeps_working_after_the_child_crashes(code: str, expected: str) -> None:
    assert error_of(run(code_workflow(code), [{}]))["message"] == expected
    still_works()
    still_works()


def test_a_value_that_is_not_json_names_the_item_in_each_item_mode() -> None:
    code = "return {'d': decimal.Decimal('1.5')} if index == 1 else item"

    error = error_of(run(code_workflow(code, mode="each_item"), [{}, {}]))

    assert error["message"] == "the code's result cannot be passed on as JSON (item 1): it holds a Decimal value"
    assert error["item_index"] == 1


def test_braces_in_code_are_python_not_expressions_when_saving() -> None:
    from hitl_studio.engine.graph import parse_workflow, validate
    from nodes.registry import get_registry

    code = 'return [{"text": f"{{literal}} {len(items)}"}]'
    data = workflow([node("Start", "trigger.manual"), node("Code", "core.code", {"code": code})], [("Start", "Code")])

    assert validate(parse_workflow(data), get_registry()) == []
    assert output_json(run(data, [{"a": 1}]), "Code") == [{"text": "{literal} 1"}]
