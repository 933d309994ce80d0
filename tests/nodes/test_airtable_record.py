"""Airtable Record (airtable.record) and the airtable_api credential, through the engine against a fake on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hitl_studio.engine.runner import RunResult
from nodes.airtable.credentials import AirtableApiCredential
from nodes.sdk import NodeError
from tests.fakes.airtable_server import TOKEN, FakeAirtable, fake_airtable_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

BASE = "appFAKEBASE000001"
SCHEMA = {"Name": "text", "Points": "number", "Status": "text", "Email": "text"}


@pytest.fixture
def airtable() -> Iterator[FakeAirtable]:
    with fake_airtable_server() as server:
        server.add_table(BASE, "Tasks", SCHEMA)
        yield server


def credential(airtable: FakeAirtable, token: str = TOKEN) -> dict[str, Any]:
    return {"token": token, "api_url": airtable.api_url}


def record(
    airtable: FakeAirtable,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "airtable.record",
        {"base": BASE, "table": "Tasks", **parameters},
        items,
        credential_type="airtable_api",
        host=host_for(credential(airtable, token)),
        **settings,
    )


def seed(airtable: FakeAirtable, count: int) -> list[dict[str, Any]]:
    return [
        airtable.add_record(BASE, "Tasks", {"Name": f"Task {n}", "Points": n, "Status": "Done" if n % 2 else "Todo"})
        for n in range(1, count + 1)
    ]


def test_list_returns_every_record_following_the_offset(airtable: FakeAirtable) -> None:
    seed(airtable, 230)

    listed = outputs(record(airtable, {"operation": "list"}))

    assert [entry["fields"]["Name"] for entry in listed] == [f"Task {n}" for n in range(1, 231)]
    assert set(listed[0]) == {"id", "createdTime", "fields"}
    calls = airtable.received("GET")
    assert [call.values("offset") for call in calls] == [[], ["itrFAKE/100"], ["itrFAKE/200"]]
    assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert calls[0].path == f"/v0/{BASE}/Tasks"


def test_list_with_a_limit_stops_early_and_asks_for_no_more(airtable: FakeAirtable) -> None:
    seed(airtable, 230)

    listed = outputs(record(airtable, {"operation": "list", "return_all": False, "limit": 120}))

    assert len(listed) == 120
    calls = airtable.received("GET")
    assert len(calls) == 2
    assert calls[0].values("maxRecords") == ["120"]
    assert [call.values("pageSize") for call in calls] == [["100"], ["20"]]


def test_list_filters_sorts_and_picks_fields_per_item_with_expressions(airtable: FakeAirtable) -> None:
    seed(airtable, 6)
    parameters = {
        "operation": "list",
        "filter_by_formula": "{Status} = '{{ $json.status }}'",
        "sort": [{"field": "Points", "direction": "desc"}],
        "fields": ["Name"],
    }

    listed = outputs(record(airtable, parameters, [{"status": "Done"}, {"status": "Todo"}]))

    assert [entry["fields"] for entry in listed] == [
        {"Name": "Task 5"},
        {"Name": "Task 3"},
        {"Name": "Task 1"},
        {"Name": "Task 6"},
        {"Name": "Task 4"},
        {"Name": "Task 2"},
    ]
    first = airtable.received("GET")[0]
    assert first.values("filterByFormula") == ["{Status} = 'Done'"]
    assert first.values("sort[0][field]") == ["Points"]
    assert first.values("sort[0][direction]") == ["desc"]
    assert first.values("fields[]") == ["Name"]


def test_list_in_a_view_and_an_unknown_view_is_explained(airtable: FakeAirtable) -> None:
    records = seed(airtable, 4)
    airtable.bases[BASE]["Tasks"]["views"]["Mine"] = [records[1]["id"], records[3]["id"]]

    listed = outputs(record(airtable, {"operation": "list", "view": "Mine"}))
    error = failure(record(airtable, {"operation": "list", "view": "Theirs"}))

    assert [entry["id"] for entry in listed] == [records[1]["id"], records[3]["id"]]
    assert error["message"] == (
        "item 0: Airtable refused listing the records of 'Tasks' (422 VIEW_NAME_NOT_FOUND): "
        'Could not find view "Theirs" in table'
    )
    assert error["item_index"] == 0


def test_get_one_record_by_id_from_the_item(airtable: FakeAirtable) -> None:
    (first, second) = seed(airtable, 2)

    got = outputs(
        record(
            airtable,
            {"operation": "get", "record_id": "{{ $json.id }}", "fields": ["Name", "Points"]},
            [{"id": second["id"]}, {"id": first["id"]}],
        )
    )

    assert got == [
        {"id": second["id"], "createdTime": second["createdTime"], "fields": {"Name": "Task 2", "Points": 2}},
        {"id": first["id"], "createdTime": first["createdTime"], "fields": {"Name": "Task 1", "Points": 1}},
    ]


def test_get_an_unknown_record_names_the_item_and_what_to_check(airtable: FakeAirtable) -> None:
    seed(airtable, 1)

    error = failure(record(airtable, {"operation": "get", "record_id": "{{ $json.id }}"}, [{"id": "recNOPE"}]))

    assert error["message"] == "item 0: Airtable refused getting record recNOPE of 'Tasks' (404 NOT_FOUND)"
    assert "record id (rec...)" in error["description"]


def test_create_sends_ten_records_per_request(airtable: FakeAirtable) -> None:
    items = [{"Name": f"New {n}", "Points": n} for n in range(23)]

    created = outputs(record(airtable, {"operation": "create"}, items))

    assert [entry["fields"] for entry in created] == items
    assert all(entry["id"].startswith("rec") for entry in created)
    posts = airtable.received("POST")
    assert [len(call.body["records"]) for call in posts] == [10, 10, 3]
    assert posts[0].body["typecast"] is False
    assert [entry["fields"]["Name"] for entry in airtable.records(BASE, "Tasks")] == [f"New {n}" for n in range(23)]


def test_the_fake_refuses_eleven_records_in_one_request(airtable: FakeAirtable) -> None:
    body = {"records": [{"fields": {"Name": str(n)}} for n in range(11)]}
    answer = httpx.post(f"{airtable.api_url}/v0/{BASE}/Tasks", json=body, headers={"Authorization": f"Bearer {TOKEN}"})

    ids = [record["id"] for record in seed(airtable, 11)]
    deleting = httpx.delete(
        f"{airtable.api_url}/v0/{BASE}/Tasks",
        params=[("records[]", record_id) for record_id in ids],
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "INVALID_RECORDS"
    assert deleting.status_code == 422
    assert deleting.json()["error"]["type"] == "INVALID_RECORDS"
    assert [record["id"] for record in airtable.records(BASE, "Tasks")] == ids


def test_create_from_chosen_fields_or_json_with_typecast(airtable: FakeAirtable) -> None:
    items = [{"Name": "Ada", "Points": "7", "ignored": True}]

    picked = outputs(record(airtable, {"operation": "create", "columns": ["Name", "Points"], "typecast": True}, items))
    from_json = outputs(
        record(
            airtable,
            {"operation": "create", "source": "json", "record_fields": '{"Name": "{{ $json.Name }} L.", "Points": 3}'},
            items,
        )
    )

    assert picked[0]["fields"] == {"Name": "Ada", "Points": 7}
    assert from_json[0]["fields"] == {"Name": "Ada L.", "Points": 3}
    (first, second) = airtable.received("POST")
    assert first.body == {"records": [{"fields": {"Name": "Ada", "Points": "7"}}], "typecast": True}
    assert second.body["typecast"] is False


def test_create_without_typecast_explains_the_refused_value(airtable: FakeAirtable) -> None:
    error = failure(
        record(airtable, {"operation": "create"}, [{"Name": "A", "Points": 1}, {"Name": "B", "Points": "x"}])
    )

    assert error["message"] == (
        "items 0 to 1: Airtable refused creating 2 records in 'Tasks' (422 INVALID_VALUE_FOR_COLUMN): "
        'Field "Points" cannot accept the provided value: "x"'
    )
    assert "turn on typecast" in error["description"]
    assert error["item_index"] == 0


def test_update_changes_only_the_given_fields_by_record_id(airtable: FakeAirtable) -> None:
    (first, second) = seed(airtable, 2)
    items = [{"id": first["id"], "Status": "Blocked"}, {"id": second["id"], "Status": "Done"}]

    updated = outputs(
        record(airtable, {"operation": "update", "record_id": "{{ $json.id }}", "columns": ["Status"]}, items)
    )

    assert [entry["fields"] for entry in updated] == [
        {"Name": "Task 1", "Points": 1, "Status": "Blocked"},
        {"Name": "Task 2", "Points": 2, "Status": "Done"},
    ]
    (patch,) = airtable.received("PATCH")
    assert patch.body["records"] == [
        {"id": first["id"], "fields": {"Status": "Blocked"}},
        {"id": second["id"], "fields": {"Status": "Done"}},
    ]


def test_upsert_merges_on_fields_and_says_which_records_are_new(airtable: FakeAirtable) -> None:
    airtable.add_record(BASE, "Tasks", {"Name": "Old", "Email": "ada@example.com", "Points": 1})
    items = [{"Email": "ada@example.com", "Points": 5}, {"Email": "bob@example.com", "Points": 2, "Name": "Bob"}]

    upserted = outputs(record(airtable, {"operation": "upsert", "merge_on": ["Email"]}, items))

    assert [(entry["fields"]["Email"], entry["fields"]["Points"], entry["created"]) for entry in upserted] == [
        ("ada@example.com", 5, False),
        ("bob@example.com", 2, True),
    ]
    (patch,) = airtable.received("PATCH")
    assert patch.body["performUpsert"] == {"fieldsToMergeOn": ["Email"]}
    assert "id" not in patch.body["records"][0]
    assert [entry["fields"]["Name"] for entry in airtable.records(BASE, "Tasks")] == ["Old", "Bob"]


def test_delete_sends_ten_ids_per_request(airtable: FakeAirtable) -> None:
    records = seed(airtable, 12)

    deleted = outputs(
        record(airtable, {"operation": "delete", "record_id": "{{ $json.id }}"}, [{"id": r["id"]} for r in records])
    )

    assert deleted == [{"id": r["id"], "deleted": True} for r in records]
    assert [len(call.values("records[]")) for call in airtable.received("DELETE")] == [10, 2]
    assert airtable.records(BASE, "Tasks") == []


def test_a_wrong_token_is_refused_clearly_without_showing_it(airtable: FakeAirtable) -> None:
    error = failure(record(airtable, {"operation": "list"}, token="patWRONG.secret-value"))

    assert error["message"] == (
        "item 0: Airtable refused listing the records of 'Tasks' (401 AUTHENTICATION_REQUIRED): Authentication required"
    )
    assert "create a new one" in error["description"]
    assert "patWRONG.secret-value" not in json.dumps(error)


def test_an_unknown_table_or_base_says_what_to_check(airtable: FakeAirtable) -> None:
    table = failure(record(airtable, {"operation": "list", "table": "Tsks"}))
    base = failure(record(airtable, {"operation": "list", "base": "appNOPE"}))

    assert table["message"].startswith("item 0: Airtable refused listing the records of 'Tsks' (404 TABLE_NOT_FOUND)")
    assert "table's name or id" in table["description"]
    assert "(403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND)" in base["message"]
    assert "access to this base" in base["description"]


def test_the_rate_limit_is_a_clear_error(airtable: FakeAirtable) -> None:
    airtable.rate_limited = 1

    error = failure(record(airtable, {"operation": "create"}, [{"Name": "x"}]))

    assert error["message"] == (
        "item 0: Airtable is limiting requests and refused creating 1 record in 'Tasks' (429 RATE_LIMIT_REACHED)"
    )
    assert "5 requests a second" in error["description"]
    assert airtable.records(BASE, "Tasks") == []


def test_continue_on_fail_turns_the_error_into_an_item(airtable: FakeAirtable) -> None:
    produced = outputs(
        record(airtable, {"operation": "get", "record_id": "recMISSING"}, on_error="continue"),
    )

    (entry,) = produced
    assert entry["error"] == "item 0: Airtable refused getting record recMISSING of 'Tasks' (404 NOT_FOUND)"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_airtable(airtable: FakeAirtable) -> None:
    no_id = failure(record(airtable, {"operation": "update"}, [{"Name": "x"}]))
    no_merge = failure(record(airtable, {"operation": "upsert"}, [{"Name": "x"}]))
    bad_json = failure(record(airtable, {"operation": "create", "source": "json", "record_fields": "[1]"}))

    assert "update needs the record id (rec...)" in no_id["message"]
    assert "upsert needs at least one field to match on" in no_merge["message"]
    assert "the fields must be a JSON object" in bad_json["message"]
    assert airtable.received() == []


def test_an_item_without_fields_to_write_is_refused(airtable: FakeAirtable) -> None:
    error = failure(record(airtable, {"operation": "create", "columns": ["Name"]}, [{"Name": "a"}, {"other": 1}]))

    assert error["message"] == "item 1: there are no fields to write"
    assert error["item_index"] == 1
    assert airtable.received() == []


def test_the_credential_test_names_the_user_and_refuses_a_wrong_token(airtable: FakeAirtable) -> None:
    assert AirtableApiCredential.test_connection(credential(airtable)) == "Connected as ada@example.com"

    with pytest.raises(NodeError) as refused:
        AirtableApiCredential.test_connection(credential(airtable, "patREVOKED.0000"))

    assert "401 AUTHENTICATION_REQUIRED" in refused.value.message
    assert "patREVOKED" not in refused.value.message
