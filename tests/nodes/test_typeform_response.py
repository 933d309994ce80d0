"""Typeform Response (typeform.response) and the typeform_api credential, through the engine against a fake Typeform."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.typeform.credentials import TypeformApiCredential
from tests.fakes.typeform_server import TOKEN, FakeTypeform, fake_typeform_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

FORM = "lT4Z3j"
FIELDS = [
    {"id": "f_name", "ref": "name", "title": "What is your name?", "type": "short_text"},
    {"id": "f_plan", "ref": "plan", "title": "Which plan?", "type": "multiple_choice"},
    {"id": "f_extras", "ref": "extras", "title": "Extras", "type": "multiple_choice"},
    {
        "id": "f_group",
        "ref": "about",
        "title": "About you",
        "type": "group",
        "properties": {
            "fields": [
                {
                    "id": "f_score",
                    "ref": "score",
                    "title": "How likely are you to recommend us?",
                    "type": "opinion_scale",
                }
            ]
        },
    },
    {"id": "f_note_a", "ref": "note_a", "title": "Comments", "type": "long_text"},
    {"id": "f_note_b", "ref": "note_b", "title": "Comments", "type": "long_text"},
]


def answers(name: str, *, plan: str = "Pro", score: int = 9) -> list[dict[str, Any]]:
    return [
        {"field": {"id": "f_name", "type": "short_text", "ref": "name"}, "type": "text", "text": name},
        {
            "field": {"id": "f_plan", "type": "multiple_choice", "ref": "plan"},
            "type": "choice",
            "choice": {"label": plan},
        },
        {
            "field": {"id": "f_extras", "type": "multiple_choice", "ref": "extras"},
            "type": "choices",
            "choices": {"labels": ["Support"], "other": "Swag"},
        },
        {"field": {"id": "f_score", "type": "opinion_scale", "ref": "score"}, "type": "number", "number": score},
        {"field": {"id": "f_note_a", "type": "long_text", "ref": "note_a"}, "type": "text", "text": "Great"},
        {"field": {"id": "f_note_b", "type": "long_text", "ref": "note_b"}, "type": "text", "text": "Thanks"},
    ]


@pytest.fixture
def typeform() -> Iterator[FakeTypeform]:
    with fake_typeform_server() as server:
        server.add_form(FORM, "Customer survey", FIELDS)
        yield server


def responses(
    typeform: FakeTypeform,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(typeform.credential(token))
    return run_node(
        "typeform.response",
        {"form_id": FORM, **parameters},
        items,
        credential_type="typeform_api",
        host=host,
        **settings,
    )


def test_get_many_returns_typeforms_responses_newest_first(typeform: FakeTypeform) -> None:
    for name in ("Ada", "Bob", "Cy"):
        typeform.add_response(FORM, answers(name))

    found = outputs(responses(typeform, {"limit": 2}))

    assert [entry["answers"][0]["text"] for entry in found] == ["Cy", "Bob"]
    assert set(found[0]) >= {"response_id", "token", "submitted_at", "answers", "hidden", "metadata"}
    (request,) = typeform.received("GET", f"/forms/{FORM}/responses")
    assert request.query == {"page_size": "2"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_return_all_pages_back_with_the_before_token(typeform: FakeTypeform) -> None:
    for n in range(2100):
        typeform.add_response(FORM, answers(f"P{n}"))

    found = outputs(responses(typeform, {"return_all": True}))

    assert len(found) == 2100 and found[0]["answers"][0]["text"] == "P2099" and found[-1]["answers"][0]["text"] == "P0"
    pages = typeform.received("GET", f"/forms/{FORM}/responses")
    assert [request.query.get("before") for request in pages] == [None, found[999]["token"], found[1999]["token"]]
    assert {request.query["page_size"] for request in pages} == {"1000"}


def test_filters_reach_typeform(typeform: FakeTypeform) -> None:
    for n in range(10):
        typeform.add_response(FORM, answers(f"P{n}", plan="Pro" if n % 2 else "Free"), completed=n != 9)

    chosen = outputs(
        responses(
            typeform,
            {
                "since": "2026-01-01T11:00:00Z",
                "until": "2026-01-01T16:00:00Z",
                "completed": "completed",
                "query": "{{ $json.plan }}",
                "fields": "f_name, f_plan",
                "return_all": True,
            },
            [{"plan": "Pro"}],
        )
    )
    partial = outputs(responses(typeform, {"completed": "partial"}))

    assert [[answer["text" if answer["type"] == "text" else "choice"] for answer in r["answers"]] for r in chosen] == [
        ["P7", {"label": "Pro"}],
        ["P5", {"label": "Pro"}],
        ["P3", {"label": "Pro"}],
    ]
    assert typeform.received("GET", f"/forms/{FORM}/responses")[0].query == {
        "since": "2026-01-01T11:00:00Z",
        "until": "2026-01-01T16:00:00Z",
        "query": "Pro",
        "fields": "f_name,f_plan",
        "completed": "true",
        "page_size": "1000",
    }
    assert [r["submitted_at"] for r in partial] == [None]


def test_flatten_names_each_answer_by_its_question_and_reads_the_form_once(typeform: FakeTypeform) -> None:
    typeform.add_response(FORM, answers("Ada", score=10))

    flat = outputs(responses(typeform, {"flatten": True}, [{}, {}]))

    assert flat[0] == {
        "What is your name?": "Ada",
        "Which plan?": "Pro",
        "Extras": ["Support", "Swag"],
        "How likely are you to recommend us?": 10,
        "Comments": "Great",
        "Comments (note_b)": "Thanks",
    }
    assert flat[1] == flat[0]
    assert len(typeform.received("GET", f"/forms/{FORM}")) == 1


def test_delete_sends_the_ids_in_batches(typeform: FakeTypeform) -> None:
    made = [typeform.add_response(FORM, answers(f"P{n}"))["response_id"] for n in range(160)]
    doomed = made[:150]

    (deleted,) = outputs(
        responses(typeform, {"operation": "delete", "response_ids": "{{ $json.ids }}"}, [{"ids": doomed}])
    )

    assert deleted == {"form_id": FORM, "deleted_response_ids": doomed}
    batches = typeform.received("DELETE", f"/forms/{FORM}/responses")
    assert [len(request.query["included_response_ids"].split(",")) for request in batches] == [100, 50]
    assert [r["response_id"] for r in typeform.responses[FORM]] == made[150:]


def test_a_wrong_token_says_so_without_showing_it(typeform: FakeTypeform) -> None:
    error = failure(responses(typeform, {}, token="tfp_wrong000"))

    assert error["message"] == (
        f"item 0: Typeform refused reading the responses of form {FORM} (401 AUTHENTICATION_FAILED): "
        "Authentication credentials not found on the Request Headers"
    )
    assert "EU data center" in error["description"]
    assert "tfp_wrong000" not in json.dumps(error)


def test_an_unknown_form_names_the_item(typeform: FakeTypeform) -> None:
    error = failure(responses(typeform, {"form_id": "{{ $json.form }}"}, [{"form": FORM}, {"form": "nope"}]))

    assert error["message"] == (
        "item 1: Typeform refused reading the responses of form nope (404 FORM_NOT_FOUND): "
        "Non existing form with uid nope"
    )
    assert error["item_index"] == 1
    assert "the part after /to/" in error["description"]


def test_a_validation_error_carries_typeforms_details(typeform: FakeTypeform) -> None:
    error = failure(responses(typeform, {"since": "2026-01-31"}))

    assert error["message"] == (
        f"item 0: Typeform refused reading the responses of form {FORM} (400 VALIDATION_ERROR): The request is "
        "invalid (since: since must be a date and time in ISO 8601 format, e.g. 2026-01-31T09:00:00Z)"
    )
    assert error["description"] == "Change what Typeform named above, then retry."


def test_the_rate_limit_says_how_long_to_wait(typeform: FakeTypeform) -> None:
    typeform.rate_limited = 1

    error = failure(responses(typeform, {"operation": "delete", "response_ids": ["a"]}))

    assert error["message"] == (
        f"item 0: Typeform refused deleting 1 response(s) of form {FORM} (429 RATE_LIMITED): Too many requests"
    )
    assert error["description"].startswith("Wait 1 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(typeform: FakeTypeform) -> None:
    (entry,) = outputs(responses(typeform, {"form_id": "gone"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Typeform refused reading the responses of form gone (404")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_typeform(typeform: FakeTypeform) -> None:
    no_form = failure(responses(typeform, {"form_id": " "}))
    no_ids = failure(responses(typeform, {"operation": "delete"}))
    bad_date = failure(responses(typeform, {"until": "tomorrow"}))

    assert "the form id is required" in no_form["message"]
    assert "delete needs at least one response id" in no_ids["message"]
    assert "'tomorrow' is not an ISO 8601 date and time" in bad_date["message"]
    assert typeform.received() == []


def test_the_credential_names_the_account(typeform: FakeTypeform) -> None:
    assert TypeformApiCredential.test_connection(typeform.credential()) == "Connected as Ada (ada@acme.test)"

    with pytest.raises(NodeError) as refused:
        TypeformApiCredential.test_connection(typeform.credential("tfp_revoked"))

    assert refused.value.message.startswith("Typeform refused checking the token (401 AUTHENTICATION_FAILED)")
    assert TypeformApiCredential.parse({"token": TOKEN}).api_url == "https://api.typeform.com"
