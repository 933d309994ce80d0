"""Email Trigger (IMAP) (trigger.email_imap) through the engine, against a real Dovecot on 127.0.0.1.

Run by hand it outputs the mailbox; polled (mode ``poll``, its cursor in the
node's state, as the studio's poller runs it) it outputs only new messages,
oldest first, and hands back the cursor for the next poll.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from pydantic import ValidationError

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner, RunResult
from hitl_studio.engine.states import RunStatus
from nodes.email.credentials import ImapCredential, ImapFields, encode_mailbox
from nodes.email.imap_trigger import EmailImapTriggerParameters
from nodes.registry import get_registry
from nodes.sdk import POLL_CURSOR, Item, NodeError
from tests.fakes.imap_server import DovecotServer, dovecot_server
from tests.fakes.smtp_server import free_port
from tests.workflows import node, output_json, run, workflow

USERS = {"ada": "s3cret-Pass", "zoe": "pässwörd"}
TRIGGER = "New mail"
_names = itertools.count()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    with dovecot_server(USERS) as server:
        yield server


@pytest.fixture
def private_dovecot() -> Iterator[DovecotServer]:
    """A server of the test's own: Dovecot slows every login from an address that failed one."""
    with dovecot_server(USERS) as server:
        yield server


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> str:
    """A new, empty mailbox for the test, so tests sharing the server do not see each other's mail."""
    name = f"Test{next(_names)}"
    dovecot.create(name)
    return name


def mail(
    subject: str,
    *,
    text: str = "Hello",
    html: str | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    date: str = "Wed, 04 Jun 2025 10:00:00 +0200",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Ada Lovelace <ada@example.com>"
    message["To"] = '"Hopper, Grace" <grace@example.com>, bob@example.com'
    message["Cc"] = "carol@example.com"
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for file_name, mime_type, data in attachments:
        maintype, subtype = mime_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=file_name)
    return message


def mail_flow(**parameters: Any) -> dict[str, Any]:
    return workflow(
        [
            node(
                TRIGGER,
                "trigger.email_imap",
                {"poll_every": "@every 1m", **parameters},
                credentials={"imap": {"id": "box"}},
            ),
            node("Subject", "core.set", {"assignments": [{"name": "seen", "value": "{{ $json.subject }}"}]}),
        ],
        [(TRIGGER, "Subject")],
    )


def host_for(server: DovecotServer, **overrides: Any) -> LocalHost:
    return LocalHost(credentials={"box": server.credential(**overrides)})


def poll(server: DovecotServer, data: dict[str, Any], cursor: dict[str, Any] | None, **overrides: Any) -> RunResult:
    """Run the trigger alone in poll mode from ``cursor``, as the studio's poller does."""
    host = host_for(server, **overrides)
    runner = Runner(parse_workflow(data), get_registry(), host, execution_id="poll", execution_mode="poll")
    return runner.start(TRIGGER, [], stop_after=TRIGGER, state={TRIGGER: {POLL_CURSOR: cursor}})


def polled(result: RunResult) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, TRIGGER), result.node_state[TRIGGER][POLL_CURSOR]


def subjects(items: list[dict[str, Any]]) -> list[str]:
    return [item["subject"] for item in items]


def test_run_by_hand_it_outputs_the_inbox_to_the_next_node_and_leaves_it_unread(dovecot: DovecotServer) -> None:
    # The only test that puts mail in ada's INBOX, the Mailbox setting's default.
    first = dovecot.append(mail("First"))
    dovecot.append(mail("Second"))

    result = run(mail_flow(), [{}], host=host_for(dovecot))

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert [item["seen"] for item in output_json(result, "Subject")] == ["First", "Second"]
    assert "\\Seen" not in dovecot.flags("INBOX", first)


def test_polled_it_outputs_only_new_messages_oldest_first_and_moves_its_cursor(
    dovecot: DovecotServer, mailbox: str
) -> None:
    flow = mail_flow(mailbox=mailbox)
    old = dovecot.append(mail("Already there"), mailbox)
    everything, cursor = polled(poll(dovecot, flow, None))
    assert subjects(everything) == ["Already there"]
    assert cursor == {"uidvalidity": dovecot.uidvalidity(mailbox), "last_uid": old}

    nothing, same = polled(poll(dovecot, flow, cursor))
    assert nothing == [] and same == cursor

    one = dovecot.append(mail("Invoice 1", html="<p>Invoice <b>1</b></p>"), mailbox)
    two = dovecot.append(mail("Invoice 2", attachments=(("invoice.pdf", "application/pdf", b"%PDF-1.4 two"),)), mailbox)
    new, moved = polled(poll(dovecot, flow, cursor))
    assert subjects(new) == ["Invoice 1", "Invoice 2"]
    assert [item["uid"] for item in new] == [one, two] and moved == {**cursor, "last_uid": two}
    assert new[0]["text"] == "Hello\n" and new[0]["html"] == "<p>Invoice <b>1</b></p>\n"
    assert new[1]["html"] is None
    assert new[1]["attachments"] == [{"file_name": "invoice.pdf", "mime_type": "application/pdf", "size": 12}]
    assert polled(poll(dovecot, flow, moved)) == ([], moved)


def test_a_message_becomes_an_item_with_its_addresses_date_and_headers(dovecot: DovecotServer, mailbox: str) -> None:
    message = mail("Café ☕ report", date="Wed, 04 Jun 2025 10:00:00 +0200")
    uid = dovecot.append(message, mailbox)

    result = run(mail_flow(mailbox=mailbox), [{}], host=host_for(dovecot))

    assert result.status is RunStatus.SUCCEEDED, result.error
    [item] = output_json(result, TRIGGER)
    assert item["uid"] == uid
    assert item["message_id"] == message["Message-ID"]
    assert item["subject"] == "Café ☕ report"
    assert item["from"] == "Ada Lovelace <ada@example.com>"
    assert item["to"] == ['"Hopper, Grace" <grace@example.com>', "bob@example.com"]
    assert item["cc"] == ["carol@example.com"]
    assert item["date"] == "2025-06-04T08:00:00+00:00"
    assert item["text"] == "Hello\n" and item["html"] is None and item["attachments"] == []
    assert item["headers"]["subject"] == "Café ☕ report"
    assert item["headers"]["content-type"].startswith("text/plain")


def test_attachments_are_stored_as_binary_data_when_asked(dovecot: DovecotServer, mailbox: str) -> None:
    pdf, png = b"%PDF-1.4 invoice \x00\xff", b"\x89PNG\r\n\x1a\n pixels"
    attachments = (("invoice.pdf", "application/pdf", pdf), ("../../chart.png", "image/png", png))
    dovecot.append(mail("With files", html="<p>see files</p>", attachments=attachments), mailbox)
    host = host_for(dovecot)

    result = run(mail_flow(mailbox=mailbox, include_attachments=True), [{}], host=host)

    assert result.status is RunStatus.SUCCEEDED, result.error
    [item] = result.last_outputs[TRIGGER][0]
    assert item.json["text"] == "Hello\n" and item.json["html"] == "<p>see files</p>\n"
    assert item.json["attachments"] == [
        {
            "file_name": "invoice.pdf",
            "mime_type": "application/pdf",
            "size": len(pdf),
            "binary_property": "attachment_0",
        },
        {"file_name": "chart.png", "mime_type": "image/png", "size": len(png), "binary_property": "attachment_1"},
    ]
    assert host.read_binary(item.binary["attachment_0"]) == pdf
    assert item.binary["attachment_1"]["file_name"] == "chart.png"
    assert host.read_binary(item.binary["attachment_1"]) == png
    without = run(mail_flow(mailbox=mailbox), [{}], host=host)
    assert without.last_outputs[TRIGGER][0][0].binary == {}


def test_a_forwarded_message_is_one_attachment(dovecot: DovecotServer, mailbox: str) -> None:
    outer = mail("Fwd: Invoice")
    outer.add_attachment(mail("Invoice", attachments=(("a.pdf", "application/pdf", b"inner"),)))
    dovecot.append(outer, mailbox)
    host = host_for(dovecot)

    result = run(mail_flow(mailbox=mailbox, include_attachments=True), [{}], host=host)

    assert result.status is RunStatus.SUCCEEDED, result.error
    [item] = result.last_outputs[TRIGGER][0]
    assert [(a["file_name"], a["mime_type"]) for a in item.json["attachments"]] == [
        ("attachment_0.eml", "message/rfc822")
    ]
    assert b"Subject: Invoice" in host.read_binary(item.binary["attachment_0"])


def test_a_badly_formed_message_still_becomes_an_item(dovecot: DovecotServer, mailbox: str) -> None:
    raw = (
        b"Date: not a date\r\nSubject: caf\xc3\xa9\r\nFrom: nobody\r\nTo: undisclosed-recipients:;\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\ncaf\xc3\xa9\r\n"
    )
    dovecot.append(raw, mailbox)

    result = run(mail_flow(mailbox=mailbox), [{}], host=host_for(dovecot))

    assert result.status is RunStatus.SUCCEEDED, result.error
    [item] = output_json(result, TRIGGER)
    assert item["date"] is None and item["message_id"] is None and item["to"] == []
    assert item["from"] == "nobody" and item["text"] == "café\n"


def test_mark_as_read_sets_the_seen_flag_on_what_it_found(dovecot: DovecotServer, mailbox: str) -> None:
    flow = mail_flow(mailbox=mailbox, mark_as_read=True)
    before = dovecot.append(mail("Before activation"), mailbox)
    _, cursor = polled(poll(dovecot, flow, None))
    # The first poll's items start no run: they are not marked.
    assert "\\Seen" not in dovecot.flags(mailbox, before)
    found = dovecot.append(mail("Read me"), mailbox)

    new, _ = polled(poll(dovecot, flow, cursor))

    assert subjects(new) == ["Read me"] and "\\Seen" in dovecot.flags(mailbox, found)
    by_hand = run(flow, [{}], host=host_for(dovecot))
    assert subjects(output_json(by_hand, TRIGGER)) == ["Before activation", "Read me"]
    assert "\\Seen" in dovecot.flags(mailbox, before)


def test_only_unread_skips_read_messages_and_moves_past_them(dovecot: DovecotServer, mailbox: str) -> None:
    flow = mail_flow(mailbox=mailbox, only_unseen=True)
    dovecot.append(mail("Old unread"), mailbox)
    old_read = dovecot.append(mail("Old read"), mailbox, seen=True)
    everything, cursor = polled(poll(dovecot, flow, None))
    assert subjects(everything) == ["Old unread"] and cursor["last_uid"] == old_read

    dovecot.append(mail("New unread"), mailbox)
    new_read = dovecot.append(mail("New read"), mailbox, seen=True)
    new, moved = polled(poll(dovecot, flow, cursor))

    assert subjects(new) == ["New unread"] and moved["last_uid"] == new_read


def test_a_poll_takes_at_most_max_messages_and_leaves_the_rest_for_the_next(
    dovecot: DovecotServer, mailbox: str
) -> None:
    flow = mail_flow(mailbox=mailbox, max_messages=2)
    for number in range(3):
        dovecot.append(mail(f"Old {number}"), mailbox)
    now, cursor = polled(poll(dovecot, flow, None))
    # From no cursor: the newest, and everything there counts as seen.
    assert subjects(now) == ["Old 1", "Old 2"] and cursor["last_uid"] == 3

    for number in range(3):
        dovecot.append(mail(f"New {number}"), mailbox)
    first, cursor = polled(poll(dovecot, flow, cursor))
    second, cursor = polled(poll(dovecot, flow, cursor))

    assert subjects(first) == ["New 0", "New 1"] and subjects(second) == ["New 2"] and cursor["last_uid"] == 6


def test_a_recreated_mailbox_starts_over_from_its_new_uidvalidity(dovecot: DovecotServer, mailbox: str) -> None:
    flow = mail_flow(mailbox=mailbox)
    for number in range(3):
        dovecot.append(mail(f"Before {number}"), mailbox)
    _, cursor = polled(poll(dovecot, flow, None))
    dovecot.delete(mailbox)
    dovecot.create(mailbox)
    uid = dovecot.append(mail("After"), mailbox)

    found, moved = polled(poll(dovecot, flow, cursor))

    # Its UIDs start over at 1: with the old cursor the new message (UID 1 < 3) would never be found.
    assert uid == 1 and subjects(found) == ["After"]
    assert moved == {"uidvalidity": dovecot.uidvalidity(mailbox), "last_uid": 1} != cursor


def test_a_mailbox_name_with_spaces_and_accents_is_found(dovecot: DovecotServer) -> None:
    assert encode_mailbox("Reçus 2025") == '"Re&AOc-us 2025"'
    dovecot.create('"Re&AOc-us 2025"')
    dovecot.append(mail("Receipt"), '"Re&AOc-us 2025"')

    result = run(mail_flow(mailbox="Reçus 2025"), [{}], host=host_for(dovecot))

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert subjects(output_json(result, TRIGGER)) == ["Receipt"]


def test_a_password_with_accents_logs_in(dovecot: DovecotServer) -> None:
    # LOGIN sends ASCII only; the node falls back to AUTHENTICATE PLAIN, in UTF-8.
    result = run(mail_flow(), [{}], host=host_for(dovecot, user="zoe", password="pässwörd"))

    assert result.status is RunStatus.SUCCEEDED, result.error


def test_the_run_the_poller_starts_passes_the_found_items_on(dovecot: DovecotServer) -> None:
    runner = Runner(
        parse_workflow(mail_flow()), get_registry(), host_for(dovecot), execution_id="run", execution_mode="poll"
    )
    result = runner.start(TRIGGER, [Item({"subject": "found"})])

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert output_json(result, "Subject") == [{"subject": "found", "seen": "found"}]


def test_a_wrong_password_fails_the_poll_without_showing_the_password(private_dovecot: DovecotServer) -> None:
    result = poll(private_dovecot, mail_flow(), None, password="not-the-s3cret")

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == TRIGGER
    assert result.error["message"] == (
        f"the IMAP server 127.0.0.1:{private_dovecot.port} refused the login for user 'ada': "
        "[AUTHENTICATIONFAILED] Authentication failed."
    )
    assert "password" in result.error["description"]
    assert "not-the-s3cret" not in str(result.error)


def test_an_unknown_mailbox_fails_the_poll_naming_it(dovecot: DovecotServer) -> None:
    result = poll(dovecot, mail_flow(mailbox="Nope"), {"uidvalidity": 1, "last_uid": 0})

    assert result.status is RunStatus.FAILED and result.error is not None
    assert result.error["message"].startswith(
        f"the IMAP server 127.0.0.1:{dovecot.port} cannot open the mailbox 'Nope':"
    )
    assert "doesn't exist" in result.error["message"]
    assert "Mailbox setting" in result.error["description"]


def test_an_unreachable_server_fails_the_poll_naming_it(dovecot: DovecotServer) -> None:
    port = free_port()

    result = poll(dovecot, mail_flow(), None, port=port)

    assert result.status is RunStatus.FAILED and result.error is not None
    assert result.error["message"].startswith(f"cannot connect to the IMAP server 127.0.0.1:{port}: ")
    assert "Check the host, the port" in result.error["description"]


def test_connection_test_logs_in(dovecot: DovecotServer) -> None:
    fields = ImapFields.model_validate(dovecot.credential())

    assert ImapCredential.test_connection(fields) == f"Connected to 127.0.0.1:{dovecot.port}"


def test_connection_test_names_a_refused_login(private_dovecot: DovecotServer) -> None:
    fields = ImapFields.model_validate(private_dovecot.credential(password="wrong"))

    with pytest.raises(NodeError, match=r"refused the login for user 'ada': \[AUTHENTICATIONFAILED\]"):
        ImapCredential.test_connection(fields)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"security": "starttls"}, r"the IMAP server 127\.0\.0\.1:\d+ does not offer STARTTLS"),
        ({"security": "tls"}, r"TLS with the IMAP server 127\.0\.0\.1:\d+ failed: .*WRONG_VERSION_NUMBER"),
    ],
)
def test_connection_test_says_what_is_wrong_with_security(
    dovecot: DovecotServer, overrides: dict[str, Any], message: str
) -> None:
    fields = ImapFields.model_validate(dovecot.credential(**overrides))

    with pytest.raises(NodeError, match=message):
        ImapCredential.test_connection(fields)


def test_parameters_and_credential_are_checked() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1000"):
        EmailImapTriggerParameters(max_messages=1001)
    with pytest.raises(ValidationError, match="without spaces"):
        ImapFields(host="imap example.com", user="ada")
    defaults = EmailImapTriggerParameters()
    assert (defaults.mailbox, defaults.only_unseen, defaults.mark_as_read, defaults.max_messages) == (
        "INBOX",
        False,
        False,
        100,
    )
    assert ImapFields(host="imap.example.com", user="ada").model_dump() == {
        "host": "imap.example.com",
        "port": 993,
        "user": "ada",
        "password": "",
        "security": "tls",
    }
