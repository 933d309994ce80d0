"""Google Drive (google.drive) through the engine against the fake Google APIs on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.nodes.conftest import Google
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

INVOICE = b"%PDF-1.4 invoice \x00\xff"


def drive(
    google: Google, parameters: dict[str, Any], items: list[Any] | None = None, host: LocalHost | None = None
) -> RunResult:
    host = host or host_for(google.credential)
    return run_node("google.drive", parameters, items, credential_type="google_service_account", host=host)


def test_upload_into_a_folder_then_download_into_another_item(google: Google) -> None:
    host = host_for(google.credential)
    reference = host.store_binary(INVOICE, file_name="invoice.pdf", mime_type="application/pdf")

    (uploaded,) = outputs(
        drive(
            google,
            {"operation": "upload", "folder_id": "folder-1", "file_name": "{{ $json.number }}.pdf"},
            [Item({"number": "INV-7"}, binary={"data": reference})],
            host,
        )
    )
    download = drive(google, {"operation": "download", "file_id": uploaded["id"]}, [{"order": 7}], host)

    assert uploaded["name"] == "INV-7.pdf" and uploaded["size"] == len(INVOICE)
    assert uploaded["parents"] == ["folder-1"] and uploaded["mimeType"] == "application/pdf"
    assert google.server.files[uploaded["id"]]["content"] == INVOICE
    (downloaded,) = outputs(download)
    assert downloaded["order"] == 7 and downloaded["drive"]["name"] == "INV-7.pdf"
    file = download.last_outputs[NODE][0][0].binary["data"]
    assert host.read_binary(file) == INVOICE and file["file_name"] == "INV-7.pdf"


def test_list_filters_by_folder_and_name_across_pages(google: Google) -> None:
    for number in range(5):
        google.server.add_file(f"report-{number}.csv", b"x", parent="reports")
    google.server.add_file("report-old.csv", b"x", parent="archive")
    google.server.add_file("notes.txt", b"x", parent="reports")
    trashed = google.server.add_file("report-deleted.csv", b"x", parent="reports")
    google.server.files[trashed]["trashed"] = True

    listed = outputs(drive(google, {"folder_id": "reports", "name_contains": "report", "limit": 4}))
    everything = outputs(drive(google, {"folder_id": "reports", "include_trashed": True}))

    assert [entry["name"] for entry in listed] == [f"report-{number}.csv" for number in range(4)]
    assert len(everything) == 7
    query = google.server.received("/drive/v3/files")[0].query["q"][0]
    assert query == "trashed = false and 'reports' in parents and name contains 'report'"


def test_delete_moves_to_the_trash_or_removes_for_good(google: Google) -> None:
    kept = google.server.add_file("a.txt", b"a")
    gone = google.server.add_file("b.txt", b"b")

    (trashed,) = outputs(drive(google, {"operation": "delete", "file_id": kept}))
    (deleted,) = outputs(drive(google, {"operation": "delete", "file_id": gone, "permanently": True}))

    assert trashed == {"file_id": kept, "deleted": True, "trashed": True}
    assert google.server.files[kept]["trashed"] is True
    assert deleted == {"file_id": gone, "deleted": True, "trashed": False}
    assert gone not in google.server.files


def test_a_google_doc_cannot_be_downloaded_as_a_file(google: Google) -> None:
    doc = google.server.add_file("Plan", b"", mime_type="application/vnd.google-apps.document")

    error = failure(drive(google, {"operation": "download", "file_id": doc}))

    assert error["message"] == "item 0: 'Plan' is a Google document, which has no file to download"


def test_a_missing_file_names_the_item(google: Google) -> None:
    error = failure(drive(google, {"operation": "download", "file_id": "{{ $json.id }}"}, [{"id": "nope"}]))

    assert error["message"] == "item 0: Google refused reading file nope (404): File not found: nope."
