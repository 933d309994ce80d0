"""The Form node ("human.form") through the engine: it pauses with its form, then resumes with the answers.

The studio side (the form page, checking answers, single use, deadlines) is in tests/services/test_waits.py.
"""

from __future__ import annotations

import json

from hitl_studio.engine.graph import parse_workflow, validate
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner
from hitl_studio.engine.states import RunStatus
from nodes.human.form import FormNode, resume_items
from nodes.registry import get_registry
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


def flow(**params: object) -> dict:
    parameters = {"title": "About {{ $json.order }}", "form_schema": SCHEMA, **params}
    return workflow(
        [node("Start", "trigger.manual"), node("Ask", "human.form", parameters), node("Done", "core.no_op")],
        [("Start", "Ask"), ("Ask", "Done")],
    )


def test_the_node_pauses_with_its_form_evaluated_for_the_first_item() -> None:
    result = run(flow(timeout_seconds=60), [{"order": "A1"}, {"order": "B2"}])

    assert result.status is RunStatus.WAITING and result.waiting_node == "Ask"
    assert result.wait is not None and result.wait.kind == "form"
    assert result.wait.data == {
        "title": "About A1",
        "description": "",
        "form_schema": SCHEMA,
        "submit_label": "Submit",
        "timeout_seconds": 60,
    }
    json.dumps(result.frontier)


def test_it_resumes_with_the_answers_merged_into_each_item() -> None:
    data = flow()
    paused = run(data, [{"order": "A1"}])
    items = resume_items([Item({"order": "A1"})], {"name": "Jo"}, "2026-01-01T00:00:00+00:00")

    resumed = Runner(parse_workflow(data), get_registry(), LocalHost()).resume(paused.frontier or {}, [items])

    assert resumed.status is RunStatus.SUCCEEDED
    assert output_json(resumed, "Done") == [
        {"order": "A1", "name": "Jo", "form": {"submitted_at": "2026-01-01T00:00:00+00:00"}}
    ]


def test_the_schema_must_be_an_object_schema() -> None:
    assert set(FormNode.describe()["parameters"]["properties"]) == {
        "title",
        "description",
        "form_schema",
        "submit_label",
        "timeout_seconds",
    }
    for bad in ({"type": "array"}, {"type": "object", "properties": {"n": {"type": "numbr"}}}):
        problems = validate(parse_workflow(flow(form_schema=bad)), get_registry())
        assert [(problem.node, problem.parameter) for problem in problems] == [("Ask", "form_schema")]
