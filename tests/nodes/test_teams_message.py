"""Microsoft Teams Message (teams.message) through the engine against a fake incoming webhook and Workflows URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.teams_server import CARD_TYPE, RETRY_AFTER, WORKFLOW_SIG, FakeTeams, fake_teams_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with fake_teams_server() as server:
        yield server


def message(
    teams: FakeTeams,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    url: str | None = None,
    **settings: Any,
) -> RunResult:
    host = host_for({"webhook_url": url or teams.webhook_url})
    return run_node("teams.message", parameters, items, credential_type="teams_webhook", host=host, **settings)


def card_of(posted: dict[str, Any]) -> dict[str, Any]:
    (attachment,) = posted["attachments"]
    assert attachment["contentType"] == CARD_TYPE
    return attachment["content"]


def test_send_text_posts_once_per_item_and_returns_teams_answer(teams: FakeTeams) -> None:
    sent = outputs(message(teams, {"text": "Order **{{ $json.id }}** shipped"}, [{"id": 7}, {"id": 8}]))

    assert sent == [{"status_code": 200, "response": "1"}, {"status_code": 200, "response": "1"}]
    assert teams.posted == [{"text": "Order **7** shipped"}, {"text": "Order **8** shipped"}]


def test_send_card_builds_an_adaptive_card_with_facts_and_buttons(teams: FakeTeams) -> None:
    parameters = {
        "operation": "send_card",
        "title": "Deploy {{ $json.version }}",
        "text": "All checks passed.",
        "facts": json.dumps([{"title": "Took", "value": "3 min"}, {"name": "By", "value": "Ada"}]),
        "buttons": [{"title": "Open run", "url": "https://ci.example.com/runs/{{ $json.run }}"}],
    }

    outputs(message(teams, parameters, [{"version": "1.4", "run": 9}]))

    card = card_of(teams.posted[0])
    assert teams.posted[0]["type"] == "message"
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"] == [
        {"type": "TextBlock", "text": "Deploy 1.4", "size": "Large", "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": "All checks passed.", "wrap": True},
        {"type": "FactSet", "facts": [{"title": "Took", "value": "3 min"}, {"title": "By", "value": "Ada"}]},
    ]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open run", "url": "https://ci.example.com/runs/9"}]


def test_send_card_json_wraps_a_card_or_sends_a_whole_message(teams: FakeTeams) -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Raw"}]}
    whole = {"type": "message", "attachments": [{"contentType": CARD_TYPE, "content": card}]}

    outputs(message(teams, {"operation": "send_card_json", "card": json.dumps(card)}))
    outputs(message(teams, {"operation": "send_card_json", "card": whole}))

    assert card_of(teams.posted[0]) == card
    assert teams.posted[1] == whole


def test_a_workflows_url_takes_a_card_and_answers_202(teams: FakeTeams) -> None:
    (sent,) = outputs(message(teams, {"operation": "send_card", "title": "Hello"}, url=teams.workflow_url))

    assert sent == {"status_code": 202, "response": ""}
    assert card_of(teams.posted[0])["body"][0]["text"] == "Hello"


def test_a_workflows_url_refuses_plain_text_with_its_error(teams: FakeTeams) -> None:
    error = failure(message(teams, {"text": "plain"}, url=teams.workflow_url))

    assert error["message"] == (
        "item 0: posting the message to Teams: Teams refused it (400): "
        "InvalidRequestContent: The message must have an Adaptive Card in 'attachments'."
    )
    assert "Workflows URLs take only Adaptive Cards" in error["description"]


def test_a_wrong_signature_fails_clearly_without_showing_the_url(teams: FakeTeams) -> None:
    wrong = teams.workflow_url.replace(WORKFLOW_SIG, "stolen-or-stale-signature")

    error = failure(message(teams, {"operation": "send_card", "title": "x"}, url=wrong))

    assert error["message"].startswith("item 0: posting the message to Teams: Teams refused it (401): ")
    assert "copy the whole URL again" in error["description"]
    assert "stolen-or-stale-signature" not in json.dumps(error)


def test_a_removed_webhook_and_an_unreachable_host_say_what_to_do(teams: FakeTeams) -> None:
    removed = failure(message(teams, {"text": "x"}, url=teams.webhook_url + "0"))
    unreachable = failure(message(teams, {"text": "x"}, url="http://127.0.0.1:9/webhookb2/secret-part"))

    assert removed["message"] == (
        "item 0: posting the message to Teams: Teams refused it (404): Webhook not found or connector removed."
    )
    assert "create a new one" in removed["description"]
    assert unreachable["message"].startswith("item 0: posting the message to Teams failed: 127.0.0.1 could not be")
    assert "secret-part" not in json.dumps(unreachable)


def test_throttling_is_an_error_whether_the_status_or_the_body_says_so(teams: FakeTeams) -> None:
    teams.rate_limited = 1
    limited = failure(message(teams, {"operation": "send_card", "title": "x"}, url=teams.workflow_url))
    teams.throttled = True
    throttled = failure(message(teams, {"text": "x"}))

    assert limited["message"].endswith("Teams refused it (429): WorkflowRequestsThrottled: Rate limit is exceeded.")
    assert f"wait {RETRY_AFTER} seconds" in limited["description"]
    assert throttled["message"].startswith(
        "item 0: posting the message to Teams: Teams refused it (429): Microsoft Teams endpoint returned HTTP error 429"
    )
    assert "wait a minute" in throttled["description"]
    assert teams.posted == []


def test_a_card_teams_cannot_read_is_refused_with_its_answer(teams: FakeTeams) -> None:
    not_adaptive = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.hero"}]}

    error = failure(message(teams, {"operation": "send_card_json", "card": not_adaptive}))

    assert error["message"].endswith("Teams refused it (400): Webhook Bad Request - Invalid Adaptive Card attachment.")


def test_continue_on_fail_turns_the_error_into_an_item(teams: FakeTeams) -> None:
    (entry,) = outputs(message(teams, {"text": "x"}, url=teams.webhook_url + "0", on_error="continue"))

    assert entry["error"].endswith("Teams refused it (404): Webhook not found or connector removed.")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_teams(teams: FakeTeams) -> None:
    no_text = failure(message(teams, {"text": " "}))
    empty_card = failure(message(teams, {"operation": "send_card"}))
    no_json = failure(message(teams, {"operation": "send_card_json"}))
    not_a_card = failure(message(teams, {"operation": "send_card_json", "card": {"body": []}}))
    bad_fact = failure(message(teams, {"operation": "send_card", "title": "t", "facts": [{"title": "x"}]}))
    bad_button = failure(
        message(teams, {"operation": "send_card", "title": "t", "buttons": [{"title": "Go", "url": "ftp://x"}]})
    )

    assert "send_text needs a text" in no_text["message"]
    assert "send_card needs a title, a text or facts" in empty_card["message"]
    assert "send_card_json needs the card JSON" in no_json["message"]
    assert "must be an Adaptive Card" in not_a_card["message"]
    assert "each of the facts needs a title and a value" in bad_fact["message"]
    assert "the button 'Go' needs a url" in bad_button["message"]
    assert teams.requests == []
