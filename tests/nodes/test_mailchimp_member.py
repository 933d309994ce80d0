"""Mailchimp Member (mailchimp.member) and the mailchimp_api credential, through the engine against a fake Mailchimp."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.mailchimp.credentials import MailchimpApiCredential
from nodes.sdk import NodeError
from tests.fakes.mailchimp_server import ACCOUNT, API_KEY, Audience, FakeMailchimp, fake_mailchimp_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

LIST = "4ca5becb8d"


@dataclass
class Mailchimp:
    server: FakeMailchimp
    audience: Audience


@pytest.fixture
def mailchimp() -> Iterator[Mailchimp]:
    with fake_mailchimp_server() as server:
        yield Mailchimp(server, server.add_audience(LIST, required=("FNAME",)))


def member(
    mailchimp: Mailchimp,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(mailchimp.server.credential(api_key))
    return run_node(
        "mailchimp.member",
        {"list_id": LIST, **parameters},
        items,
        credential_type="mailchimp_api",
        host=host,
        **settings,
    )


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def path(email: str, rest: str = "") -> str:
    return f"/lists/{LIST}/members/{md5(email)}{rest}"


def test_add_or_update_adds_new_contacts_with_tags(mailchimp: Mailchimp) -> None:
    parameters = {
        "email": "{{ $json.email }}",
        "status_if_new": "pending",
        "merge_fields": {"FNAME": "{{ $json.first }}", "LNAME": "Lovelace"},
        "interests": '["a1b2c3"]',
        "tags": "webinar, {{ $json.source }}",
    }
    items = [
        {"email": "Ada@Example.com", "first": "Ada", "source": "ads"},
        {"email": "bob@example.com", "first": "Bob", "source": "blog"},
    ]

    added = outputs(member(mailchimp, parameters, items))

    assert [entry["status"] for entry in added] == ["pending", "pending"]
    assert [tag["name"] for tag in added[0]["tags"]] == ["webinar", "ads"]
    assert added[1]["merge_fields"] == {"FNAME": "Bob", "LNAME": "Lovelace"}
    (put, _) = mailchimp.server.received("PUT")
    assert put.path == path("ada@example.com")
    assert put.body == {
        "email_address": "Ada@Example.com",
        "status_if_new": "pending",
        "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace"},
        "interests": {"a1b2c3": True},
    }
    assert mailchimp.server.received("POST", path("ada@example.com", "/tags"))[0].body == {
        "tags": [{"name": "webinar", "status": "active"}, {"name": "ads", "status": "active"}]
    }
    assert base64.b64decode(put.headers["authorization"].removeprefix("Basic ")).decode().endswith(f":{API_KEY}")


def test_add_or_update_changes_an_existing_contact_without_a_tag_call(mailchimp: Mailchimp) -> None:
    mailchimp.server.add_member(mailchimp.audience, "ada@example.com", merge_fields={"FNAME": "Ada", "CITY": "Paris"})

    (updated,) = outputs(
        member(
            mailchimp,
            {"email": "ada@example.com", "status": "unsubscribed", "merge_fields": '{"CITY": "Lyon"}'},
        )
    )

    assert updated["status"] == "unsubscribed"
    assert updated["merge_fields"] == {"FNAME": "Ada", "CITY": "Lyon"}
    assert [request.method for request in mailchimp.server.received()] == ["PUT"]


def test_required_merge_fields_are_named_and_can_be_skipped(mailchimp: Mailchimp) -> None:
    refused = failure(member(mailchimp, {"email": "ada@example.com"}))
    (accepted,) = outputs(member(mailchimp, {"email": "ada@example.com", "skip_merge_validation": True}))

    assert refused["message"] == (
        f"item 0: Mailchimp refused adding or updating ada@example.com in audience {LIST} "
        "(400 Invalid Resource): FNAME: Please enter a value"
    )
    assert refused["description"] == "Change what Mailchimp named above, then retry."
    assert accepted["status"] == "subscribed"
    assert mailchimp.server.received("PUT")[-1].query == {"skip_merge_validation": "true"}


def test_get_by_email_or_subscriber_hash(mailchimp: Mailchimp) -> None:
    made = mailchimp.server.add_member(mailchimp.audience, "ada@example.com")

    (by_email,) = outputs(member(mailchimp, {"operation": "get", "email": "ADA@example.com"}))
    (by_hash,) = outputs(member(mailchimp, {"operation": "get", "email": "{{ $json.id }}"}, [{"id": made["id"]}]))

    assert by_email["email_address"] == by_hash["email_address"] == "ada@example.com"
    assert [request.path for request in mailchimp.server.received("GET")] == [path("ada@example.com")] * 2


def test_get_many_reads_pages_by_offset_until_total_items(mailchimp: Mailchimp) -> None:
    for n in range(1, 1201):
        mailchimp.server.add_member(mailchimp.audience, f"c{n}@example.com", status="pending" if n % 4 else "cleaned")

    everyone = outputs(member(mailchimp, {"operation": "get_many", "return_all": True}))
    cleaned = outputs(member(mailchimp, {"operation": "get_many", "status_filter": "cleaned", "limit": 5}))

    assert len(everyone) == 1200 and everyone[-1]["email_address"] == "c1200@example.com"
    assert [entry["email_address"] for entry in cleaned] == [f"c{n}@example.com" for n in (4, 8, 12, 16, 20)]
    pages = mailchimp.server.received("GET", f"/lists/{LIST}/members")
    assert [request.query for request in pages] == [
        {"count": "1000", "offset": "0"},
        {"count": "1000", "offset": "1000"},
        {"status": "cleaned", "count": "5", "offset": "0"},
    ]


def test_archive_then_delete_permanently(mailchimp: Mailchimp) -> None:
    mailchimp.server.add_member(mailchimp.audience, "ada@example.com", merge_fields={"FNAME": "Ada"})

    (archived,) = outputs(member(mailchimp, {"operation": "archive", "email": "ada@example.com"}))
    listed = outputs(member(mailchimp, {"operation": "get_many", "status_filter": "archived"}))
    (deleted,) = outputs(member(mailchimp, {"operation": "delete_permanently", "email": "ada@example.com"}))
    again = failure(member(mailchimp, {"email": "ada@example.com", "merge_fields": {"FNAME": "Ada"}}))

    identity = {"list_id": LIST, "email": "ada@example.com", "subscriber_hash": md5("ada@example.com")}
    assert archived == {**identity, "archived": True}
    assert [entry["email_address"] for entry in listed] == ["ada@example.com"]
    assert deleted == {**identity, "deleted_permanently": True}
    assert mailchimp.audience.members == {}
    assert mailchimp.server.received("POST")[0].path == path("ada@example.com", "/actions/delete-permanent")
    assert again["message"].startswith(
        f"item 0: Mailchimp refused adding or updating ada@example.com in audience {LIST} "
        "(400 Forgotten Email Not Subscribed): ada@example.com was permanently deleted"
    )
    assert "only they can join again" in again["description"]


def test_add_and_remove_tags(mailchimp: Mailchimp) -> None:
    made = mailchimp.server.add_member(mailchimp.audience, "ada@example.com", tags=["old", "vip"])

    (added,) = outputs(
        member(mailchimp, {"operation": "add_tags", "email": "ada@example.com", "tags": ["Big spender"]})
    )
    (removed,) = outputs(
        member(mailchimp, {"operation": "remove_tags", "email": "ada@example.com", "tags": "old, vip"})
    )

    assert added["added_tags"] == ["Big spender"] and removed["removed_tags"] == ["old", "vip"]
    assert [tag["name"] for tag in made["tags"]] == ["Big spender"]
    assert mailchimp.server.received("POST")[1].body == {
        "tags": [{"name": "old", "status": "inactive"}, {"name": "vip", "status": "inactive"}]
    }


def test_a_wrong_key_says_so_without_showing_it(mailchimp: Mailchimp) -> None:
    wrong = "ffffffffffffffffffffffffffffffff-us21"

    error = failure(member(mailchimp, {"operation": "get", "email": "ada@example.com"}, api_key=wrong))

    assert error["message"] == (
        f"item 0: Mailchimp refused getting ada@example.com in audience {LIST} (401 API Key Invalid): "
        "Your API key may be invalid, or you've attempted to access the wrong datacenter."
    )
    assert "paste it whole" in error["description"]
    assert wrong not in json.dumps(error)


def test_a_missing_contact_names_the_item(mailchimp: Mailchimp) -> None:
    mailchimp.server.add_member(mailchimp.audience, "ada@example.com")

    error = failure(
        member(mailchimp, {"operation": "get", "email": "{{ $json.e }}"}, [{"e": "ada@example.com"}, {"e": "x@y.io"}])
    )

    assert error["message"] == (
        f"item 1: Mailchimp refused getting x@y.io in audience {LIST} (404 Resource Not Found): "
        "The requested resource could not be found."
    )
    assert error["item_index"] == 1
    assert "Check the audience id" in error["description"]


def test_a_fake_looking_email_and_the_rate_limit_are_explained(mailchimp: Mailchimp) -> None:
    fake_email = failure(member(mailchimp, {"email": "ada@nowhere", "skip_merge_validation": True}))
    mailchimp.server.rate_limited = 1
    limited = failure(member(mailchimp, {"operation": "get", "email": "ada@example.com"}))

    assert fake_email["message"].endswith(
        "(400 Invalid Resource): ada@nowhere looks fake or invalid, please enter a real email address."
    )
    assert limited["message"] == (
        f"item 0: Mailchimp refused getting ada@example.com in audience {LIST} (429 Too Many Requests): "
        "You have exceeded the limit of 10 simultaneous connections."
    )
    assert limited["description"].startswith("Mailchimp allows 10 requests at once")


def test_continue_on_fail_turns_the_error_into_an_item(mailchimp: Mailchimp) -> None:
    (entry,) = outputs(member(mailchimp, {"operation": "archive", "email": "x@example.com"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Mailchimp refused archiving x@example.com in audience")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_mailchimp(mailchimp: Mailchimp) -> None:
    no_email = failure(member(mailchimp, {"operation": "get"}))
    a_hash = failure(member(mailchimp, {"email": md5("ada@example.com")}))
    no_tags = failure(member(mailchimp, {"operation": "add_tags", "email": "ada@example.com"}))
    bad_json = failure(member(mailchimp, {"email": "ada@example.com", "merge_fields": "{FNAME"}))
    no_list = failure(member(mailchimp, {"operation": "get_many", "list_id": " "}))

    assert "get needs the contact's email" in no_email["message"]
    assert "add_or_update needs the contact's email address, not a subscriber hash" in a_hash["message"]
    assert "add_tags needs at least one tag" in no_tags["message"]
    assert "the merge fields are not valid JSON" in bad_json["message"]
    assert "the audience id is required" in no_list["message"]
    assert mailchimp.server.received() == []


def test_the_credential_names_the_account_and_finds_the_data_center(mailchimp: Mailchimp) -> None:
    connected = MailchimpApiCredential.test_connection(mailchimp.server.credential())
    fields = MailchimpApiCredential.parse({"api_key": " abc123-us21 "})

    with pytest.raises(NodeError) as refused:
        MailchimpApiCredential.test_connection(mailchimp.server.credential("0000-us21"))
    with pytest.raises(NodeError) as no_suffix:
        MailchimpApiCredential.parse({"api_key": "abc123"})

    assert connected == f"Connected to {ACCOUNT['account_name']} ({ACCOUNT['email']})"
    assert fields.base_url == "https://us21.api.mailchimp.com/3.0"
    assert refused.value.message.startswith("Mailchimp refused checking the API key (401 API Key Invalid)")
    assert "ends with its data center" in no_suffix.value.message
    assert mailchimp.server.received("GET")[0].path == "/"
