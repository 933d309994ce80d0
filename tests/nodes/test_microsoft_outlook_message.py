"""Microsoft Outlook Message (microsoft.outlook_message), its Graph client and the microsoft_graph credential.

Run through the engine against the fake Entra ID and Graph on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.microsoft.credentials import MicrosoftGraphCredential
from nodes.sdk import OAUTH2_RENEW, Item, NodeError
from tests.fakes.microsoft_server import APP_NAME, CLIENT_ID, CLIENT_SECRET, FakeMicrosoft, fake_microsoft_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

TYPE = "microsoft.outlook_message"
UPN = "ada@contoso.com"


@pytest.fixture
def graph() -> Iterator[FakeMicrosoft]:
    with fake_microsoft_server() as fake:
        fake.add_user(UPN, "Ada Lovelace")
        yield fake


def outlook(
    graph: FakeMicrosoft,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    host: LocalHost | None = None,
    secret: str | None = None,
    **settings: Any,
) -> RunResult:
    return run_node(
        TYPE,
        {"user": UPN, **parameters},
        items,
        credential_type="microsoft_graph",
        host=host or host_for(graph.credential(secret)),
        **settings,
    )


def user(graph: FakeMicrosoft) -> Any:
    return graph.users[UPN]


def seed(graph: FakeMicrosoft, count: int) -> None:
    for n in range(1, count + 1):
        graph.add_message(user(graph), f"Order {n}", body=f"Order number {n}", isRead=n % 2 == 0)


def test_send_mails_as_the_user_with_recipients_html_and_an_attachment(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    pdf = host.store_binary(b"%PDF-1.7 invoice", file_name="invoice-7.pdf", mime_type="application/pdf")
    parameters = {
        "to": "{{ $json.customer }}, billing@example.com",
        "cc": ["boss@contoso.com"],
        "bcc": "audit@contoso.com",
        "subject": "Invoice {{ $json.number }}",
        "body": "<p>Invoice {{ $json.number }} attached.</p>",
        "body_type": "html",
        "attachments": "invoice",
        "save_to_sent_items": False,
    }
    item = Item({"customer": "grace@example.com", "number": 7}, binary={"invoice": pdf})

    (sent,) = outputs(outlook(graph, parameters, [item], host=host))

    assert sent == {
        "sent": True,
        "subject": "Invoice 7",
        "to": ["grace@example.com", "billing@example.com"],
        "cc": ["boss@contoso.com"],
        "bcc": ["audit@contoso.com"],
        "attachments": ["invoice-7.pdf"],
    }
    (request,) = graph.received("POST", "/sendMail")
    assert request.path == f"/v1.0/users/{UPN}/sendMail"
    assert request.body["saveToSentItems"] is False
    message = request.body["message"]
    assert message["body"] == {"contentType": "HTML", "content": "<p>Invoice 7 attached.</p>"}
    assert message["toRecipients"] == [
        {"emailAddress": {"address": "grace@example.com"}},
        {"emailAddress": {"address": "billing@example.com"}},
    ]
    assert message["bccRecipients"] == [{"emailAddress": {"address": "audit@contoso.com"}}]
    (attachment,) = message["attachments"]
    assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert (attachment["name"], attachment["contentType"]) == ("invoice-7.pdf", "application/pdf")
    assert base64.b64decode(attachment["contentBytes"]) == b"%PDF-1.7 invoice"
    assert graph.sent[0]["from"] == UPN
    assert not [m for m in user(graph).messages.values() if m["parentFolderId"] == user(graph).folders["sentitems"]]


def test_the_app_signs_in_with_client_credentials_once_and_reuses_the_token(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())

    outputs(outlook(graph, {"to": "a@example.com", "subject": "One"}, host=host))
    outputs(outlook(graph, {"to": "b@example.com", "subject": "Two", "body": "Plain"}, host=host))

    (token_request,) = graph.token_requests
    assert token_request.path == f"/{graph.tenant}/oauth2/v2.0/token"
    assert token_request.body == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }
    first, second = graph.received("POST", "/sendMail")
    assert first.headers["authorization"] == second.headers["authorization"]
    assert first.headers["authorization"].startswith("Bearer ey")
    assert second.body["message"]["body"] == {"contentType": "Text", "content": "Plain"}
    saved = [m for m in user(graph).messages.values() if m["parentFolderId"] == user(graph).folders["sentitems"]]
    assert sorted(m["subject"] for m in saved) == ["One", "Two"]


def test_an_expired_token_is_asked_for_again(graph: FakeMicrosoft) -> None:
    graph.expires_in = 1
    host = host_for(graph.credential())

    outputs(outlook(graph, {"to": "a@example.com"}, host=host))
    time.sleep(0.6)
    outputs(outlook(graph, {"to": "a@example.com"}, host=host))

    assert len(graph.token_requests) == 2


def test_a_token_graph_refuses_is_replaced_once(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    outputs(outlook(graph, {"to": "a@example.com"}, host=host))
    graph.revoke_tokens()

    outputs(outlook(graph, {"to": "b@example.com"}, host=host))

    assert len(graph.token_requests) == 2
    first, refused, renewed = (r.headers["authorization"] for r in graph.received("POST", "/sendMail"))
    assert first == refused != renewed
    assert [entry["toRecipients"][0]["emailAddress"]["address"] for entry in graph.sent] == [
        "a@example.com",
        "b@example.com",
    ]


def test_get_many_filters_selects_and_stops_at_the_limit(graph: FakeMicrosoft) -> None:
    seed(graph, 12)
    graph.add_message(user(graph), "Archived", folder="archive")

    found = outputs(
        outlook(
            graph,
            {"operation": "get_many", "filter": "isRead eq false", "fields": "subject, isRead", "limit": 4},
        )
    )

    assert [entry["subject"] for entry in found] == ["Order 11", "Order 9", "Order 7", "Order 5"]
    assert set(found[0]) == {"@odata.etag", "id", "subject", "isRead"}
    (request,) = graph.received("GET", "/messages")
    assert request.path == f"/v1.0/users/{UPN}/mailFolders/inbox/messages"
    assert request.query == {"$filter": "isRead eq false", "$select": "subject,isRead", "$top": "4"}


def test_get_many_return_all_follows_next_links_across_every_folder(graph: FakeMicrosoft) -> None:
    seed(graph, 230)
    graph.add_message(user(graph), "Archived", folder="archive")

    found = outputs(outlook(graph, {"operation": "get_many", "folder": "", "return_all": True}))

    assert len(found) == 231
    pages = graph.received("GET", "/messages")
    assert [r.path for r in pages] == [f"/v1.0/users/{UPN}/messages"] * 3
    assert [r.query.get("$skip") for r in pages] == [None, "100", "200"]
    assert all(r.query["$top"] == "100" for r in pages)


def test_get_many_searches_with_a_quoted_phrase(graph: FakeMicrosoft) -> None:
    seed(graph, 3)
    graph.add_message(user(graph), "Refund request", body="Please refund order 2")

    found = outputs(outlook(graph, {"operation": "get_many", "search": "refund"}))

    assert [entry["subject"] for entry in found] == ["Refund request"]
    assert graph.received("GET", "/messages")[0].query["$search"] == '"refund"'


def test_get_puts_file_attachments_into_binary_properties(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    message = graph.add_message(user(graph), "Your receipt")
    graph.add_attachment(user(graph), message, "receipt.pdf", b"%PDF receipt", "application/pdf")
    graph.add_attachment(user(graph), message, "Forwarded mail", b"", "message/rfc822", kind="item")

    result = outlook(
        graph,
        {"operation": "get", "message_id": "{{ $json.id }}", "download_attachments": True},
        [{"id": message["id"]}],
        host=host,
    )

    (found,) = outputs(result)
    assert found["subject"] == "Your receipt"
    assert [a["name"] for a in found["attachments"]] == ["receipt.pdf", "Forwarded mail"]
    assert found["attachments"][0]["binary_property"] == "attachment_0"
    assert "contentBytes" not in found["attachments"][0] and "binary_property" not in found["attachments"][1]
    (produced,) = result.last_outputs["Node"][0]
    assert list(produced.binary) == ["attachment_0"]
    reference = produced.binary["attachment_0"]
    assert (reference["file_name"], reference["mime_type"]) == ("receipt.pdf", "application/pdf")
    assert host.read_binary(reference) == b"%PDF receipt"


def test_get_without_attachments_reads_only_the_message(graph: FakeMicrosoft) -> None:
    message = graph.add_message(user(graph), "Hello")

    (found,) = outputs(outlook(graph, {"operation": "get", "message_id": message["id"], "fields": ["subject"]}))

    assert found == {"@odata.etag": message["@odata.etag"], "id": message["id"], "subject": "Hello"}
    assert graph.received("GET", "/attachments") == []


def test_move_mark_delete_and_reply(graph: FakeMicrosoft) -> None:
    first = graph.add_message(user(graph), "Move me")
    second = graph.add_message(user(graph), "Read me")

    (moved,) = outputs(
        outlook(graph, {"operation": "move", "message_id": first["id"], "destination_folder": "archive"})
    )
    (read,) = outputs(outlook(graph, {"operation": "mark_read", "message_id": second["id"]}))
    (unread,) = outputs(outlook(graph, {"operation": "mark_unread", "message_id": second["id"]}))
    (replied,) = outputs(
        outlook(graph, {"operation": "reply", "message_id": second["id"], "body": "Thanks!", "reply_all": True})
    )
    (deleted,) = outputs(outlook(graph, {"operation": "delete", "message_id": second["id"]}))

    assert moved["parentFolderId"] == user(graph).folders["archive"] and moved["id"] != first["id"]
    assert graph.received("POST", "/move")[0].body == {"destinationId": "archive"}
    assert (read["isRead"], unread["isRead"]) == (True, False)
    assert [r.body for r in graph.received("PATCH")] == [{"isRead": True}, {"isRead": False}]
    assert replied == {"id": second["id"], "replied": True, "reply_all": True}
    assert graph.received("POST", "/replyAll")[0].body == {"comment": "Thanks!"}
    assert graph.sent[-1] == {"from": UPN, "in_reply_to": second["id"], "all": True, "comment": "Thanks!"}
    assert deleted == {"id": second["id"], "deleted": True}
    assert second["id"] not in user(graph).messages


def test_a_wrong_client_secret_names_the_item_and_never_shows_the_secret(graph: FakeMicrosoft) -> None:
    wrong = "Wrong~secretVALUE.000000000000"

    error = failure(outlook(graph, {"to": "a@example.com"}, secret=wrong))

    assert error["message"].startswith(
        f"item 0: Microsoft Entra ID refused the app {CLIENT_ID} in tenant {graph.tenant} "
        "(401 invalid_client): AADSTS7000215: Invalid client secret provided."
    )
    assert error["description"].startswith("The client secret is wrong")
    assert wrong not in json.dumps(error) and "Trace ID" not in error["message"]
    assert graph.received() == []


def test_an_unknown_user_says_what_to_check(graph: FakeMicrosoft) -> None:
    error = failure(outlook(graph, {"operation": "get", "message_id": "x", "user": "nobody@contoso.com"}))

    assert error["message"] == (
        "item 0: Microsoft Graph refused getting message x of nobody@contoso.com "
        "(404 ErrorInvalidUser): The requested user 'nobody@contoso.com' is invalid."
    )
    assert "Check the user (id or user principal name" in error["description"]


def test_a_missing_permission_names_the_one_to_grant(graph: FakeMicrosoft) -> None:
    graph.roles = ["Files.ReadWrite.All"]

    error = failure(outlook(graph, {"to": "a@example.com"}))

    assert error["message"] == (
        f"item 0: Microsoft Graph refused sending mail as {UPN} (403 ErrorAccessDenied): "
        "Access is denied. Check credentials and try again."
    )
    assert "application permission Mail.ReadWrite and Mail.Send" in error["description"]


def test_an_invalid_recipient_carries_graphs_message(graph: FakeMicrosoft) -> None:
    error = failure(outlook(graph, {"to": "{{ $json.to }}"}, [{"to": "a@example.com"}, {"to": "not-an-address"}]))

    assert error["message"].startswith(
        f"item 1: Microsoft Graph refused sending mail as {UPN} (400 ErrorInvalidRecipients): "
        "At least one recipient is not valid., Recipient 'not-an-address' is not resolved."
    )
    assert error["item_index"] == 1


def test_a_short_throttle_is_waited_out(graph: FakeMicrosoft) -> None:
    graph.throttle(1, retry_after="1")
    began = time.monotonic()

    outputs(outlook(graph, {"to": "a@example.com"}))

    assert time.monotonic() - began >= 1
    assert len(graph.received("POST", "/sendMail")) == 2 and len(graph.sent) == 1


def test_a_long_throttle_fails_with_the_wait(graph: FakeMicrosoft) -> None:
    graph.throttle(1, retry_after="120")

    error = failure(outlook(graph, {"to": "a@example.com"}))

    assert error["message"] == (
        f"item 0: Microsoft Graph is throttling requests and refused sending mail as {UPN} "
        "(429 TooManyRequests): Please retry after 120 seconds."
    )
    assert error["description"].startswith("Wait 120 seconds and retry")


def test_continue_on_fail_turns_the_error_into_an_item(graph: FakeMicrosoft) -> None:
    (entry,) = outputs(outlook(graph, {"operation": "delete", "message_id": "gone"}, on_error="continue"))

    assert entry["error"] == (
        f"item 0: Microsoft Graph refused deleting message gone of {UPN} (404 ErrorItemNotFound): "
        "The specified object was not found in the store."
    )


def test_attachments_over_three_megabytes_are_refused_before_sending(graph: FakeMicrosoft) -> None:
    host = host_for(graph.credential())
    big = host.store_binary(b"x" * (3 * 1024 * 1024 + 1), file_name="big.bin", mime_type="application/octet-stream")

    error = failure(
        outlook(graph, {"to": "a@example.com", "attachments": "data"}, [Item({}, {"data": big})], host=host)
    )

    assert error["message"].startswith("item 0: the attachments come to more than the 3 MB Graph takes")
    assert graph.received() == [] and graph.token_requests == []


def test_parameters_are_checked_before_calling_graph(graph: FakeMicrosoft) -> None:
    no_user = failure(outlook(graph, {"to": "a@example.com", "user": ""}))
    no_recipient = failure(outlook(graph, {"subject": "Hi"}))
    both = failure(outlook(graph, {"operation": "get_many", "filter": "isRead eq false", "search": "x"}))

    assert "with client credentials, set the user" in no_user["message"]
    assert "send needs at least one recipient" in no_recipient["message"]
    assert "use either the filter or the search" in both["message"]
    assert graph.received() == []


def oauth2_host(token: str, renewed: str | None = None) -> LocalHost:
    stored: dict[str, Any] = {"access_token": token}
    if renewed is not None:

        def renew(refused: str) -> None:
            assert refused == token
            stored["access_token"] = renewed

        stored[OAUTH2_RENEW] = renew
    return host_for(stored)


def test_an_oauth2_account_reads_its_own_mailbox_and_its_refused_token_is_renewed(graph: FakeMicrosoft) -> None:
    graph.add_message(user(graph), "For me")
    graph.sign_in("delegated-new", UPN)
    parameters = {"authentication": "oauth2", "graph_url": graph.graph_url, "user": "", "operation": "get_many"}

    result = run_node(
        TYPE, parameters, credential_type="oauth2", host=oauth2_host("delegated-old", renewed="delegated-new")
    )

    assert [entry["subject"] for entry in outputs(result)] == ["For me"]
    requests = graph.received("GET", "/messages")
    assert [r.path for r in requests] == ["/v1.0/me/mailFolders/inbox/messages"] * 2
    assert [r.headers["authorization"] for r in requests] == ["Bearer delegated-old", "Bearer delegated-new"]
    assert graph.token_requests == []


def test_an_oauth2_token_that_cannot_be_renewed_says_to_reconnect(graph: FakeMicrosoft) -> None:
    parameters = {"authentication": "oauth2", "graph_url": graph.graph_url, "operation": "get_many"}

    error = failure(run_node(TYPE, parameters, credential_type="oauth2", host=oauth2_host("stale")))

    assert error["message"] == ("item 0: the service refused the OAuth2 access token, and it cannot be refreshed here")
    assert error["description"] == "Reconnect the credential under Credentials."


def test_the_credential_test_names_the_app_and_its_permissions(graph: FakeMicrosoft) -> None:
    message = MicrosoftGraphCredential.test_connection(graph.credential())

    assert message == (
        f"Signed in as {APP_NAME} in tenant {graph.tenant}: "
        "Files.ReadWrite.All, Mail.ReadWrite, Mail.Send, Tasks.ReadWrite.All"
    )
    with pytest.raises(NodeError) as refused:
        MicrosoftGraphCredential.test_connection({**graph.credential(), "client_id": "unknown-app"})
    assert "(400 unauthorized_client): AADSTS700016" in refused.value.message
    assert refused.value.description.startswith("No app with this client ID is registered in the tenant")
