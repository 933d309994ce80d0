"""Twilio Message (twilio.message) and the twilio_api credential, through the engine against a fake Twilio."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.twilio.credentials import TwilioApiCredential
from tests.fakes.twilio_server import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    MESSAGING_SERVICE_SID,
    NUMBER,
    FakeTwilio,
    fake_twilio_server,
)
from tests.nodes.integrations import failure, host_for, outputs, run_node

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio_server() as server:
        yield server


def credential(twilio: FakeTwilio, **fields: Any) -> dict[str, Any]:
    return {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_url": twilio.api_url, **fields}


def message(
    twilio: FakeTwilio,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    fields: dict[str, Any] | None = None,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(twilio, **(fields or {})))
    return run_node("twilio.message", parameters, items, credential_type="twilio_api", host=host, **settings)


def test_send_an_sms_per_item_form_encoded_with_basic_auth(twilio: FakeTwilio) -> None:
    sent = outputs(
        message(
            twilio,
            {"sender": NUMBER, "to": "{{ $json.phone }}", "body": "Order {{ $json.id }} shipped"},
            [{"id": 7, "phone": "+15558675310"}, {"id": 8, "phone": "+15558675311"}],
        )
    )

    assert [(entry["to"], entry["body"], entry["status"]) for entry in sent] == [
        ("+15558675310", "Order 7 shipped", "queued"),
        ("+15558675311", "Order 8 shipped", "queued"),
    ]
    assert [entry["sid"] for entry in sent] == list(twilio.messages)
    request = twilio.received("POST", "/Messages.json")[0]
    assert request.form == {"To": ["+15558675310"], "From": [NUMBER], "Body": ["Order 7 shipped"]}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"].startswith("Basic ")


def test_send_whatsapp_with_media_and_a_status_callback_signed_with_an_api_key(twilio: FakeTwilio) -> None:
    (sent,) = outputs(
        message(
            twilio,
            {
                "channel": "whatsapp",
                "sender": NUMBER,
                "to": "+15558675310",
                "body": "Your chart",
                "media_urls": "https://example.com/a.png, https://example.com/b.png",
                "status_callback": "https://studio.example.com/hooks/twilio",
            },
            fields={
                "auth_type": "api_key",
                "auth_token": "",
                "api_key_sid": API_KEY_SID,
                "api_key_secret": API_KEY_SECRET,
            },
        )
    )

    assert (sent["from"], sent["to"], sent["num_media"]) == ("whatsapp:" + NUMBER, "whatsapp:+15558675310", "2")
    assert twilio.received("POST", "/Messages.json")[0].form == {
        "To": ["whatsapp:+15558675310"],
        "From": ["whatsapp:" + NUMBER],
        "Body": ["Your chart"],
        "MediaUrl": ["https://example.com/a.png", "https://example.com/b.png"],
        "StatusCallback": ["https://studio.example.com/hooks/twilio"],
    }


def test_a_messaging_service_sid_picks_the_sender(twilio: FakeTwilio) -> None:
    (sent,) = outputs(message(twilio, {"sender": MESSAGING_SERVICE_SID, "to": "+15558675310", "body": "hi"}))

    assert sent["messaging_service_sid"] == MESSAGING_SERVICE_SID
    assert twilio.received("POST", "/Messages.json")[0].form["MessagingServiceSid"] == [MESSAGING_SERVICE_SID]
    assert "From" not in twilio.received("POST", "/Messages.json")[0].form


def test_get_and_delete_a_message_by_sid(twilio: FakeTwilio) -> None:
    earlier = twilio.add_message("+15558675310", NUMBER, "Hello")

    (got,) = outputs(message(twilio, {"operation": "get", "message_sid": "{{ $json.sid }}"}, [{"sid": earlier["sid"]}]))
    (deleted,) = outputs(message(twilio, {"operation": "delete", "message_sid": earlier["sid"]}))

    assert got == earlier
    assert deleted == {"sid": earlier["sid"], "deleted": True}
    assert twilio.messages == {}
    assert twilio.received("DELETE", f"/Messages/{earlier['sid']}.json")


def test_get_many_filters_by_recipient_newest_first(twilio: FakeTwilio) -> None:
    for n in range(5):
        twilio.add_message("+15558675310", NUMBER, f"to A {n}")
    twilio.add_message("+15558675399", NUMBER, "to B")

    found = outputs(message(twilio, {"operation": "get_many", "filter_to": "+15558675310", "return_all": True}))

    assert [entry["body"] for entry in found] == [f"to A {n}" for n in (4, 3, 2, 1, 0)]
    pages = twilio.received("GET", "/Messages.json")
    assert [(r.query.get("Page"), r.query["PageSize"], r.query["To"]) for r in pages] == [
        (None, "1000", "+15558675310")
    ]


def test_get_many_with_a_limit_pages_by_the_limit_and_stops(twilio: FakeTwilio) -> None:
    for n in range(7):
        twilio.add_message("+15558675310", NUMBER, f"m{n}")

    found = outputs(message(twilio, {"operation": "get_many", "limit": 3}))

    assert [entry["body"] for entry in found] == ["m6", "m5", "m4"]
    (page,) = twilio.received("GET", "/Messages.json")
    assert page.query["PageSize"] == "3"


def test_get_many_filters_by_the_day_sent(twilio: FakeTwilio) -> None:
    for day in (1, 2, 2, 2, 3):
        twilio.add_message("+15558675310", NUMBER, f"day {day}", datetime(2026, 1, day, 12, tzinfo=UTC))
    twilio.add_message("+15558675310", NUMBER, "later", datetime(2026, 1, 9, 12, tzinfo=UTC))

    on_day_two = outputs(message(twilio, {"operation": "get_many", "sent_on": "2026-01-02", "limit": 10}))
    between = outputs(
        message(
            twilio,
            {
                "operation": "get_many",
                "sent_on_or_after": "2026-01-02",
                "sent_on_or_before": "2026-01-03",
                "return_all": True,
            },
        )
    )

    assert [entry["body"] for entry in on_day_two] == ["day 2"] * 3
    assert [entry["body"] for entry in between] == ["day 3", "day 2", "day 2", "day 2"]
    last = twilio.received("GET", "/Messages.json")[-1]
    assert (last.query["DateSent>"], last.query["DateSent<"]) == ("2026-01-02", "2026-01-03")


def test_limit_over_several_pages_follows_next_page_uri(twilio: FakeTwilio) -> None:
    for n in range(2500):
        twilio.add_message("+15558675310", NUMBER, str(n))

    found = outputs(message(twilio, {"operation": "get_many", "limit": 2100}))

    assert len(found) == 2100 and found[0]["body"] == "2499" and found[-1]["body"] == "400"
    pages = twilio.received("GET", "/Messages.json")
    assert [(r.query.get("Page"), r.query["PageSize"]) for r in pages] == [(None, "1000"), ("1", "1000"), ("2", "1000")]
    assert pages[1].query["PageToken"].startswith("PASM")


def test_a_wrong_token_fails_clearly_without_showing_it(twilio: FakeTwilio) -> None:
    error = failure(
        message(twilio, {"sender": NUMBER, "to": "+15558675310", "body": "hi"}, fields={"auth_token": "wrong-123"})
    )

    assert (
        error["message"] == "item 0: Twilio refused sending a message to +15558675310 (401, error 20003): Authenticate"
    )
    assert "Auth Token" in error["description"]
    assert "https://www.twilio.com/docs/errors/20003" in error["description"]
    assert "wrong-123" not in json.dumps(error)


def test_twilio_validation_errors_name_the_item_and_the_fix(twilio: FakeTwilio) -> None:
    bad_to = failure(
        message(
            twilio,
            {"sender": NUMBER, "to": "{{ $json.phone }}", "body": "hi"},
            [{"phone": "+15558675310"}, {"phone": "555-0100"}],
        )
    )
    bad_from = failure(message(twilio, {"sender": "+15550000000", "to": "+15558675310", "body": "hi"}))
    mixed = failure(message(twilio, {"sender": NUMBER, "to": "whatsapp:+15558675310", "body": "hi"}))

    assert bad_to["message"] == (
        "item 1: Twilio refused sending a message to 555-0100 (400, error 21211): "
        "The 'To' number 555-0100 is not a valid phone number."
    )
    assert bad_to["item_index"] == 1
    assert "E.164" in bad_to["description"]
    assert "(400, error 21606)" in bad_from["message"] and "Active numbers" in bad_from["description"]
    assert "(400, error 21910)" in mixed["message"] and "WhatsApp sender" in mixed["description"]
    assert len(twilio.messages) == 1


def test_an_unknown_sid_and_the_rate_limit_are_explained(twilio: FakeTwilio) -> None:
    missing = failure(message(twilio, {"operation": "get", "message_sid": "SM" + "0" * 32}))
    twilio.rate_limited = 1
    limited = failure(message(twilio, {"sender": NUMBER, "to": "+15558675310", "body": "hi"}))

    assert missing["message"].startswith(f"item 0: Twilio refused getting message SM{'0' * 32} (404, error 20404): ")
    assert "does not exist in this account" in missing["description"]
    assert limited["message"] == (
        "item 0: Twilio refused sending a message to +15558675310 (429, error 20429): Too Many Requests"
    )
    assert "slow the workflow down" in limited["description"]


def test_continue_on_fail_turns_the_error_into_an_item(twilio: FakeTwilio) -> None:
    (entry,) = outputs(message(twilio, {"operation": "delete", "message_sid": "SMgone"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Twilio refused deleting message SMgone (404, error 20404)")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_twilio(twilio: FakeTwilio) -> None:
    no_from = failure(message(twilio, {"to": "+15558675310", "body": "hi"}))
    no_body = failure(message(twilio, {"sender": NUMBER, "to": "+15558675310", "body": " "}))
    no_sid = failure(message(twilio, {"operation": "get"}))
    bad_day = failure(message(twilio, {"operation": "get_many", "sent_on": "31/01/2026"}))
    bad_media = failure(message(twilio, {"sender": NUMBER, "to": "+1555", "media_urls": ["ftp://x/y.png"]}))

    assert "send needs the From number" in no_from["message"]
    assert "send needs a message or a media URL" in no_body["message"]
    assert "get needs the message SID" in no_sid["message"]
    assert "'31/01/2026' is not a day written YYYY-MM-DD" in bad_day["message"]
    assert "must start with https://" in bad_media["message"]
    assert twilio.requests == []


def test_the_credential_test_names_the_account_and_refuses_a_wrong_secret(twilio: FakeTwilio) -> None:
    assert TwilioApiCredential.test_connection(credential(twilio)) == "Connected to HITL Studio (active)"
    api_key = credential(twilio, auth_type="api_key", api_key_sid=API_KEY_SID, api_key_secret=API_KEY_SECRET)
    assert TwilioApiCredential.test_connection(api_key) == "Connected to HITL Studio (active)"

    with pytest.raises(NodeError) as refused:
        TwilioApiCredential.test_connection(credential(twilio, auth_token="revoked"))
    assert "(401, error 20003)" in refused.value.message
    with pytest.raises(NodeError) as incomplete:
        TwilioApiCredential.parse({"account_sid": ACCOUNT_SID, "auth_type": "api_key", "api_key_sid": API_KEY_SID})
    assert "enter the API key's secret" in incomplete.value.message
    with pytest.raises(NodeError) as bad_sid:
        TwilioApiCredential.parse({"account_sid": "12345", "auth_token": AUTH_TOKEN})
    assert "Account SID is AC followed by 32" in bad_sid.value.message
