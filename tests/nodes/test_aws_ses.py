"""AWS SES (aws.ses) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import json
from email import message_from_string
from email.message import Message
from typing import Any

import pytest
from moto.ses.models import ses_backends

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node

ACCOUNT = "123456789012"
"""moto's account for keys it does not know."""
SENDER = "Acme Billing <billing@acme.test>"
REPORT = b"%PDF-1.4 report \x00\x01\xff"


@pytest.fixture
def verified(aws: Aws) -> Aws:
    """moto refuses unverified senders, as SES does: verify acme.test's billing address."""
    aws.client("ses").verify_email_identity(EmailAddress="billing@acme.test")
    return aws


def ses(
    aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, host: LocalHost | None = None, **settings: Any
) -> RunResult:
    host = host or host_for(aws.credential)
    return run_node("aws.ses", parameters, items, credential_type="aws", host=host, **settings)


def sent(aws: Aws) -> list[Any]:
    """What moto's SES accepted for delivery, oldest first."""
    return ses_backends[ACCOUNT][aws.region].sent_messages


def test_send_text_and_html_to_every_kind_of_recipient(verified: Aws) -> None:
    parameters = {
        "sender": SENDER,
        "to": "Grace <grace@example.com>, {{ $json.email }}",
        "cc": "boss@acme.test",
        "bcc": "archive@acme.test",
        "reply_to": "help@acme.test",
        "subject": "Invoice {{ $json.number }}",
        "text": "Invoice {{ $json.number }} is due.",
        "html": "<p>Invoice <b>{{ $json.number }}</b> is due.</p>",
    }

    (result,) = outputs(ses(verified, parameters, [{"email": "bob@example.com", "number": "INV-7"}]))

    (message,) = sent(verified)
    assert result == {
        "message_id": message.id,
        "from": SENDER,
        "to": ["Grace <grace@example.com>", "bob@example.com"],
        "cc": ["boss@acme.test"],
        "bcc": ["archive@acme.test"],
    }
    assert message.source == SENDER and message.subject == "Invoice INV-7"
    assert message.body == "<p>Invoice <b>INV-7</b> is due.</p>"
    assert message.destinations == {
        "ToAddresses": ["Grace <grace@example.com>", "bob@example.com"],
        "CcAddresses": ["boss@acme.test"],
        "BccAddresses": ["archive@acme.test"],
    }


def test_an_unverified_sender_is_rejected_with_the_item(verified: Aws) -> None:
    parameters = {"sender": "{{ $json.sender }}", "to": "grace@example.com", "subject": "Hi", "text": "Hello"}

    error = failure(ses(verified, parameters, [{"sender": "billing@acme.test"}, {"sender": "ceo@elsewhere.test"}]))

    assert error["message"] == (
        "item 1: AWS refused sending the email: MessageRejected (Email address not verified ceo@elsewhere.test)"
    )
    assert error["item_index"] == 1 and "Verify the sender's address or domain in SES" in error["description"]
    assert len(sent(verified)) == 1


def test_create_a_template_then_send_from_it_with_data(verified: Aws) -> None:
    template = {
        "operation": "create_template",
        "template_name": "welcome",
        "template_subject": "Welcome, {{name}}",
        "template_text": "Hello {{name}}, your plan is {{plan}}.",
        "template_html": "<p>Hello {{name}}</p>",
    }
    send = {
        "operation": "send_template",
        "sender": SENDER,
        "to": "{{ $json.email }}",
        "template_name": "welcome",
        "template_data": {"name": "{{ $json.name }}", "plan": "pro"},
    }

    (created,) = outputs(ses(verified, template))
    (result,) = outputs(ses(verified, send, [{"email": "ada@example.com", "name": "Ada"}]))

    assert created == {"template_name": "welcome", "created": True}
    stored = verified.client("ses").get_template(TemplateName="welcome")["Template"]
    assert (
        stored["SubjectPart"] == "Welcome, {{name}}" and stored["TextPart"] == "Hello {{name}}, your plan is {{plan}}."
    )
    (message,) = sent(verified)
    assert result["message_id"] == message.id and result["template_name"] == "welcome"
    assert message.template == "welcome" and json.loads(message.template_data) == {"name": "Ada", "plan": "pro"}
    assert message.destinations == {"ToAddresses": ["ada@example.com"]}


def test_send_raw_attaches_the_items_files_and_hides_bcc(verified: Aws) -> None:
    host = host_for(verified.credential)
    reference = host.store_binary(REPORT, file_name="may.pdf", mime_type="application/pdf")
    parameters = {
        "operation": "send_raw",
        "sender": SENDER,
        "to": "grace@example.com",
        "bcc": "archive@acme.test",
        "subject": "Report for {{ $json.month }}",
        "text": "Attached.",
        "attachments": "report",
    }

    (result,) = outputs(ses(verified, parameters, [Item({"month": "May"}, binary={"report": reference})], host))

    (message,) = sent(verified)
    assert result["message_id"] == message.id and result["attachments"] == 1
    assert "archive@acme.test" in message.destinations
    raw = message_from_string(message.raw_data)
    assert raw["Subject"] == "Report for May" and raw["To"] == "grace@example.com" and raw["Bcc"] is None
    attachments = [part for part in raw.walk() if part.get_filename()]
    assert [part.get_filename() for part in attachments] == ["may.pdf"]
    assert isinstance(attachments[0], Message) and attachments[0].get_payload(decode=True) == REPORT


def test_get_update_list_and_delete_templates(verified: Aws) -> None:
    client = verified.client("ses")
    for name in ("alpha", "beta", "gamma"):
        client.create_template(Template={"TemplateName": name, "SubjectPart": f"{name} news", "TextPart": "x"})
    update = {
        "operation": "update_template",
        "template_name": "beta",
        "template_subject": "Beta, {{name}}",
        "template_html": "<h1>{{name}}</h1>",
    }

    (updated,) = outputs(ses(verified, update))
    (found,) = outputs(ses(verified, {"operation": "get_template", "template_name": "{{ $json.t }}"}, [{"t": "beta"}]))
    everything = outputs(ses(verified, {"operation": "list_templates", "return_all": True}))
    limited = outputs(ses(verified, {"operation": "list_templates", "limit": 2}))
    (deleted,) = outputs(ses(verified, {"operation": "delete_template", "template_name": "gamma"}))

    assert updated == {"template_name": "beta", "updated": True}
    assert found == {"template_name": "beta", "subject": "Beta, {{name}}", "text": "", "html": "<h1>{{name}}</h1>"}
    assert sorted(entry["template_name"] for entry in everything) == ["alpha", "beta", "gamma"]
    assert all(isinstance(entry["created"], str) for entry in everything)
    assert len(limited) == 2
    assert deleted == {"template_name": "gamma", "deleted": True}
    assert [entry["Name"] for entry in client.list_templates()["TemplatesMetadata"]] == ["alpha", "beta"]


def test_template_errors_say_what_to_do(verified: Aws) -> None:
    verified.client("ses").create_template(Template={"TemplateName": "taken", "SubjectPart": "x", "TextPart": "x"})

    missing = failure(ses(verified, {"operation": "get_template", "template_name": "nope"}))
    duplicate = failure(
        ses(verified, {"operation": "create_template", "template_name": "taken", "template_subject": "Hi"})
    )

    assert (
        missing["message"]
        == "item 0: AWS refused reading template 'nope': TemplateDoesNotExist (Invalid Template Name.)"
    )
    assert "list_templates shows them" in missing["description"]
    assert duplicate["message"].startswith("item 0: AWS refused creating template 'taken': AlreadyExists")
    assert "use update_template" in duplicate["description"]


def test_continue_on_fail_turns_the_error_into_an_item(verified: Aws) -> None:
    parameters = {"operation": "send_template", "sender": SENDER, "to": "a@example.com", "template_name": "nope"}

    (entry,) = outputs(ses(verified, parameters, on_error="continue"))

    assert entry["error"].startswith("item 0: AWS refused sending the email of template 'nope': TemplateDoesNotExist")


def test_parameters_are_checked_before_calling_ses(verified: Aws) -> None:
    no_sender = failure(ses(verified, {"to": "a@example.com", "text": "x"}))
    no_recipient = failure(ses(verified, {"sender": SENDER, "text": "x"}))
    no_body = failure(ses(verified, {"sender": SENDER, "to": "a@example.com"}))
    bad_address = failure(ses(verified, {"sender": SENDER, "to": "{{ $json.to }}", "text": "x"}, [{"to": "nobody"}]))
    bad_data = failure(
        ses(
            verified,
            {
                "operation": "send_template",
                "sender": SENDER,
                "to": "a@b.co",
                "template_name": "t",
                "template_data": "[1]",
            },
        )
    )

    assert "send needs a From address" in no_sender["message"]
    assert "send needs a recipient in To, Cc or Bcc" in no_recipient["message"]
    assert "send needs a text or an HTML body" in no_body["message"]
    assert bad_address["message"] == "item 0: To: 'nobody' is not an email address"
    assert "template data must be an object" in bad_data["message"]
    assert sent(verified) == []
