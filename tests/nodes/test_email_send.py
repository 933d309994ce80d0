"""Send Email (email.send) run through the engine against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.email.credentials import SmtpCredential, SmtpFields
from nodes.sdk import Item, NodeError
from tests.fakes.smtp_server import FakeSmtpServer, free_port, smtp_server
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    with smtp_server(users={"bot": "s3cret"}, refuse=frozenset({"gone@example.com"})) as server:
        yield server


def send(
    server: FakeSmtpServer,
    parameters: dict[str, Any],
    items: list[Item],
    *,
    host: LocalHost | None = None,
) -> RunResult:
    host = host or LocalHost(credentials={"mail": server.credential()})
    data = workflow(
        [MANUAL, node("Email", "email.send", parameters, credentials={"smtp": {"id": "mail"}})],
        [("Start", "Email")],
    )
    return run(data, host=host, pinned={"Start": items})


def test_text_html_and_an_attachment_arrive_as_one_parsed_message(smtp: FakeSmtpServer) -> None:
    host = LocalHost(credentials={"mail": smtp.credential()})
    invoice = b"%PDF-1.4 pretend invoice \x00\xff"
    reference = host.store_binary(invoice, file_name="invoice.pdf", mime_type="application/pdf")
    parameters = {
        "to": "Ada Lovelace <ada@example.com>",
        "subject": "Invoice {{ $json.number }}",
        "text": "Hello {{ $json.name }}, your invoice is attached.",
        "html": "<p>Hello <b>{{ $json.name }}</b></p>",
        "attachments": "invoice",
        "reply_to": "billing@example.com",
    }

    result = send(smtp, parameters, [Item({"name": "Ada", "number": 42}, binary={"invoice": reference})], host=host)

    assert result.status is RunStatus.SUCCEEDED, result.error
    (output,) = output_json(result, "Email")
    assert output["accepted"] == ["ada@example.com"]
    assert output["rejected"] == {}
    assert smtp.logins == ["bot"]
    (received,) = smtp.messages
    assert received.mail_from == "studio@example.com"
    assert received.recipients == ["ada@example.com"]
    message = received.parsed()
    assert message["Message-ID"] == output["message_id"]
    assert message["Subject"] == "Invoice 42"
    assert message["From"] == "Studio <studio@example.com>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Reply-To"] == "billing@example.com"
    assert message.get_content_type() == "multipart/mixed"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip() == "Hello Ada, your invoice is attached."
    assert html is not None and html.get_content().strip() == "<p>Hello <b>Ada</b></p>"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == invoice


def test_html_only_is_a_single_html_part(smtp: FakeSmtpServer) -> None:
    result = send(smtp, {"to": "ada@example.com", "subject": "Hi", "html": "<h1>Hi</h1>"}, [Item({})])

    assert result.status is RunStatus.SUCCEEDED, result.error
    message = smtp.messages[0].parsed()
    assert message.get_content_type() == "text/html"
    assert message.get_content().strip() == "<h1>Hi</h1>"


def test_each_item_gets_its_own_email_and_bcc_stays_off_the_headers(smtp: FakeSmtpServer) -> None:
    parameters = {
        "to": "{{ $json.email }}",
        "cc": 'team@example.com, "Doe, Jane" <jane@example.com>',
        "bcc": "audit@example.com",
        "subject": "Hello {{ $json.name }}",
        "text": "Hi",
    }
    items = [Item({"name": "Ada", "email": "ada@example.com"}), Item({"name": "Grace", "email": "grace@example.com"})]

    result = send(smtp, parameters, items)

    assert result.status is RunStatus.SUCCEEDED, result.error
    outputs = output_json(result, "Email")
    assert [o["accepted"][0] for o in outputs] == ["ada@example.com", "grace@example.com"]
    assert [item.paired_item for item in result.last_outputs["Email"][0]] == [0, 1]
    assert len({o["message_id"] for o in outputs}) == 2
    assert [m.recipients for m in smtp.messages] == [
        ["ada@example.com", "team@example.com", "jane@example.com", "audit@example.com"],
        ["grace@example.com", "team@example.com", "jane@example.com", "audit@example.com"],
    ]
    first = smtp.messages[0].parsed()
    assert first["Subject"] == "Hello Ada"
    assert first["Cc"] == 'team@example.com, "Doe, Jane" <jane@example.com>'
    assert first["Bcc"] is None
    assert b"audit@example.com" not in smtp.messages[0].data


def test_a_bad_address_fails_naming_the_item_and_sends_nothing(smtp: FakeSmtpServer) -> None:
    items = [Item({"email": "ada@example.com"}), Item({"email": "not an address"})]

    result = send(smtp, {"to": "{{ $json.email }}", "text": "Hi"}, items)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["item_index"] == 1
    assert result.error["message"] == "item 1: To: 'not an address' is not an email address"
    assert smtp.messages == []


def test_a_header_injection_attempt_is_refused(smtp: FakeSmtpServer) -> None:
    result = send(smtp, {"to": "ada@example.com\r\nBcc: evil@example.com", "text": "Hi"}, [Item({})])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert "is not an email address" in result.error["message"]
    assert smtp.messages == []


def test_a_refused_recipient_is_reported_and_the_others_get_the_email(smtp: FakeSmtpServer) -> None:
    result = send(smtp, {"to": "ada@example.com, gone@example.com", "text": "Hi"}, [Item({})])

    assert result.status is RunStatus.SUCCEEDED, result.error
    (output,) = output_json(result, "Email")
    assert output["accepted"] == ["ada@example.com"]
    assert list(output["rejected"]) == ["gone@example.com"]
    assert output["rejected"]["gone@example.com"].startswith("550")
    assert smtp.messages[0].recipients == ["ada@example.com"]


def test_every_recipient_refused_fails_naming_the_item(smtp: FakeSmtpServer) -> None:
    items = [Item({"email": "ada@example.com"}), Item({"email": "gone@example.com"})]

    result = send(smtp, {"to": "{{ $json.email }}", "text": "Hi"}, items)

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 1
    assert "refused every recipient" in result.error["message"]
    assert len(smtp.messages) == 1


def test_a_missing_attachment_property_names_the_item(smtp: FakeSmtpServer) -> None:
    result = send(smtp, {"to": "ada@example.com", "attachments": "data, report"}, [Item({})])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert "no binary property 'data'" in result.error["message"]


def test_a_wrong_password_fails_the_run_with_what_to_do(smtp: FakeSmtpServer) -> None:
    host = LocalHost(credentials={"mail": smtp.credential(password="wrong")})

    result = send(smtp, {"to": "ada@example.com", "text": "Hi"}, [Item({})], host=host)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "refused the login of 'bot'" in result.error["message"]
    assert "password" in result.error["description"]


def test_connection_test_logs_in_to_the_server(smtp: FakeSmtpServer) -> None:
    fields = SmtpFields.model_validate(smtp.credential())

    assert SmtpCredential.test_connection(fields) == f"Connected to 127.0.0.1:{smtp.port}"
    assert smtp.logins == ["bot"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "wrong"}, "refused the login of 'bot'"),
        ({"security": "starttls"}, "does not offer STARTTLS"),
        ({"security": "ssl"}, "cannot connect to the SMTP server"),
    ],
)
def test_connection_test_says_what_is_wrong(smtp: FakeSmtpServer, overrides: dict[str, Any], message: str) -> None:
    fields = SmtpFields.model_validate(smtp.credential(**overrides))

    with pytest.raises(NodeError, match=message):
        SmtpCredential.test_connection(fields)


def test_connection_test_on_a_closed_port_fails() -> None:
    fields = SmtpFields(host="127.0.0.1", port=free_port(), security="none", sender="studio@example.com")

    with pytest.raises(NodeError, match=r"cannot connect to the SMTP server 127\.0\.0\.1:\d+"):
        SmtpCredential.test_connection(fields)


@pytest.mark.parametrize(
    ("sender", "message"),
    [("studio", "'studio' is not an email address"), ("a@example.com, b@example.com", "must be one email address")],
)
def test_an_invalid_sender_is_refused_by_the_credential_form(sender: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SmtpFields(host="smtp.example.com", sender=sender)


def test_a_subject_with_a_line_break_is_refused_before_anything_is_sent(smtp: FakeSmtpServer) -> None:
    result = send(smtp, {"to": "ada@example.com", "subject": "Hi\r\nBcc: eve@example.com"}, [Item({})])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert "the subject has a line break" in result.error["message"]
    assert smtp.messages == []
