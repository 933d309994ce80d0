"""What the approver's form shows first, for agents' requests and for a workflow's Approval node."""

from __future__ import annotations

from hitl_studio.approvals.form_render import initial_values

SCHEMA = {"type": "object", "properties": {"amount": {"type": "number"}, "note": {"type": "string", "default": "-"}}}


def test_an_agents_action_data_prefills_matching_fields_and_defaults_the_rest() -> None:
    assert initial_values(SCHEMA, {"amount": 250, "other": 1}) == {"amount": 250, "note": "-"}


def test_a_workflow_approval_prefills_from_its_first_item() -> None:
    data = {"items": [{"amount": 150, "customer": "ACME"}, {"amount": 9}]}
    assert initial_values(SCHEMA, data) == {"amount": 150, "note": "-"}


def test_items_beside_other_fields_are_an_agents_own_data() -> None:
    assert initial_values(SCHEMA, {"items": [{"amount": 1}], "amount": 7}) == {"amount": 7, "note": "-"}
    assert initial_values(SCHEMA, {"items": []}) == {"note": "-"}
