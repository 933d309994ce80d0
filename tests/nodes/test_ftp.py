"""FTP (files.ftp) and the ftp credential, through the engine against pyftpdlib serving a temp folder on 127.0.0.1."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.files.ftp import _list_line
from nodes.files.ftp_credentials import FtpCredential, FtpFields
from nodes.sdk import Item, NodeError
from tests.fakes.smtp_server import free_port
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

USER, PASSWORD = "ada", "s3cret"
REPORT = b"%PDF-1.4 report \x00\x01\xff"


class WithoutMlsd(FTPHandler):
    """A server of the older kind: LIST only, as many still are."""

    proto_cmds = {name: spec for name, spec in FTPHandler.proto_cmds.items() if name not in ("MLSD", "MLST")}


class Ftp:
    """A pyftpdlib server on 127.0.0.1 serving ``root``, and the credential that signs in to it."""

    def __init__(self, root: Path, handler: type[FTPHandler]) -> None:
        self.root = root
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
        # auth_failed_timeout: pyftpdlib otherwise waits 3 s before refusing a wrong password.
        attributes = {"authorizer": authorizer, "banner": "hitl test ftp", "auth_failed_timeout": 0}
        self.handler = type("Handler", (handler,), attributes)
        self.server = FTPServer(("127.0.0.1", 0), self.handler)
        self.port = self.server.address[1]
        self.credential: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "user": USER, "password": PASSWORD}
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"timeout": 0.05}, name="ftp-test-server", daemon=True
        )
        self.thread.start()

    def run(
        self,
        parameters: dict[str, Any],
        items: list[dict[str, Any] | Item] | None = None,
        host: LocalHost | None = None,
        **settings: Any,
    ) -> RunResult:
        return run_node(
            "files.ftp", parameters, items, credential_type="ftp", host=host or host_for(self.credential), **settings
        )

    def close(self) -> None:
        self.server.close_all()
        self.thread.join(5)


def serve(tmp_path: Path, handler: type[FTPHandler] = FTPHandler) -> Iterator[Ftp]:
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    root = tmp_path / "ftp-root"
    root.mkdir()
    (root / "reports").mkdir()
    (root / "reports" / "may.pdf").write_bytes(REPORT)
    (root / "reports" / "old").mkdir()
    (root / "reports" / "old" / "2023.csv").write_text("a,b\n1,2\n")
    (root / "notes.txt").write_text("hello")
    server = Ftp(root, handler)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[Ftp]:
    yield from serve(tmp_path)


@pytest.fixture
def old_ftp(tmp_path: Path) -> Iterator[Ftp]:
    yield from serve(tmp_path, WithoutMlsd)


def by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["path"]: entry for entry in entries}


def test_list_a_folder_with_types_sizes_and_times(ftp: Ftp) -> None:
    entries = by_name(outputs(ftp.run({"operation": "list", "path": "/reports"})))

    assert set(entries) == {"/reports/may.pdf", "/reports/old"}
    assert entries["/reports/may.pdf"]["type"] == "file" and entries["/reports/may.pdf"]["size"] == len(REPORT)
    assert entries["/reports/old"]["type"] == "directory" and entries["/reports/old"]["name"] == "old"
    modified = datetime.fromisoformat(entries["/reports/may.pdf"]["modified"])
    assert modified.tzinfo is not None and modified.year >= 2024


def test_list_recursively_and_relative_to_the_login_folder(ftp: Ftp) -> None:
    entries = outputs(ftp.run({"operation": "list", "path": "", "recursive": True}))

    assert sorted(entry["path"] for entry in entries) == [
        "./notes.txt",
        "./reports",
        "./reports/may.pdf",
        "./reports/old",
        "./reports/old/2023.csv",
    ]


def test_list_falls_back_to_list_without_mlsd(old_ftp: Ftp) -> None:
    entries = by_name(outputs(old_ftp.run({"operation": "list", "path": "/reports", "recursive": True})))

    assert set(entries) == {"/reports/may.pdf", "/reports/old", "/reports/old/2023.csv"}
    assert entries["/reports/may.pdf"]["size"] == len(REPORT)
    assert entries["/reports/old"]["type"] == "directory"
    assert entries["/reports/old/2023.csv"]["type"] == "file"
    assert entries["/reports/old/2023.csv"]["modified"][:4].isdigit()


def test_upload_the_items_file_creating_folders(ftp: Ftp) -> None:
    host = host_for(ftp.credential)
    reference = host.store_binary(REPORT, file_name="may.pdf", mime_type="application/pdf")

    (uploaded,) = outputs(
        ftp.run(
            {"operation": "upload", "path": "/archive/{{ $json.year }}/may.pdf"},
            [Item({"year": 2024}, binary={"data": reference})],
            host,
        )
    )

    assert (ftp.root / "archive" / "2024" / "may.pdf").read_bytes() == REPORT
    assert uploaded["year"] == 2024 and uploaded["ftp"] == {"path": "/archive/2024/may.pdf", "size": len(REPORT)}


def test_upload_to_a_folder_keeps_only_the_files_own_name(ftp: Ftp) -> None:
    host = host_for(ftp.credential)
    reference = host.store_binary(b"x", file_name="../../escape.txt", mime_type="text/plain")

    (uploaded,) = outputs(
        ftp.run({"operation": "upload", "path": "/in/"}, [Item({}, binary={"data": reference})], host)
    )

    assert uploaded["ftp"]["path"] == "/in/escape.txt"
    assert (ftp.root / "in" / "escape.txt").read_bytes() == b"x"


def test_upload_without_the_binary_property_names_the_item(ftp: Ftp) -> None:
    error = failure(ftp.run({"operation": "upload", "path": "/x.txt", "binary_property": "file"}, [{"id": 1}]))

    assert error["item_index"] == 0
    assert error["message"] == "item 0 has no binary property 'file' (its binary properties: none)"


def test_download_a_file_into_the_item(ftp: Ftp) -> None:
    host = host_for(ftp.credential)

    result = ftp.run(
        {"operation": "download", "path": "/reports/{{ $json.name }}", "binary_property": "report"},
        [{"name": "may.pdf", "id": 7}],
        host,
    )

    (downloaded,) = outputs(result)
    assert downloaded == {"name": "may.pdf", "id": 7, "ftp": {"path": "/reports/may.pdf", "size": len(REPORT)}}
    file = result.last_outputs[NODE][0][0].binary["report"]
    assert file["file_name"] == "may.pdf" and file["mime_type"] == "application/pdf"
    assert host.read_binary(file) == REPORT


def test_a_missing_file_names_the_item(ftp: Ftp) -> None:
    error = failure(
        ftp.run({"operation": "download", "path": "/{{ $json.name }}"}, [{"name": "notes.txt"}, {"name": "nope.txt"}])
    )

    assert error["item_index"] == 1
    assert error["message"].startswith("item 1: the FTP server refused downloading '/nope.txt': 550 ")
    assert error["description"].startswith("Check the path")


def test_delete_a_file_or_a_whole_folder(ftp: Ftp) -> None:
    (file,) = outputs(ftp.run({"operation": "delete", "path": "/notes.txt"}))
    refused = failure(ftp.run({"operation": "delete", "path": "/reports", "folder": True}))
    (folder,) = outputs(ftp.run({"operation": "delete", "path": "/reports", "folder": True, "recursive": True}))

    assert file == {"path": "/notes.txt", "deleted": True}
    assert refused["message"].startswith("item 0: the FTP server refused deleting '/reports': 550")
    assert folder == {"path": "/reports", "deleted": True}
    assert list(ftp.root.iterdir()) == []


def test_rename_moves_into_new_folders(ftp: Ftp) -> None:
    (renamed,) = outputs(
        ftp.run(
            {"operation": "rename", "path": "/notes.txt", "new_path": "/done/{{ $json.day }}/notes.txt"}, [{"day": 3}]
        )
    )

    assert renamed == {"path": "/notes.txt", "new_path": "/done/3/notes.txt", "renamed": True}
    assert (ftp.root / "done" / "3" / "notes.txt").read_text() == "hello"
    assert not (ftp.root / "notes.txt").exists()


def test_continue_on_fail_turns_the_error_into_an_item(ftp: Ftp) -> None:
    (entry,) = outputs(ftp.run({"operation": "delete", "path": "/missing.txt"}, on_error="continue"))

    assert entry["error"].startswith("item 0: the FTP server refused deleting '/missing.txt': 550")
    assert entry["error_details"]["item_index"] == 0


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"operation": "download", "path": "/"}, "download needs the path of a file or folder"),
        ({"operation": "rename", "path": "/a"}, "rename needs the new path"),
        ({"operation": "delete", "path": "/a\r\nDELE /notes.txt"}, "a path cannot contain a line break"),
    ],
)
def test_parameters_are_checked_before_connecting(ftp: Ftp, parameters: dict[str, Any], message: str) -> None:
    error = failure(ftp.run(parameters))

    assert message in error["message"]
    assert (ftp.root / "notes.txt").exists()


def test_a_wrong_password_is_a_refused_login(ftp: Ftp) -> None:
    error = failure(
        run_node(
            "files.ftp",
            {"operation": "list"},
            credential_type="ftp",
            host=host_for({**ftp.credential, "password": "wrong"}),
        )
    )

    assert error["message"].startswith(f"the FTP server at 127.0.0.1:{ftp.port} refused the login: 530 ")
    assert error["description"] == "Check the credential's user and password."
    assert "wrong" not in error["message"]


def test_connection_test_signs_in(ftp: Ftp) -> None:
    message = FtpCredential.test_connection(FtpFields.model_validate(ftp.credential))

    assert message == f"Connected to 127.0.0.1:{ftp.port} as ada (folder /)"


def test_ftps_on_a_server_without_tls_is_refused_clearly(ftp: Ftp) -> None:
    fields = FtpFields.model_validate({**ftp.credential, "security": "explicit_tls"})

    with pytest.raises(NodeError, match=r"refused starting TLS \(AUTH TLS\): 500 ") as caught:
        FtpCredential.test_connection(fields)
    assert "may not offer FTPS" in caught.value.description


def test_an_unreachable_server_is_named() -> None:
    fields = FtpFields(host="127.0.0.1", port=free_port(), user=USER)

    with pytest.raises(NodeError, match=r"cannot connect to the FTP server at 127\.0\.0\.1:\d+ \(connecting\): "):
        FtpCredential.test_connection(fields)


def test_list_lines_in_unix_and_dos_formats() -> None:
    unix = _list_line("-rw-r--r--   1 owner group     1234 Jan 05  2021 report final.pdf", "/in")
    link = _list_line("lrwxrwxrwx 1 o g 7 Mar  1 10:00 latest -> report.pdf", "/in")
    dos_file = _list_line("01-05-21  09:30PM             1234 report.pdf", "/in")
    dos_dir = _list_line("12-31-2020  10:00AM       <DIR>          old", "/in")

    assert unix == {
        "name": "report final.pdf",
        "path": "/in/report final.pdf",
        "type": "file",
        "size": 1234,
        "modified": "2021-01-05T00:00:00",
    }
    assert link is not None and (link["name"], link["type"]) == ("latest", "link")
    assert dos_file is not None and (dos_file["size"], dos_file["modified"]) == (1234, "2021-01-05T21:30:00")
    assert dos_dir is not None and (dos_dir["type"], dos_dir["size"]) == ("directory", None)
    assert _list_line("total 12", "/in") is None
