"""What the canvas receives: cards and handles from the registry, run statuses from storage and from events."""

from __future__ import annotations

from hitl_studio import events
from hitl_studio.models.users import Role
from hitl_studio.services import executions, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from hitl_studio.ui.editor import catalog, document, run_view
from tests.factories import make_user
from tests.runs import wait_for_run
from tests.workflows import node, workflow


def _flow() -> dict:
    return document.with_ids(
        workflow(
            [
                node("Start", "trigger.manual"),
                node(
                    "Big?", "core.if", {"conditions": [{"left": "{{ $json.amount }}", "operator": "gt", "right": 100}]}
                ),
                node("Ask", "human.approval", {"title": "Refund?", "approvers": ["a@example.com"]}),
                node(
                    "Tag",
                    "core.set",
                    {"assignments": [{"name": "small", "value": True}]},
                    on_error="continue_error_output",
                ),
            ],
            [("Start", "Big?"), ("Big?", 0, "Ask"), ("Big?", 1, "Tag")],
        )
    )


def test_cards_have_one_handle_per_declared_input_and_output() -> None:
    graph = catalog.canvas_graph(_flow(), version=3, fit_key="w:1", problems={"Ask": "title: required"})
    cards = {card["name"]: card for card in graph["nodes"]}
    assert cards["Start"]["trigger"] and cards["Start"]["inputs"] == []
    assert cards["Big?"]["outputs"] == ["true", "false"]
    assert cards["Ask"]["outputs"] == ["approved", "rejected", "timeout"]
    assert cards["Ask"]["subtitle"] == "Refund?", "the Approval card shows its title"
    assert cards["Ask"]["problem"] == "title: required"
    assert cards["Tag"]["outputs"] == ["main", "error"], "routing errors to an output adds a handle"
    assert graph["version"] == 3 and graph["fit_key"] == "w:1"
    assert len(graph["edges"]) == 3


def test_edges_to_missing_handles_and_unknown_types_are_not_drawn() -> None:
    doc = _flow()
    doc["connections"]["Big?"]["main"].append([{"node": "Tag", "type": "main", "index": 0}])  # a third IF output
    doc["nodes"].append({"id": "x", "name": "Gone", "type": "acme.gone", "position": [0, 0], "parameters": {}})
    graph = catalog.canvas_graph(doc, version=1, fit_key="f")
    assert len(graph["edges"]) == 3
    gone = next(card for card in graph["nodes"] if card["name"] == "Gone")
    assert gone["problem"] == "This node type is not installed."


def test_palette_groups_every_node_type_by_category() -> None:
    sections = catalog.palette()
    types = [entry["type"] for section in sections for entry in section["nodes"]]
    assert sorted(types) == sorted(catalog.descriptions())
    assert sections[0]["label"] == "Triggers"
    human = next(section for section in sections if section["key"] == "human")
    assert "human.approval" in [entry["type"] for entry in human["nodes"]]


def test_a_stored_run_and_its_live_events_give_the_same_cards(sqlite_database: Settings) -> None:
    builder = make_user(Role.BUILDER)
    flow = workflow(
        [
            node("Start", "trigger.manual"),
            node("Big?", "core.if", {"conditions": [{"left": "{{ $json.amount }}", "operator": "gt", "right": 100}]}),
            node("Tag", "core.set", {"assignments": [{"name": "big", "value": True}]}),
        ],
        [("Start", "Big?"), ("Big?", 0, "Tag")],
    )
    saved = workflows.create_workflow(WorkflowInput(**flow), actor=builder)
    live = run_view.RunView()
    with events.get_bus().subscribe() as subscription:
        run = executions.start_execution(saved.id, [{"amount": 150}, {"amount": 5}])
        live.execution_id = run.id
        wait_for_run(run.id)
        batch = []
        while (event := subscription.get(0.5)) is not None:
            batch.append(event)
    changed, settled = run_view.apply_events(live, batch)
    stored = run_view.load_run(run.id)

    assert changed and settled
    assert stored.status == live.status == "succeeded"
    assert stored.statuses["Big?"]["items"] == live.statuses["Big?"]["items"] == [1, 1]
    assert stored.statuses["Tag"]["total"] == live.statuses["Tag"]["total"] == 1
    assert stored.inputs["Tag"] == [{"amount": 150}]
    assert stored.outputs["Tag"] == [[{"amount": 150, "big": True}]]
    ids = {"Start": "s", "Big?": "b", "Tag": "t"}
    assert set(run_view.card_statuses(stored, ids)) == {"s", "b", "t"}
    assert run_view.apply_events(run_view.RunView(execution_id="other"), batch) == (False, False)


def test_a_run_starting_changes_the_cards_but_only_a_pause_or_an_end_is_re_read() -> None:
    view = run_view.RunView(execution_id="r1", status="queued")
    running = [{"type": "execution.status", "execution_id": "r1", "status": "running"}]
    node = [{"type": "node.finished", "execution_id": "r1", "node": "A", "status": "succeeded", "items": [2]}]
    waiting = [{"type": "execution.status", "execution_id": "r1", "status": "waiting"}]

    assert run_view.apply_events(view, running) == (True, False)
    assert run_view.apply_events(view, node) == (True, False)
    assert view.statuses["A"]["total"] == 2
    assert run_view.apply_events(view, waiting) == (True, True)
