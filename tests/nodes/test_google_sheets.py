"""Google Sheets (google.sheets) and the service-account credential, through the engine against a fake on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.google.credentials import GoogleServiceAccountCredential
from nodes.sdk import NodeError
from tests.nodes.conftest import Google
from tests.nodes.integrations import failure, host_for, outputs, run_node

SHEET_ID = "1AbCdEfGhIjKlMnOp"
PEOPLE = [["name", "age", "email"], ["Ada", 36, "ada@example.com"], ["Bob", 41, "bob@example.com"]]


def sheets(
    google: Google, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **kw: Any
) -> RunResult:
    credential = kw.pop("credential", google.credential)
    parameters = {"spreadsheet": SHEET_ID, **parameters}
    return run_node(
        "google.sheets", parameters, items, credential_type="google_service_account", host=host_for(credential)
    )


def rows(google: Google, sheet: str = "Sheet1") -> list[list[Any]]:
    return google.server.spreadsheets[SHEET_ID][sheet]


def test_read_outputs_one_item_per_row_named_by_the_header(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": [list(row) for row in PEOPLE] + [[], ["Cy", "", ""]]}

    read = outputs(sheets(google, {"spreadsheet": f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0"}))
    typed = outputs(sheets(google, {"values_as": "unformatted", "range": "A1:B3"}))

    assert read == [
        {"name": "Ada", "age": "36", "email": "ada@example.com", "row_number": 2},
        {"name": "Bob", "age": "41", "email": "bob@example.com", "row_number": 3},
        {"name": "Cy", "age": "", "email": "", "row_number": 5},
    ]
    assert typed == [{"name": "Ada", "age": 36, "row_number": 2}, {"name": "Bob", "age": 41, "row_number": 3}]
    (token,) = google.server.received("/token")[:1]
    assert token.method == "POST"


def test_read_without_a_header_names_fields_after_columns(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"My 'Data'": [["x", "y"], ["z"]]}

    read = outputs(sheets(google, {"sheet": "My 'Data'", "header_row": False, "range": "B1:C2"}))

    assert read == [{"B": "y", "row_number": 1}]


def test_append_writes_the_items_under_the_header_in_one_request(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": [list(row) for row in PEOPLE]}
    items = [{"email": "cy@example.com", "name": "Cy", "age": "29", "extra": "ignored"}, {"name": "Di", "age": 52}]

    appended = outputs(sheets(google, {"operation": "append"}, items))

    assert appended == items
    assert rows(google)[3:] == [["Cy", 29, "cy@example.com"], ["Di", 52, ""]]
    assert len(google.server.received(f"/v4/spreadsheets/{SHEET_ID}/values/%27Sheet1%27%21A1:append")) == 1


def test_append_to_an_empty_sheet_writes_a_header_first(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": []}

    outputs(sheets(google, {"operation": "append", "columns": ["id", "total"]}, [{"id": 1, "total": 9.5, "x": 0}]))

    assert rows(google) == [["id", "total"], [1, 9.5]]


def test_update_changes_the_matching_rows_and_appends_the_rest(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": [list(row) for row in PEOPLE]}
    items = [{"email": "bob@example.com", "age": 42}, {"email": "eve@example.com", "name": "Eve", "age": 30}]

    outputs(sheets(google, {"operation": "update", "key_column": "email", "append_missing": True}, items))

    assert rows(google) == [*PEOPLE[:2], ["Bob", 42, "bob@example.com"], ["Eve", 30, "eve@example.com"]]


def test_update_on_a_column_the_sheet_lacks_names_its_columns(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": [list(row) for row in PEOPLE]}

    error = failure(sheets(google, {"operation": "update", "key_column": "id"}, [{"id": 1}]))

    assert error["message"] == "item 0: the sheet 'Sheet1' has no column 'id' (its columns: 'name', 'age', 'email')"


def test_clear_a_range(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": [list(row) for row in PEOPLE]}

    (cleared,) = outputs(sheets(google, {"operation": "clear", "range": "A2:C3"}))

    assert cleared == {"spreadsheet": SHEET_ID, "cleared_range": "Sheet1!A2:C3"}
    assert rows(google) == [PEOPLE[0], ["", "", ""], ["", "", ""]]


def test_an_unknown_spreadsheet_says_to_share_it(google: Google) -> None:
    error = failure(sheets(google, {"spreadsheet": "missing-id"}))

    assert error["message"] == "item 0: Google refused reading 'Sheet1' (404): Requested entity was not found."
    assert "client_email" in error["description"]


def test_an_unknown_key_is_refused_at_sign_in_without_showing_it(google: Google) -> None:
    google.server.spreadsheets[SHEET_ID] = {"Sheet1": []}
    stranger = google.server.service_account("stranger", registered=False)
    credential = {"service_account_json": stranger, "api_root_url": google.server.root_url}

    error = failure(sheets(google, {}, credential=credential))

    assert error["message"].startswith(
        "item 0: Google refused the service account stranger@fake-project.iam.gserviceaccount.com: invalid_grant"
    )
    assert json.loads(stranger)["private_key"] not in json.dumps(error)
    assert not google.server.received("/v4/")


def test_the_credential_checks_the_key_file_and_signs_in(google: Google) -> None:
    assert GoogleServiceAccountCredential.test_connection(google.credential) == (
        "Signed in as robot@fake-project.iam.gserviceaccount.com"
    )

    incomplete = json.dumps({"type": "service_account", "client_email": "x@y.z"})
    with pytest.raises(NodeError, match="the key has no private_key, token_uri"):
        GoogleServiceAccountCredential.test_connection({"service_account_json": incomplete})
    with pytest.raises(NodeError, match="the key is not JSON"):
        GoogleServiceAccountCredential.test_connection({"service_account_json": "{not json"})
    with pytest.raises(NodeError, match="not a service account's"):
        GoogleServiceAccountCredential.test_connection(
            {
                "service_account_json": json.dumps(
                    {"type": "authorized_user", "client_email": "a", "private_key": "b", "token_uri": "c"}
                )
            }
        )
