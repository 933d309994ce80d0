"""SendGrid Mail (sendgrid.mail) and the sendgrid_api credential, through the engine against a fake SendGrid."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item, NodeError
from nodes.sendgrid.credentials import SendgridApiCredential
from tests.fakes.sendgrid_server import API_KEY, MAIL_ONLY_KEY, SENDER, FakeSendgrid, fake_sendgrid_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

INVOICE = b"%PDF-1.7 fake invoice \x00\xff"


@pytest.fixture
def sendgrid() -> Iterator[FakeSendgrid]:
    with fake_sendgrid_server() as server:
        yield server


def credential(sendgrid: FakeSendgrid, key: str = API_KEY) -> dict[str, Any]:
    return {"api_key": key, "api_url": sendgrid.api_url}


def mail(
    sendgrid: FakeSendgrid,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(sendgrid, key))
    return run_node(
        "sendgrid.mail",
        {"sender": f"Shop <{SENDER}>", "to": "ada@example.com", "subject": "Hi", "text": "Hello", **parameters},
        items,
        credential_type="sendgrid_api",
        host=host,
        **settings,
    )


def test_send_one_email_per_item_with_text_and_html(sendgrid: FakeSendgrid) -> None:
    sent = outputs(
        mail(
            sendgrid,
            {"to": "{{ $json.name }} <{{ $json.email }}>", "subject": "Order {{ $json.id }}", "html": "<b>Hello</b>"},
            [{"id": 7, "name": "Ada", "email": "ada@example.com"}, {"id": 8, "name": "Grace", "email": "g@x.org"}],
        )
    )

    assert [(entry["to"], entry["subject"]) for entry in sent] == [
        (["ada@example.com"], "Order 7"),
        (["g@x.org"], "Order 8"),
    ]
    assert [entry["message_id"] for entry in sent] == [mail["message_id"] for mail in sendgrid.mails]
    request = sendgrid.received("POST", "/v3/mail/send")[0]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body == {
        "personalizations": [{"to": [{"email": "ada@example.com", "name": "Ada"}]}],
        "from": {"email": SENDER, "name": "Shop"},
        "subject": "Order 7",
        "content": [{"type": "text/plain", "value": "Hello"}, {"type": "text/html", "value": "<b>Hello</b>"}],
    }


def test_cc_bcc_reply_to_categories_and_a_scheduled_time(sendgrid: FakeSendgrid) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)

    (sent,) = outputs(
        mail(
            sendgrid,
            {
                "to": "ada@example.com, grace@example.com",
                "cc": "ops@example.com",
                "bcc": "audit@example.com",
                "reply_to": "Support <help@example.com>",
                "categories": "orders, eu",
                "send_at": when.isoformat(),
            },
        )
    )

    (body,) = sendgrid.mails
    assert body["personalizations"] == [
        {
            "to": [{"email": "ada@example.com"}, {"email": "grace@example.com"}],
            "cc": [{"email": "ops@example.com"}],
            "bcc": [{"email": "audit@example.com"}],
        }
    ]
    assert body["reply_to"] == {"email": "help@example.com", "name": "Support"}
    assert body["categories"] == ["orders", "eu"]
    assert body["send_at"] == int(when.timestamp()) == sent["send_at"]


def test_a_naive_send_at_is_read_in_the_workflows_time_zone_and_a_timestamp_as_is(sendgrid: FakeSendgrid) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    stamp = int(soon.timestamp())

    outputs(mail(sendgrid, {"send_at": soon.replace(tzinfo=None, microsecond=0).isoformat()}))
    outputs(mail(sendgrid, {"send_at": str(stamp)}))

    assert [entry["send_at"] for entry in sendgrid.mails] == [stamp, stamp]


def test_a_dynamic_template_with_data_from_an_expression(sendgrid: FakeSendgrid) -> None:
    (sent,) = outputs(
        mail(
            sendgrid,
            {
                "use_template": True,
                "subject": "",
                "text": "",
                "template_id": "d-0123456789abcdef0123456789abcdef",
                "template_data": '{"first_name": "{{ $json.name }}", "total": {{ $json.total }}}',
            },
            [{"name": "Ada", "total": 42}],
        )
    )

    (body,) = sendgrid.mails
    assert body["template_id"] == "d-0123456789abcdef0123456789abcdef"
    assert body["personalizations"][0]["dynamic_template_data"] == {"first_name": "Ada", "total": 42}
    assert "content" not in body and "subject" not in body
    assert sent["template_id"] == body["template_id"] and sent["subject"] is None


def test_attachments_come_from_the_items_binary_properties(sendgrid: FakeSendgrid) -> None:
    host = host_for(credential(sendgrid))
    invoice = host.store_binary(INVOICE, file_name="invoice.pdf", mime_type="application/pdf")
    chart = host.store_binary(b"\x89PNG fake", file_name="chart.png", mime_type="image/png")
    items = [Item({"id": 1}, binary={"data": invoice, "chart": chart})]

    (sent,) = outputs(
        run_node(
            "sendgrid.mail",
            {
                "sender": SENDER,
                "to": "ada@example.com",
                "subject": "Invoice",
                "text": "Attached",
                "attachments": "data, chart",
            },
            items,
            credential_type="sendgrid_api",
            host=host,
        )
    )

    assert sendgrid.mails[0]["attachments"] == [
        {
            "content": base64.b64encode(INVOICE).decode(),
            "filename": "invoice.pdf",
            "type": "application/pdf",
            "disposition": "attachment",
        },
        {
            "content": base64.b64encode(b"\x89PNG fake").decode(),
            "filename": "chart.png",
            "type": "image/png",
            "disposition": "attachment",
        },
    ]
    assert sent["attachments"] == ["invoice.pdf", "chart.png"]


def test_sandbox_mode_is_checked_but_not_sent(sendgrid: FakeSendgrid) -> None:
    (sent,) = outputs(mail(sendgrid, {"sandbox": True}))

    assert sent["accepted"] is True and sent["message_id"] is None
    assert sendgrid.received("POST", "/v3/mail/send")[0].body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert sendgrid.mails == []


def test_a_wrong_key_fails_clearly_without_showing_it(sendgrid: FakeSendgrid) -> None:
    error = failure(mail(sendgrid, {}, key="SG.wrong-key-123"))

    assert error["message"] == (
        "item 0: SendGrid refused sending the email to ada@example.com (401): "
        "The provided authorization grant is invalid, expired, or revoked"
    )
    assert "create a new one" in error["description"]
    assert "SG.wrong-key-123" not in json.dumps(error)


def test_sendgrids_refusals_name_the_field_and_the_item(sendgrid: FakeSendgrid) -> None:
    unverified = failure(
        mail(sendgrid, {"sender": "{{ $json.sender }}"}, [{"sender": SENDER}, {"sender": "x@spoof.example"}])
    )
    duplicate = failure(mail(sendgrid, {"to": "ada@example.com", "cc": "ADA@example.com"}))
    sendgrid.rate_limited = 1
    limited = failure(mail(sendgrid, {}))

    assert unverified["message"].startswith(
        "item 1: SendGrid refused sending the email to ada@example.com (403): from: The from address does not "
        "match a verified Sender Identity."
    )
    assert unverified["item_index"] == 1 and "Sender Authentication" in unverified["description"]
    assert duplicate["message"].endswith(
        "(400): personalizations.0: Each email address in the personalization block should be unique between to, "
        "cc, and bcc."
    )
    assert limited["message"].endswith("(429): too many requests")
    assert "after the limit resets (at 00:00:00 UTC)" in limited["description"]
    assert len(sendgrid.mails) == 1


def test_a_missing_attachment_names_the_items_binary_properties(sendgrid: FakeSendgrid) -> None:
    error = failure(mail(sendgrid, {"attachments": "invoice"}))

    assert error["message"] == "item 0 has no binary property 'invoice' (its binary properties: none)"
    assert sendgrid.requests == []


def test_continue_on_fail_turns_the_error_into_an_item(sendgrid: FakeSendgrid) -> None:
    (entry,) = outputs(mail(sendgrid, {"to": "ada@example.com, not-an-address"}, on_error="continue"))

    assert entry["error"] == "item 0: To: 'not-an-address' is not an email address"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_sendgrid(sendgrid: FakeSendgrid) -> None:
    no_subject = failure(mail(sendgrid, {"subject": ""}))
    no_body = failure(mail(sendgrid, {"text": "", "html": " "}))
    no_template = failure(mail(sendgrid, {"use_template": True}))
    bad_data = failure(mail(sendgrid, {"use_template": True, "template_id": "d-1", "template_data": "[1]"}))
    bad_time = failure(mail(sendgrid, {"send_at": "tomorrow"}))
    too_many = failure(mail(sendgrid, {"categories": [f"c{n}" for n in range(11)]}))

    assert "the email needs a subject" in no_subject["message"]
    assert "the email needs a text or an HTML body" in no_body["message"]
    assert "a dynamic template needs its template id" in no_template["message"]
    assert "the template data must be a JSON object" in bad_data["message"]
    assert "'tomorrow' is neither an ISO date and time nor a Unix timestamp" in bad_time["message"]
    assert "at most 10 categories, not 11" in too_many["message"]
    assert sendgrid.requests == []


def test_the_credential_test_reports_the_keys_access(sendgrid: FakeSendgrid) -> None:
    assert SendgridApiCredential.test_connection(credential(sendgrid)) == (
        "Connected: the key has 4 scopes and may send mail"
    )
    assert SendgridApiCredential.test_connection(credential(sendgrid, MAIL_ONLY_KEY)) == (
        "Connected: the key has 1 scopes and may send mail"
    )

    with pytest.raises(NodeError) as refused:
        SendgridApiCredential.test_connection(credential(sendgrid, "SG.revoked"))
    assert "(401)" in refused.value.message
