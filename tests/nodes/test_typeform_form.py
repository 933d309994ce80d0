"""Typeform Form (typeform.form), through the engine against a fake Typeform."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.typeform_server import TOKEN, FakeTypeform, fake_typeform_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

QUESTION = {"id": "f_name", "ref": "name", "title": "What is your name?", "type": "short_text"}


@pytest.fixture
def typeform() -> Iterator[FakeTypeform]:
    with fake_typeform_server() as server:
        yield server


def form(
    typeform: FakeTypeform,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(typeform.credential(token))
    return run_node("typeform.form", parameters, items, credential_type="typeform_api", host=host, **settings)


def test_get_reads_a_form_with_its_questions(typeform: FakeTypeform) -> None:
    typeform.add_form("abc123", "Signup", [QUESTION])

    (found,) = outputs(form(typeform, {"form_id": "{{ $json.id }}"}, [{"id": "abc123"}]))

    assert (found["id"], found["title"], found["fields"]) == ("abc123", "Signup", [QUESTION])
    assert typeform.received("GET", "/forms/abc123")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_get_many_pages_to_the_page_count_and_filters(typeform: FakeTypeform) -> None:
    for n in range(1, 451):
        typeform.add_form(
            f"f{n}", f"{'Survey' if n % 3 else 'Quiz'} {n}", [QUESTION], workspace="ws2" if n > 400 else "ws1"
        )

    everything = outputs(form(typeform, {"operation": "get_many", "return_all": True}))
    quizzes = outputs(form(typeform, {"operation": "get_many", "search": "quiz", "limit": 4}))
    second_workspace = outputs(form(typeform, {"operation": "get_many", "workspace_id": "ws2", "return_all": True}))

    assert len(everything) == 450 and everything[0]["id"] == "f1" and "fields" not in everything[0]
    assert [entry["title"] for entry in quizzes] == ["Quiz 3", "Quiz 6", "Quiz 9", "Quiz 12"]
    assert len(second_workspace) == 50
    requests = typeform.received("GET", "/forms")
    assert [(request.query["page"], request.query["page_size"]) for request in requests[:3]] == [
        ("1", "200"),
        ("2", "200"),
        ("3", "200"),
    ]
    assert requests[3].query == {"search": "quiz", "page": "1", "page_size": "4"}
    assert requests[4].query == {"workspace_id": "ws2", "page": "1", "page_size": "200"}


def test_errors_name_the_item_and_continue_on_fail(typeform: FakeTypeform) -> None:
    typeform.add_form("abc123", "Signup", [QUESTION])

    missing = failure(form(typeform, {"form_id": "{{ $json.id }}"}, [{"id": "abc123"}, {"id": "zzz"}]))
    (entry,) = outputs(form(typeform, {"form_id": "zzz"}, on_error="continue"))
    wrong_token = failure(form(typeform, {"operation": "get_many"}, token="tfp_bad"))
    no_id = failure(form(typeform, {"form_id": ""}))

    assert (
        missing["message"]
        == "item 1: Typeform refused reading form zzz (404 FORM_NOT_FOUND): Non existing form with uid zzz"
    )
    assert missing["item_index"] == 1
    assert entry["error"] == missing["message"].replace("item 1", "item 0")
    assert wrong_token["message"].startswith("item 0: Typeform refused listing forms (401 AUTHENTICATION_FAILED)")
    assert "get needs the form id" in no_id["message"]
