"""Mailgun Message (mailgun.message) and the mailgun_api credential, through the engine against a fake Mailgun."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.mailgun.credentials import MailgunApiCredential
from nodes.sdk import Item, NodeError
from tests.fakes.mailgun_server import API_KEY, DOMAIN, FakeMailgun, fake_mailgun_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

MESSAGES = f"/v3/{DOMAIN}/messages"
SENDER = f"Shop <shop@{DOMAIN}>"


@pytest.fixture
def mailgun() -> Iterator[FakeMailgun]:
    with fake_mailgun_server() as server:
        yield server


def credential(mailgun: FakeMailgun, **fields: Any) -> dict[str, Any]:
    return {"api_key": API_KEY, "domain": DOMAIN, "region": "custom", "api_url": mailgun.api_url, **fields}


def run(
    mailgun: FakeMailgun,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    fields: dict[str, Any] | None = None,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(mailgun, **(fields or {})))
    return run_node("mailgun.message", parameters, items, credential_type="mailgun_api", host=host, **settings)


def send(mailgun: FakeMailgun, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> RunResult:
    return run(
        mailgun,
        {"sender": SENDER, "to": "ada@example.com", "subject": "Hi", "text": "Hello", **parameters},
        *args,
        **kwargs,
    )


def test_send_one_email_per_item_as_a_form_with_basic_auth(mailgun: FakeMailgun) -> None:
    sent = outputs(
        send(
            mailgun,
            {"to": "{{ $json.email }}", "subject": "Order {{ $json.id }}", "html": "<b>Hello</b>"},
            [{"id": 7, "email": "ada@example.com"}, {"id": 8, "email": "grace@example.com"}],
        )
    )

    assert [(entry["to"], entry["subject"], entry["message"]) for entry in sent] == [
        (["ada@example.com"], "Order 7", "Queued. Thank you."),
        (["grace@example.com"], "Order 8", "Queued. Thank you."),
    ]
    assert [entry["id"] for entry in sent] == [message["id"] for message in mailgun.sent]
    request = mailgun.received("POST", MESSAGES)[0]
    assert request.form == {
        "from": [SENDER],
        "to": ["ada@example.com"],
        "subject": ["Order 7"],
        "text": ["Hello"],
        "html": ["<b>Hello</b>"],
    }
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


def test_cc_bcc_reply_to_tags_test_mode_and_attachments_go_as_multipart(mailgun: FakeMailgun) -> None:
    host = host_for(credential(mailgun))
    invoice = host.store_binary(b"%PDF fake", file_name="invoice.pdf", mime_type="application/pdf")
    items = [Item({"id": 1}, binary={"data": invoice})]

    (sent,) = outputs(
        run_node(
            "mailgun.message",
            {
                "sender": SENDER,
                "to": "Ada <ada@example.com>, grace@example.com",
                "cc": "ops@example.com",
                "bcc": "audit@example.com",
                "reply_to": "help@example.com",
                "subject": "Invoice",
                "text": "Attached",
                "attachments": "data",
                "tags": "invoices, eu",
                "test_mode": True,
            },
            items,
            credential_type="mailgun_api",
            host=host,
        )
    )

    request = mailgun.received("POST", MESSAGES)[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.form["to"] == ["Ada <ada@example.com>", "grace@example.com"]
    assert (request.form["cc"], request.form["bcc"]) == (["ops@example.com"], ["audit@example.com"])
    assert request.form["h:Reply-To"] == ["help@example.com"]
    assert (request.form["o:tag"], request.form["o:testmode"]) == (["invoices", "eu"], ["yes"])
    (upload,) = request.files
    assert (upload.field, upload.file_name, upload.content_type, upload.data) == (
        "attachment",
        "invoice.pdf",
        "application/pdf",
        b"%PDF fake",
    )
    assert sent["attachments"] == ["invoice.pdf"]
    assert [event["recipient"] for event in mailgun.events] == [
        "ada@example.com",
        "grace@example.com",
        "ops@example.com",
        "audit@example.com",
    ]


def test_get_events_follows_the_next_links_until_an_empty_page(mailgun: FakeMailgun) -> None:
    for n in range(5):
        mailgun.add_event("delivered", f"r{n}@example.com")
    mailgun.add_event("failed", "bounce@example.com")

    found = outputs(run(mailgun, {"operation": "get_events", "event": "delivered", "return_all": True}))

    assert [entry["recipient"] for entry in found] == [f"r{n}@example.com" for n in (4, 3, 2, 1, 0)]
    pages = mailgun.requests
    assert pages[0].path == f"/v3/{DOMAIN}/events"
    assert pages[0].query == {"ascending": "no", "event": "delivered", "limit": "300"}
    assert len(pages) == 2 and pages[1].path.startswith(f"/v3/{DOMAIN}/events/")


def test_get_events_with_a_limit_pages_by_the_limit_and_stops(mailgun: FakeMailgun) -> None:
    for n in range(7):
        mailgun.add_event("accepted", "{}@example.com".format("ada" if n % 2 else "grace"))

    limited = outputs(run(mailgun, {"operation": "get_events", "limit": 2, "ascending": True}))
    for_ada = outputs(
        run(mailgun, {"operation": "get_events", "recipient": "{{ $json.who }}"}, [{"who": "ada@example.com"}])
    )

    assert [entry["id"] for entry in limited] == ["ev00000001", "ev00000002"]
    assert mailgun.requests[0].query["limit"] == "2" and mailgun.requests[0].query["ascending"] == "yes"
    assert [entry["id"] for entry in for_ada] == ["ev00000006", "ev00000004", "ev00000002"]


def test_a_wrong_key_fails_clearly_without_showing_it(mailgun: FakeMailgun) -> None:
    error = failure(send(mailgun, {}, fields={"api_key": "key-wrong-123"}))

    assert error["message"] == "item 0: Mailgun refused sending the email to ada@example.com (401): Forbidden"
    assert "pick the region the domain lives in" in error["description"]
    assert "key-wrong-123" not in json.dumps(error)


def test_an_unknown_domain_invalid_address_and_the_rate_limit_are_explained(mailgun: FakeMailgun) -> None:
    unknown = failure(send(mailgun, {}, fields={"domain": "mg.other.com"}))
    invalid = failure(send(mailgun, {"to": "{{ $json.to }}"}, [{"to": "ada@example.com"}, {"to": "ada@localhost"}]))
    mailgun.rate_limited = 1
    limited = failure(run(mailgun, {"operation": "get_events"}))

    assert unknown["message"] == (
        "item 0: Mailgun refused sending the email to ada@example.com (404): Domain not found: mg.other.com"
    )
    assert "domain and region" in unknown["description"]
    assert invalid["message"] == "item 1: To: 'ada@localhost' is not an email address"
    assert limited["message"] == f"item 0: Mailgun refused reading the events of {DOMAIN} (429): Too many requests"
    assert "retry the node later" in limited["description"]
    assert len(mailgun.sent) == 1


def test_mailguns_own_validation_message_is_shown(mailgun: FakeMailgun) -> None:
    mailgun.add_event("delivered", "ada@example.com")

    since = outputs(run(mailgun, {"operation": "get_events", "begin": "Thu, 1 Jan 2026 08:00:00 -0000"}))
    error = failure(run(mailgun, {"operation": "get_events", "begin": "yesterday"}))

    assert [entry["recipient"] for entry in since] == ["ada@example.com"]
    assert error["message"] == (
        f"item 0: Mailgun refused reading the events of {DOMAIN} (400): 'begin' parameter is not a valid "
        "datetime: yesterday"
    )
    assert "Change what Mailgun named above" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(mailgun: FakeMailgun) -> None:
    (entry,) = outputs(send(mailgun, {"attachments": "invoice"}, on_error="continue"))

    assert entry["error"] == "item 0 has no binary property 'invoice' (its binary properties: none)"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_mailgun(mailgun: FakeMailgun) -> None:
    no_from = failure(run(mailgun, {"to": "ada@example.com", "text": "hi"}))
    no_body = failure(send(mailgun, {"text": " "}))
    too_many_tags = failure(send(mailgun, {"tags": ["a", "b", "c", "d"]}))
    two_senders = failure(send(mailgun, {"sender": f"a@{DOMAIN}, b@{DOMAIN}"}))

    assert "send needs the From address" in no_from["message"]
    assert "send needs a text or an HTML body" in no_body["message"]
    assert "at most 3 tags per email, not 4" in too_many_tags["message"]
    assert two_senders["message"] == "item 0: From must be one address, not 2"
    assert mailgun.requests == []


def test_the_credential_picks_the_region_and_tests_the_domain(mailgun: FakeMailgun) -> None:
    assert MailgunApiCredential.parse({"api_key": API_KEY, "domain": DOMAIN}).base_url == "https://api.mailgun.net"
    assert MailgunApiCredential.parse({"api_key": API_KEY, "domain": DOMAIN, "region": "eu"}).base_url == (
        "https://api.eu.mailgun.net"
    )
    assert MailgunApiCredential.test_connection(credential(mailgun)) == f"Connected to {DOMAIN} (active)"

    with pytest.raises(NodeError) as refused:
        MailgunApiCredential.test_connection(credential(mailgun, api_key="key-revoked"))
    assert refused.value.message == "Mailgun refused checking the key and the domain (401): Forbidden"
    with pytest.raises(NodeError) as no_url:
        MailgunApiCredential.parse({"api_key": API_KEY, "domain": DOMAIN, "region": "custom"})
    assert "a custom region needs an API URL" in no_url.value.message
