"""Dropbox File (dropbox.file) and the dropbox_api credential, through the engine against the fake Dropbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.dropbox.credentials import DropboxApiCredential
from nodes.sdk import Item, NodeError
from tests.fakes.dropbox_server import TOKEN, FakeDropbox, fake_dropbox_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

TYPE = "dropbox.file"


@pytest.fixture
def dropbox() -> Iterator[FakeDropbox]:
    with fake_dropbox_server() as fake:
        yield fake


def run(
    dropbox: FakeDropbox,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    host: LocalHost | None = None,
    token: str | None = None,
    **settings: Any,
) -> RunResult:
    return run_node(
        TYPE,
        parameters,
        items,
        credential_type="dropbox_api",
        host=host or host_for(dropbox.credential(token)),
        **settings,
    )


def file_item(host: LocalHost, data: bytes, name: str = "q1.csv") -> Item:
    return Item({"quarter": "q1"}, binary={"data": host.store_binary(data, file_name=name, mime_type="text/csv")})


def test_upload_sends_the_file_to_the_content_host_with_its_arguments_in_the_header(dropbox: FakeDropbox) -> None:
    host = host_for(dropbox.credential())

    (uploaded,) = outputs(
        run(dropbox, {"path": "/Reports/{{ $json.quarter }}/données.csv"}, [file_item(host, b"a,b\n")], host=host)
    )

    assert uploaded[".tag"] == "file" and uploaded["path_display"] == "/Reports/q1/données.csv"
    assert uploaded["size"] == 4
    (request,) = dropbox.received("files/upload")
    assert request.host == "content" and request.body == b"a,b\n"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/octet-stream"
    # Non-ASCII characters travel escaped, as HTTP headers must be ASCII.
    assert "\\u00e9" in request.headers["dropbox-api-arg"]
    assert json.loads(request.headers["dropbox-api-arg"]) == {
        "path": "/Reports/q1/données.csv",
        "mode": "add",
        "autorename": False,
        "mute": False,
        "strict_conflict": False,
    }
    stored = dropbox.at("/reports/q1/données.csv")
    assert stored is not None and stored.data == b"a,b\n"


def test_upload_over_an_existing_file_conflicts_renames_or_overwrites(dropbox: FakeDropbox) -> None:
    host = host_for(dropbox.credential())
    dropbox.add_file("/q1.csv", b"old")

    conflict = failure(run(dropbox, {"path": "/q1.csv"}, [file_item(host, b"new")], host=host))
    (renamed,) = outputs(run(dropbox, {"path": "/q1.csv", "autorename": True}, [file_item(host, b"new")], host=host))
    (replaced,) = outputs(
        run(dropbox, {"path": "/q1.csv", "mode": "overwrite"}, [file_item(host, b"newer")], host=host)
    )

    assert conflict["message"] == (
        "item 0: Dropbox refused uploading /q1.csv (409 path/conflict/file): something is already at that path"
    )
    assert "turn on Autorename" in conflict["description"]
    assert renamed["name"] == "q1 (1).csv"
    assert replaced["name"] == "q1.csv" and replaced["size"] == 5
    assert json.loads(dropbox.received("files/upload")[-1].headers["dropbox-api-arg"])["mode"] == "overwrite"


def test_download_puts_the_file_in_the_item_with_the_result_header_as_json(dropbox: FakeDropbox) -> None:
    host = host_for(dropbox.credential())
    dropbox.add_file("/Invoices/Rechnung-Ä7.pdf", b"%PDF-1.4 invoice")

    result = run(dropbox, {"operation": "download", "path": "/Invoices/Rechnung-Ä7.pdf"}, host=host)

    (metadata,) = outputs(result)
    assert metadata["name"] == "Rechnung-Ä7.pdf" and metadata["size"] == 16
    (produced,) = result.last_outputs["Node"][0]
    reference = produced.binary["data"]
    assert (reference["file_name"], reference["mime_type"]) == ("Rechnung-Ä7.pdf", "application/pdf")
    assert host.read_binary(reference) == b"%PDF-1.4 invoice"
    (request,) = dropbox.received("files/download")
    assert request.host == "content" and request.body == b""


def test_download_of_a_missing_file_is_explained(dropbox: FakeDropbox) -> None:
    error = failure(run(dropbox, {"operation": "download", "path": "/nope.txt"}))

    assert error["message"] == (
        "item 0: Dropbox refused downloading /nope.txt (409 path/not_found): nothing is at that path"
    )
    assert error["description"].startswith("Check the path (it starts with /")


def seed(dropbox: FakeDropbox) -> None:
    for n in range(7):
        dropbox.add_file(f"/Photos/img-{n}.jpg", b"jpg")
    dropbox.add_file("/Photos/2025/old.jpg", b"jpg")


def test_list_folder_continues_with_the_cursor_while_has_more(dropbox: FakeDropbox) -> None:
    seed(dropbox)
    dropbox.page_size = 3

    entries = outputs(run(dropbox, {"operation": "list_folder", "path": "/Photos/", "return_all": True}))

    assert [entry["name"] for entry in entries] == ["2025", *[f"img-{n}.jpg" for n in range(7)]]
    first, *rest = dropbox.received()
    assert (first.endpoint, first.host) == ("files/list_folder", "api")
    assert first.arg == {"path": "/Photos", "recursive": False, "limit": 2000}
    assert [r.endpoint for r in rest] == ["files/list_folder/continue"] * 2
    assert all(r.arg["cursor"].startswith("AAE") for r in rest)


def test_list_folder_recursive_with_a_limit(dropbox: FakeDropbox) -> None:
    seed(dropbox)
    dropbox.page_size = 3

    entries = outputs(run(dropbox, {"operation": "list_folder", "path": "/", "recursive": True, "limit": 4}))

    assert [entry["path_display"] for entry in entries] == [
        "/Photos",
        "/Photos/2025",
        "/Photos/2025/old.jpg",
        "/Photos/img-0.jpg",
    ]
    first, second = dropbox.received()
    assert first.arg == {"path": "", "recursive": True, "limit": 4}
    assert second.endpoint == "files/list_folder/continue"


def test_search_pages_through_matches_and_returns_their_metadata(dropbox: FakeDropbox) -> None:
    for n in range(5):
        dropbox.add_file(f"/Invoices/invoice-{n}.pdf", b"%PDF")
    dropbox.add_file("/Notes/todo.txt", b"pay the invoice")
    dropbox.page_size = 2

    everywhere = outputs(run(dropbox, {"operation": "search", "query": "invoice", "return_all": True}))
    names_only = outputs(
        run(
            dropbox,
            {"operation": "search", "query": "invoice", "file_names_only": True, "path": "/Invoices", "limit": 3},
        )
    )

    assert sorted(entry["name"] for entry in everywhere) == [
        "Invoices",
        *[f"invoice-{n}.pdf" for n in range(5)],
        "todo.txt",
    ]
    searches = dropbox.received("files/search_v2")
    assert searches[0].arg == {
        "query": "invoice",
        "options": {"max_results": 1000, "file_status": "active", "filename_only": False},
    }
    assert len(dropbox.received("files/search/continue_v2")) == 3 + 1
    assert [entry["name"] for entry in names_only] == ["invoice-0.pdf", "invoice-1.pdf", "invoice-2.pdf"]
    assert searches[1].arg["options"] == {
        "max_results": 3,
        "file_status": "active",
        "filename_only": True,
        "path": "/Invoices",
    }


def test_create_folder_move_copy_delete(dropbox: FakeDropbox) -> None:
    dropbox.add_file("/Inbox/scan.pdf", b"%PDF")

    (folder,) = outputs(run(dropbox, {"operation": "create_folder", "path": "/Archive"}))
    (copied,) = outputs(run(dropbox, {"operation": "copy", "path": "/Inbox/scan.pdf", "to_path": "/Archive/scan.pdf"}))
    (moved,) = outputs(
        run(
            dropbox,
            {"operation": "move", "path": "/Inbox/scan.pdf", "to_path": "/Archive/scan.pdf", "autorename": True},
        )
    )
    (deleted,) = outputs(run(dropbox, {"operation": "delete", "path": "/Inbox"}))

    assert folder == {
        ".tag": "folder",
        "name": "Archive",
        "path_lower": "/archive",
        "path_display": "/Archive",
        "id": folder["id"],
    }
    assert copied["path_display"] == "/Archive/scan.pdf"
    assert moved["path_display"] == "/Archive/scan (1).pdf"
    assert dropbox.received("files/move_v2")[0].arg == {
        "from_path": "/Inbox/scan.pdf",
        "to_path": "/Archive/scan.pdf",
        "autorename": True,
        "allow_ownership_transfer": False,
    }
    assert deleted["path_display"] == "/Inbox" and deleted[".tag"] == "folder"
    assert dropbox.at("/inbox") is None and dropbox.at("/archive/scan (1).pdf") is not None


def test_a_move_onto_something_existing_or_of_something_missing_is_explained(dropbox: FakeDropbox) -> None:
    dropbox.add_file("/a.txt", b"a")
    dropbox.add_file("/b.txt", b"b")

    clash = failure(run(dropbox, {"operation": "move", "path": "/a.txt", "to_path": "/b.txt"}))
    missing = failure(run(dropbox, {"operation": "copy", "path": "/zzz.txt", "to_path": "/c.txt"}))

    assert clash["message"] == (
        "item 0: Dropbox refused moving /a.txt to /b.txt (409 to/conflict/file): something is already at that path"
    )
    assert missing["message"] == (
        "item 0: Dropbox refused copying /zzz.txt to /c.txt (409 from_lookup/not_found): nothing is at that path"
    )


def test_get_temporary_link(dropbox: FakeDropbox) -> None:
    entry = dropbox.add_file("/Docs/plan.pdf", b"%PDF")

    (link,) = outputs(run(dropbox, {"operation": "get_temporary_link", "path": "{{ $json.id }}"}, [{"id": entry.id}]))

    assert link["link"].startswith("https://") and ".dl.dropboxusercontent.com/" in link["link"]
    assert link["metadata"]["path_display"] == "/Docs/plan.pdf"
    assert dropbox.received("files/get_temporary_link")[0].arg == {"path": entry.id}


def test_a_wrong_token_says_so_without_showing_it(dropbox: FakeDropbox) -> None:
    error = failure(run(dropbox, {"operation": "delete", "path": "/x"}, token="sl.wrongWRONGwrong"))

    assert error["message"] == (
        "item 0: Dropbox did not accept the access token while deleting /x (401 invalid_access_token)"
    )
    assert error["description"].startswith("The access token is wrong or was revoked")
    assert "sl.wrongWRONGwrong" not in json.dumps(error)


def test_an_expired_token_and_a_missing_scope_are_told_apart(dropbox: FakeDropbox) -> None:
    dropbox.expire(TOKEN)
    expired = failure(run(dropbox, {"operation": "delete", "path": "/x"}))
    dropbox.expired.clear()
    dropbox.scopes.discard("files.content.write")
    host = host_for(dropbox.credential())
    no_scope = failure(run(dropbox, {"path": "/x.csv"}, [file_item(host, b"x")], host=host))

    assert "(401 expired_access_token)" in expired["message"]
    assert "short-lived tokens last four hours" in expired["description"]
    assert "(401 missing_scope)" in no_scope["message"]
    assert no_scope["description"].startswith("The app lacks the files.content.write permission: tick it")


def test_a_malformed_path_gets_dropboxs_plain_text_error(dropbox: FakeDropbox) -> None:
    error = failure(run(dropbox, {"operation": "download", "path": "ns:shared"}))

    assert error["message"].startswith(
        'item 0: Dropbox refused downloading ns:shared (400): Error in call to API function "files/download": '
        "request body: path: 'ns:shared' did not match pattern"
    )
    assert error["description"] == "Check the paths and values sent; Dropbox names what it could not read."


def test_the_rate_limit_is_explained(dropbox: FakeDropbox) -> None:
    dropbox.rate_limited = 1

    error = failure(run(dropbox, {"operation": "list_folder"}))

    assert error["message"] == (
        "item 0: Dropbox is limiting requests and refused listing the Dropbox (429 too_many_requests)"
    )
    assert error["description"].startswith("Wait 300 seconds and retry")


def test_continue_on_fail_and_the_failing_item_is_named(dropbox: FakeDropbox) -> None:
    dropbox.add_file("/one.txt", b"1")

    error = failure(
        run(dropbox, {"operation": "delete", "path": "{{ $json.p }}"}, [{"p": "/one.txt"}, {"p": "/two.txt"}])
    )
    (entry,) = outputs(run(dropbox, {"operation": "delete", "path": "/gone.txt"}, on_error="continue"))

    assert error["message"].startswith("item 1: Dropbox refused deleting /two.txt (409 path_lookup/not_found)")
    assert error["item_index"] == 1
    assert (
        entry["error"]
        == "item 0: Dropbox refused deleting /gone.txt (409 path_lookup/not_found): nothing is at that path"
    )


def test_parameters_are_checked_before_calling_dropbox(dropbox: FakeDropbox) -> None:
    relative = failure(run(dropbox, {"operation": "delete", "path": "Reports/q1.pdf"}))
    no_target = failure(run(dropbox, {"operation": "move", "path": "/a"}))
    no_query = failure(run(dropbox, {"operation": "search"}))

    assert "the path 'Reports/q1.pdf' must start with /" in relative["message"]
    assert "the to path is required" in no_target["message"]
    assert "search needs the words to search for" in no_query["message"]
    assert dropbox.received() == []


def test_the_credential_test_names_the_account(dropbox: FakeDropbox) -> None:
    assert DropboxApiCredential.test_connection(dropbox.credential()) == "Connected as Grace Hopper (grace@example.com)"
    (request,) = dropbox.received("users/get_current_account")
    assert request.host == "api" and request.body == b""

    with pytest.raises(NodeError) as refused:
        DropboxApiCredential.test_connection(dropbox.credential("sl.revoked"))
    assert "(401 invalid_access_token)" in refused.value.message
