"""Microsoft OneDrive File (microsoft.onedrive_file), through the engine against the fake Graph on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.microsoft import onedrive_file
from nodes.sdk import Item
from tests.fakes.microsoft_server import FakeMicrosoft, fake_microsoft_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

TYPE = "microsoft.onedrive_file"
UPN = "ada@contoso.com"


@pytest.fixture
def graph() -> Iterator[FakeMicrosoft]:
    with fake_microsoft_server() as fake:
        fake.add_user(UPN)
        yield fake


def drive_id(graph: FakeMicrosoft) -> str:
    return graph.users[UPN].drive_id


def onedrive(
    graph: FakeMicrosoft,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    host: LocalHost | None = None,
    **settings: Any,
) -> RunResult:
    return run_node(
        TYPE,
        {"user": UPN, **parameters},
        items,
        credential_type="microsoft_graph",
        host=host or host_for(graph.credential()),
        **settings,
    )


def file_item(host: LocalHost, data: bytes, name: str = "report.csv", mime: str = "text/csv") -> Item:
    return Item({"name": name}, binary={"data": host.store_binary(data, file_name=name, mime_type=mime)})


def test_upload_puts_a_small_file_into_a_folder_by_path(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())

    (uploaded,) = outputs(
        onedrive(graph, {"operation": "upload", "path": "/Reports/2026/"}, [file_item(host, b"a,b\n1,2\n")], host=host)
    )

    assert uploaded["name"] == "report.csv" and uploaded["file"] == {"mimeType": "text/csv"}
    assert uploaded["parentReference"]["path"] == "/drive/root:/Reports/2026"
    (request,) = graph.received("PUT")
    assert request.path == f"/v1.0/users/{UPN}/drive/root:/Reports/2026/report.csv:/content"
    assert request.query == {"@microsoft.graph.conflictBehavior": "fail"}
    assert request.headers["content-type"] == "text/csv" and request.body == b"a,b\n1,2\n"
    stored = graph.item_at(drive_id(graph), "Reports/2026/report.csv")
    assert stored is not None and stored.data == b"a,b\n1,2\n"


def test_upload_into_a_folder_by_id_renames_on_a_clash(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    folder = graph.add_folder(drive_id(graph), "Inbox")
    graph.add_file(drive_id(graph), "Inbox/scan.pdf", b"old")
    parameters = {
        "operation": "upload",
        "locate_by": "id",
        "item_id": folder.id,
        "file_name": "scan.pdf",
        "conflict_behavior": "rename",
    }

    (uploaded,) = outputs(onedrive(graph, parameters, [file_item(host, b"%PDF new", "x.pdf")], host=host))

    assert uploaded["name"] == "scan 1.pdf"
    assert graph.received("PUT")[0].path == f"/v1.0/users/{UPN}/drive/items/{folder.id}:/scan.pdf:/content"


def test_a_clash_with_conflict_fail_is_explained(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    graph.add_file(drive_id(graph), "report.csv", b"old")

    error = failure(onedrive(graph, {"operation": "upload"}, [file_item(host, b"new")], host=host))

    assert error["message"] == (
        "item 0: Microsoft Graph refused uploading 'report.csv' (409 nameAlreadyExists): "
        "An item with the same name already exists under the parent."
    )
    assert "pick another name" in error["description"]


def test_a_large_file_goes_through_an_upload_session_in_chunks(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    data = bytes(range(256)) * (17_000)  # 4,352,000 bytes: over the 4 MiB of a simple upload.

    (uploaded,) = outputs(
        onedrive(
            graph,
            {"operation": "upload", "path": "Video", "conflict_behavior": "replace"},
            [file_item(host, data, "clip.mp4", "video/mp4")],
            host=host,
        )
    )

    assert uploaded["name"] == "clip.mp4" and uploaded["size"] == len(data)
    (session,) = graph.received("POST", "/createUploadSession")
    assert session.path == f"/v1.0/users/{UPN}/drive/root:/Video/clip.mp4:/createUploadSession"
    assert session.body == {"item": {"@microsoft.graph.conflictBehavior": "replace", "name": "clip.mp4"}}
    chunks = graph.received("PUT", "/upload/")
    chunk = onedrive_file.UPLOAD_CHUNK_BYTES
    assert [r.headers["content-range"] for r in chunks] == [
        f"bytes 0-{chunk - 1}/{len(data)}",
        f"bytes {chunk}-{len(data) - 1}/{len(data)}",
    ]
    assert all("authorization" not in r.headers for r in chunks)
    stored = graph.item_at(drive_id(graph), "Video/clip.mp4")
    assert stored is not None and stored.data == data


def test_a_refused_chunk_cancels_the_upload_session(graph: FakeMicrosoft, monkeypatch: pytest.MonkeyPatch) -> None:
    # Graph takes chunks in multiples of 320 KiB only: a chunk size off that grid is refused by the server.
    monkeypatch.setattr(onedrive_file, "SIMPLE_UPLOAD_MAX_BYTES", 1000)
    monkeypatch.setattr(onedrive_file, "UPLOAD_CHUNK_BYTES", 1000)
    host = host_for(graph.credential())

    error = failure(onedrive(graph, {"operation": "upload"}, [file_item(host, b"z" * 2500)], host=host))

    assert error["message"] == (
        "item 0: Microsoft Graph refused uploading 'report.csv' (400 invalidRequest): "
        "The fragment size must be a multiple of 320 KiB."
    )
    assert len(graph.cancelled_uploads) == 1
    assert graph.received("DELETE", "/upload/")[0].path == f"/upload/{graph.cancelled_uploads[0]}"
    assert graph.item_at(drive_id(graph), "report.csv") is None


def test_download_follows_the_redirect_without_the_token(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    graph.add_file(drive_id(graph), "Docs/notes.txt", b"hello notes", "text/plain")

    result = onedrive(
        graph, {"operation": "download", "path": "{{ $json.path }}"}, [{"path": "Docs/notes.txt"}], host=host
    )

    (metadata,) = outputs(result)
    assert metadata["name"] == "notes.txt" and metadata["file"]["mimeType"] == "text/plain"
    (produced,) = result.last_outputs["Node"][0]
    reference = produced.binary["data"]
    assert host.read_binary(reference) == b"hello notes"
    assert (reference["file_name"], reference["mime_type"]) == ("notes.txt", "text/plain")
    content, download = graph.received("GET", "/content")[0], graph.received("GET", "/download/")[0]
    assert content.path == f"/v1.0/users/{UPN}/drive/root:/Docs/notes.txt:/content"
    assert "authorization" in content.headers and "authorization" not in download.headers


def test_a_folder_cannot_be_downloaded(graph: FakeMicrosoft) -> None:
    graph.add_folder(drive_id(graph), "Docs")

    error = failure(onedrive(graph, {"operation": "download", "path": "Docs"}))

    assert error["message"] == "item 0: '/Docs' is a folder, which cannot be downloaded"
    assert graph.received("GET", "/content") == []


def test_list_pages_through_a_folder_and_stops_at_the_limit(graph: FakeMicrosoft) -> None:
    for n in range(150):
        graph.add_file(drive_id(graph), f"Bulk/file-{n:03d}.txt", b"x")

    everything = outputs(onedrive(graph, {"operation": "list", "path": "Bulk", "return_all": True}))
    limited = outputs(onedrive(graph, {"operation": "list", "path": "Bulk", "limit": 3}))

    assert len(everything) == 150 and everything[0]["name"] == "file-000.txt"
    assert [entry["name"] for entry in limited] == ["file-000.txt", "file-001.txt", "file-002.txt"]
    pages = graph.received("GET", "/children")
    assert pages[0].path == f"/v1.0/users/{UPN}/drive/root:/Bulk:/children"
    assert [r.query.get("$skip") for r in pages] == [None, "100", None]
    assert pages[-1].query == {"$top": "3"}


def test_list_of_the_root_of_a_drive_by_id(graph: FakeMicrosoft) -> None:
    graph.add_file(drive_id(graph), "top.txt", b"x")

    (entry,) = outputs(onedrive(graph, {"operation": "list", "drive": "drive_id", "drive_id": drive_id(graph)}))

    assert entry["name"] == "top.txt"
    assert graph.received("GET")[0].path == f"/v1.0/drives/{drive_id(graph)}/root/children"


def test_create_folder_then_a_clash_fails(graph: FakeMicrosoft) -> None:
    graph.add_folder(drive_id(graph), "Projects")

    (created,) = outputs(onedrive(graph, {"operation": "create_folder", "path": "Projects", "folder_name": "Apollo"}))
    error = failure(onedrive(graph, {"operation": "create_folder", "path": "Projects", "folder_name": "Apollo"}))

    assert created["name"] == "Apollo" and created["folder"] == {"childCount": 0}
    assert graph.received("POST", "/children")[0].body == {
        "name": "Apollo",
        "folder": {},
        "@microsoft.graph.conflictBehavior": "fail",
    }
    assert "(409 nameAlreadyExists)" in error["message"]


def test_move_into_a_folder_by_path_and_rename(graph: FakeMicrosoft) -> None:
    graph.add_file(drive_id(graph), "Inbox/draft.docx", b"doc")
    archive = graph.add_folder(drive_id(graph), "Archive/2026")

    (moved,) = outputs(
        onedrive(
            graph,
            {
                "operation": "move",
                "path": "Inbox/draft.docx",
                "destination_folder": "/Archive/2026",
                "new_name": "final.docx",
            },
        )
    )

    assert moved["name"] == "final.docx" and moved["parentReference"]["id"] == archive.id
    (patch,) = graph.received("PATCH")
    assert patch.path == f"/v1.0/users/{UPN}/drive/root:/Inbox/draft.docx"
    assert patch.body == {"parentReference": {"id": archive.id}, "name": "final.docx"}
    assert graph.item_at(drive_id(graph), "Archive/2026/final.docx") is not None


def test_rename_by_id_and_delete(graph: FakeMicrosoft) -> None:
    item = graph.add_file(drive_id(graph), "old.txt", b"x")

    (renamed,) = outputs(
        onedrive(graph, {"operation": "move", "locate_by": "id", "item_id": item.id, "new_name": "new.txt"})
    )
    (deleted,) = outputs(onedrive(graph, {"operation": "delete", "locate_by": "id", "item_id": item.id}))

    assert renamed["name"] == "new.txt"
    assert graph.received("PATCH")[0].body == {"name": "new.txt"}
    assert deleted == {"id": item.id, "deleted": True}
    assert graph.received("DELETE")[0].path == f"/v1.0/users/{UPN}/drive/items/{item.id}"
    assert item.id not in graph.drives[drive_id(graph)].items


def test_share_creates_a_link(graph: FakeMicrosoft) -> None:
    graph.add_file(drive_id(graph), "Docs/plan.pdf", b"%PDF")

    (link,) = outputs(
        onedrive(graph, {"operation": "share", "path": "Docs/plan.pdf", "link_type": "edit", "link_scope": "anonymous"})
    )

    assert link["roles"] == ["write"] and link["link"]["type"] == "edit"
    assert link["link"]["webUrl"].startswith("https://contoso-my.sharepoint.com/")
    (request,) = graph.received("POST", "/createLink")
    assert request.path == f"/v1.0/users/{UPN}/drive/root:/Docs/plan.pdf:/createLink"
    assert request.body == {"type": "edit", "scope": "anonymous"}


def test_a_missing_item_says_what_to_check(graph: FakeMicrosoft) -> None:
    error = failure(onedrive(graph, {"operation": "delete", "path": "nowhere.txt"}))

    assert error["message"] == (
        "item 0: Microsoft Graph refused deleting '/nowhere.txt' (404 itemNotFound): The resource could not be found."
    )
    assert error["description"].startswith("Check the path (from the drive's root")


def test_an_oauth2_account_uses_its_own_drive(graph: FakeMicrosoft) -> None:
    graph.add_file(drive_id(graph), "mine.txt", b"x")
    graph.sign_in("delegated-token", UPN)
    parameters = {"authentication": "oauth2", "graph_url": graph.graph_url, "user": "", "operation": "list"}

    (entry,) = outputs(
        run_node(TYPE, parameters, credential_type="oauth2", host=host_for({"access_token": "delegated-token"}))
    )

    assert entry["name"] == "mine.txt"
    assert graph.received("GET")[0].path == "/v1.0/me/drive/root/children"


def test_parameters_are_checked_before_calling_graph(graph: FakeMicrosoft) -> None:
    root = failure(onedrive(graph, {"operation": "delete", "path": "/"}))
    no_drive = failure(onedrive(graph, {"operation": "list", "drive": "drive_id"}))
    no_change = failure(onedrive(graph, {"operation": "move", "path": "a.txt"}))

    assert "delete needs the path of a file or folder" in root["message"]
    assert "set the drive id" in no_drive["message"]
    assert "move needs a destination folder, a new name, or both" in no_change["message"]
    assert graph.received() == []
