"""Debug Helper (data.debug_helper) run through the engine: pass-through, deliberate errors, seeded random data."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import date
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.debug_helper"


def debug(
    items: list[dict[str, Any]] | None = None, settings: dict[str, Any] | None = None, **parameters: Any
) -> RunResult:
    data = workflow(
        [node("Start", "trigger.manual"), node("Debug", TYPE, parameters, **(settings or {}))], [("Start", "Debug")]
    )
    return run(data, items if items is not None else [{}])


def generated(**parameters: Any) -> list[dict[str, Any]]:
    result = debug(operation="random_data", **parameters)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "Debug")


def luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def test_do_nothing_passes_items_on_unchanged() -> None:
    result = debug([{"a": 1}, {"b": [2]}])

    assert output_json(result, "Debug") == [{"a": 1}, {"b": [2]}]


def test_throw_error_as_a_generic_exception_fails_the_run() -> None:
    result = debug(operation="throw_error", error_type="exception", message="kaput")

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert (result.error["message"], result.error["type"]) == ("RuntimeError: kaput", "RuntimeError")


def test_a_thrown_node_error_carries_the_message_and_can_be_continued() -> None:
    failed = debug([{"why": "testing"}], operation="throw_error", message="stop: {{ $json.why }}")
    continued = debug([{}], settings={"on_error": "continue"}, operation="throw_error", message="soft")

    assert failed.error is not None
    assert (failed.error["message"], failed.error["type"]) == ("stop: testing", "NodeError")
    assert continued.status is RunStatus.SUCCEEDED
    assert output_json(continued, "Debug")[0]["error"] == "soft"


@pytest.mark.parametrize(
    "kind", ["users", "addresses", "uuids", "numbers", "lorem", "nanoid", "ip_addresses", "credit_cards"]
)
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(kind: str) -> None:
    first = generated(kind=kind, count=5, seed=42)
    again = generated(kind=kind, count=5, seed=42)
    other = generated(kind=kind, count=5, seed=43)

    assert len(first) == 5
    assert first == again
    assert first != other


def test_users_have_a_name_an_example_email_and_a_birthday() -> None:
    users = generated(kind="users", count=50, seed=1)

    for user in users:
        assert set(user) == {"id", "name", "email", "birthday"}
        assert uuid.UUID(user["id"]).version == 4
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", user["name"])
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)", user["email"])
        assert date(1950, 1, 1) <= date.fromisoformat(user["birthday"]) < date(2006, 1, 1)
    assert len({user["id"] for user in users}) == 50


def test_addresses_numbers_lorem_and_nanoids_follow_their_options() -> None:
    addresses = generated(kind="addresses", count=20, seed=3)
    numbers = generated(kind="numbers", count=200, seed=3, minimum=-5, maximum=5)
    lorem = generated(kind="lorem", count=3, seed=3, sentences=4)
    nanoids = generated(kind="nanoid", count=20, seed=3, nanoid_length=10)

    assert all(
        set(a) == {"street", "city", "postcode", "country"} and re.fullmatch(r"\d{5}", a["postcode"]) for a in addresses
    )
    assert {row["number"] for row in numbers} == set(range(-5, 6))
    assert all(row["text"].count(".") == 4 and row["text"][0].isupper() for row in lorem)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{10}", row["nanoid"]) for row in nanoids)


def test_ip_addresses_parse_in_the_chosen_version() -> None:
    v4 = generated(kind="ip_addresses", count=20, seed=5)
    v6 = generated(kind="ip_addresses", count=20, seed=5, ip_version="v6")

    assert all(ipaddress.ip_address(row["ip"]).version == 4 == row["version"] for row in v4)
    assert all(ipaddress.ip_address(row["ip"]).version == 6 == row["version"] for row in v6)


def test_credit_card_numbers_pass_luhn_match_their_brand_and_are_marked_as_test() -> None:
    cards = generated(kind="credit_cards", count=100, seed=7)

    for card in cards:
        assert card["test"] is True
        assert luhn_ok(card["number"])
        assert not luhn_ok(card["number"][:-1] + str((int(card["number"][-1]) + 1) % 10))
        if card["brand"] == "amex":
            assert re.fullmatch(r"3[47]\d{13}", card["number"]) and len(card["cvc"]) == 4
        elif card["brand"] == "visa":
            assert re.fullmatch(r"4\d{15}", card["number"]) and len(card["cvc"]) == 3
        else:
            assert re.fullmatch(r"5[1-5]\d{14}", card["number"])
        assert re.fullmatch(r"(0[1-9]|1[0-2])/3\d", card["expiry"])
    assert {card["brand"] for card in cards} == {"visa", "mastercard", "amex"}


def test_one_item_with_a_list_and_a_bad_range() -> None:
    rows = generated(kind="uuids", count=3, seed=9, single_item=True, output_field="ids")
    failed = debug(operation="random_data", kind="numbers", minimum=10, maximum=1)

    assert len(rows) == 1 and [uuid.UUID(row["uuid"]).version for row in rows[0]["ids"]] == [4, 4, 4]
    assert failed.error is not None and failed.error["message"] == "the minimum 10 is above the maximum 1"
