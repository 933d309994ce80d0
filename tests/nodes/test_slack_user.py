"""Slack User (slack.user) run through the engine against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Slack
from tests.nodes.integrations import failure, host_for, outputs, run_node


def user(slack: Slack, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    return run_node("slack.user", parameters, items, credential_type="slack_api", host=host_for(slack.credential))


def test_info_and_lookup_by_email_output_the_members_profile(slack: Slack) -> None:
    ada = slack.workspace.add_user("ada", "ada@example.com")

    (by_id,) = outputs(user(slack, {"user": "{{ $json.id }}"}, [{"id": ada["id"]}]))
    (by_email,) = outputs(user(slack, {"operation": "lookup_by_email", "email": "ADA@example.com"}))

    assert by_id == by_email == ada


def test_an_unknown_email_fails_with_the_item(slack: Slack) -> None:
    slack.workspace.add_user("ada", "ada@example.com")

    error = failure(
        user(slack, {"operation": "lookup_by_email", "email": "{{ $json.email }}"}, [{"email": "x@example.com"}])
    )

    assert error["message"] == "item 0: Slack refused looking up x@example.com: users_not_found"
    assert error["item_index"] == 0


def test_lookup_needs_an_email_address(slack: Slack) -> None:
    error = failure(user(slack, {"operation": "lookup_by_email", "email": "ada"}))

    assert "lookup_by_email needs an email address" in error["message"]
    assert slack.server.calls == []
