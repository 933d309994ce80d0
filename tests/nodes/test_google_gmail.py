"""Gmail (google.gmail) through the engine against the fake Google APIs on 127.0.0.1, acting as a Workspace user."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.nodes.conftest import Google
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

USER = "ada@acme.test"
GMAIL_SCOPE = "https://mail.google.com/"
INVOICE = b"%PDF-1.4 invoice \x00\xff"


def acting(google: Google, *, delegated: bool = True) -> dict[str, Any]:
    """The credential acting as USER; ``delegated=False``: the admin never granted the Gmail scope."""
    if delegated:
        google.server.allow_delegation("robot", GMAIL_SCOPE)
    return {**google.credential, "delegated_user": USER}


def gmail(
    google: Google,
    parameters: dict[str, Any],
    items: list[Any] | None = None,
    host: LocalHost | None = None,
    **settings: Any,
) -> RunResult:
    host = host or host_for(acting(google))
    return run_node("google.gmail", parameters, items, credential_type="google_service_account", host=host, **settings)


def email(subject: str, sender: str = "grace@example.com", text: str = "Hello", **extra: Any) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@example.com>"
    message.set_content(text)
    if extra.get("html"):
        message.add_alternative(extra["html"], subtype="html")
    if extra.get("attachment"):
        message.add_attachment(extra["attachment"], maintype="application", subtype="pdf", filename="invoice.pdf")
    return message


def test_send_builds_a_mime_message_with_attachments_as_the_user(google: Google) -> None:
    host = host_for(acting(google))
    reference = host.store_binary(INVOICE, file_name="INV-7.pdf", mime_type="application/pdf")
    parameters = {
        "to": "Grace <grace@example.com>, {{ $json.customer }}",
        "cc": "boss@acme.test",
        "bcc": "archive@acme.test",
        "subject": "Invoice {{ $json.number }}",
        "text": "Your invoice {{ $json.number }} is attached.",
        "html": "<p>Your invoice <b>{{ $json.number }}</b> is attached.</p>",
        "attachments": "invoice",
        "reply_to": "billing@acme.test",
        "sender_name": "Acme Billing",
    }
    item = Item({"customer": "bob@example.com", "number": "INV-7"}, binary={"invoice": reference})

    (sent,) = outputs(gmail(google, parameters, [item], host))

    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == sent["id"]
    message = google.server.parsed(sent["id"])
    assert message["From"] == f"Acme Billing <{USER}>"
    assert message["To"] == "Grace <grace@example.com>, bob@example.com"
    assert (message["Cc"], message["Bcc"]) == ("boss@acme.test", "archive@acme.test")
    assert message["Reply-To"] == "billing@acme.test" and message["Subject"] == "Invoice INV-7"
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and body.get_content().strip() == "Your invoice INV-7 is attached."
    assert html is not None and "<b>INV-7</b>" in html.get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "INV-7.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == INVOICE
    (send,) = google.server.received("/gmail/v1/users/me/messages/send")
    assert send.method == "POST"
    assert set(google.server.subjects.values()) == {USER}


def test_send_replies_in_the_thread_of_a_received_message(google: Google) -> None:
    original = google.server.add_message(email("Order 12"))
    thread = google.server.mail[original]["threadId"]
    parameters = {
        "to": "grace@example.com",
        "subject": "Re: Order 12",
        "text": "Shipped today.",
        "thread_id": "{{ $json.threadId }}",
        "in_reply_to": "<Order-12@example.com>",
    }

    (reply,) = outputs(gmail(google, parameters, [{"threadId": thread}]))

    assert reply["threadId"] == thread and reply["id"] != original
    message = google.server.parsed(reply["id"])
    assert message["In-Reply-To"] == message["References"] == "<Order-12@example.com>"


def test_get_decodes_the_bodies_and_downloads_attachments_into_binary(google: Google) -> None:
    message_id = google.server.add_message(
        email("Invoice", text="Plain café", html="<p>Rich café</p>", attachment=INVOICE)
    )
    host = host_for(acting(google))

    result = gmail(google, {"operation": "get", "message_id": "{{ $json.id }}"}, [{"id": message_id}], host)

    (message,) = outputs(result)
    assert message["id"] == message_id and message["labelIds"] == ["INBOX", "UNREAD"]
    assert message["headers"]["subject"] == "Invoice" and message["headers"]["from"] == "grace@example.com"
    assert message["text"].strip() == "Plain café" and message["html"].strip() == "<p>Rich café</p>"
    assert message["attachments"] == [
        {
            "file_name": "invoice.pdf",
            "mime_type": "application/pdf",
            "size": len(INVOICE),
            "binary_property": "attachment_0",
        }
    ]
    file = result.last_outputs[NODE][0][0].binary["attachment_0"]
    assert host.read_binary(file) == INVOICE and file["file_name"] == "invoice.pdf"
    assert google.server.received(f"/gmail/v1/users/me/messages/{message_id}/attachments/")


def test_get_metadata_reads_headers_without_bodies(google: Google) -> None:
    message_id = google.server.add_message(email("Status", attachment=INVOICE))

    (message,) = outputs(gmail(google, {"operation": "get", "message_id": message_id, "format": "metadata"}))

    assert message["headers"]["message-id"] == "<Status@example.com>"
    assert "text" not in message and "attachments" not in message
    assert google.server.received("/gmail/v1/users/me/messages/")[0].query["format"] == ["metadata"]


def test_list_searches_with_labels_and_reads_each_message(google: Google) -> None:
    google.server.add_message(email("Invoice 1", sender="grace@example.com"))
    google.server.add_message(email("Invoice 2", sender="grace@example.com"), labels=("INBOX",))
    google.server.add_message(email("Newsletter", sender="news@example.com"))
    google.server.add_message(email("Invoice 3", sender="grace@example.com"), labels=("TRASH", "UNREAD"))
    parameters = {
        "operation": "list",
        "query": "from:grace is:unread",
        "label_ids": "INBOX",
        "format": "metadata",
    }

    found = outputs(gmail(google, parameters))

    assert [entry["headers"]["subject"] for entry in found] == ["Invoice 1"]
    listed = google.server.received("/gmail/v1/users/me/messages")[0]
    assert listed.query["q"] == ["from:grace is:unread"] and listed.query["labelIds"] == ["INBOX"]
    assert listed.query["includeSpamTrash"] == ["false"]


def test_list_return_all_follows_pages_and_limit_stops(google: Google) -> None:
    alert = email("Alert").as_bytes()
    for _ in range(503):
        google.server.add_message(alert)

    everything = outputs(gmail(google, {"operation": "list", "return_all": True, "read_messages": False}))
    first = outputs(gmail(google, {"operation": "list", "limit": 3, "read_messages": False}))

    assert len(everything) == 503 and set(everything[0]) == {"id", "threadId"}
    pages = google.server.received("/gmail/v1/users/me/messages")
    assert [page.query.get("pageToken") for page in pages[:2]] == [None, ["500"]]
    assert [entry["id"] for entry in first] == [entry["id"] for entry in everything[:3]]
    assert pages[-1].query["maxResults"] == ["3"]


def test_delete_trashes_or_removes_for_good(google: Google) -> None:
    kept = google.server.add_message(email("Keep"))
    gone = google.server.add_message(email("Gone"))

    (trashed,) = outputs(gmail(google, {"operation": "delete", "message_id": kept}))
    (deleted,) = outputs(gmail(google, {"operation": "delete", "message_id": gone, "permanently": True}))

    assert trashed == {"message_id": kept, "deleted": True, "trashed": True}
    assert "TRASH" in google.server.mail[kept]["labelIds"]
    assert deleted == {"message_id": gone, "deleted": True, "trashed": False}
    assert gone not in google.server.mail


def test_mark_read_unread_and_change_labels(google: Google) -> None:
    message_id = google.server.add_message(email("Todo"))
    google.server.labels["Label_7"] = "Clients"

    (read,) = outputs(gmail(google, {"operation": "mark_read", "message_id": message_id}))
    (labelled,) = outputs(
        gmail(google, {"operation": "add_labels", "message_id": message_id, "label_ids": ["Label_7", "STARRED"]})
    )
    (unlabelled,) = outputs(
        gmail(google, {"operation": "remove_labels", "message_id": message_id, "label_ids": "INBOX"})
    )
    (unread,) = outputs(gmail(google, {"operation": "mark_unread", "message_id": message_id}))

    assert read["labelIds"] == ["INBOX"]
    assert labelled["labelIds"] == ["INBOX", "Label_7", "STARRED"]
    assert unlabelled["labelIds"] == ["Label_7", "STARRED"]
    assert unread["labelIds"] == ["Label_7", "STARRED", "UNREAD"]
    modify = google.server.received(f"/gmail/v1/users/me/messages/{message_id}/modify")
    assert [request.method for request in modify] == ["POST"] * 4


def test_an_unknown_label_carries_googles_message(google: Google) -> None:
    message_id = google.server.add_message(email("Todo"))

    error = failure(gmail(google, {"operation": "add_labels", "message_id": message_id, "label_ids": "Label_99"}))

    assert error["message"] == f"item 0: Google refused labelling message {message_id} (400): Invalid label: Label_99"
    assert "label ids" in error["description"]


def test_a_missing_message_names_the_item(google: Google) -> None:
    present = google.server.add_message(email("Here"))

    error = failure(
        gmail(google, {"operation": "get", "message_id": "{{ $json.id }}"}, [{"id": present}, {"id": "nope"}])
    )

    assert error["message"] == "item 1: Google refused reading message nope (404): Requested entity was not found."
    assert error["item_index"] == 1 and "Check the message id" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(google: Google) -> None:
    (entry,) = outputs(gmail(google, {"operation": "get", "message_id": "gone"}, on_error="continue"))

    assert entry["error"] == "item 0: Google refused reading message gone (404): Requested entity was not found."


def test_without_a_user_to_act_as_nothing_is_called(google: Google) -> None:
    host = host_for(google.credential)

    error = failure(gmail(google, {"operation": "list"}, host=host))

    assert error["message"] == "Gmail needs a user to act as: a service account has no mailbox of its own"
    assert "Act as user" in error["description"]
    assert not google.server.received("/gmail/")


def test_delegation_without_the_gmail_scope_is_refused_at_sign_in(google: Google) -> None:
    credential = acting(google, delegated=False)

    error = failure(gmail(google, {"operation": "list"}, host=host_for(credential)))

    assert error["message"].startswith(
        "item 0: Google refused the service account robot@fake-project.iam.gserviceaccount.com: unauthorized_client"
    )
    assert json.loads(credential["service_account_json"])["private_key"] not in json.dumps(error)
    assert not google.server.received("/gmail/")


def test_a_rate_limit_is_explained_after_one_retry(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("googleapiclient.http.random.random", lambda: 0.0)
    google.server.fail_next(429, "Too many concurrent requests for user.", "RESOURCE_EXHAUSTED", times=2)

    error = failure(gmail(google, {"operation": "list"}))

    assert error["message"] == "item 0: Google refused listing messages (429): Too many concurrent requests for user."
    assert "slow the workflow down" in error["description"]
    assert len(google.server.received("/gmail/v1/users/me/messages")) == 2


def test_addresses_and_recipients_are_checked_before_sending(google: Google) -> None:
    no_recipient = failure(gmail(google, {"subject": "Hi"}))
    bad_address = failure(gmail(google, {"to": "{{ $json.to }}", "subject": "Hi"}, [{"to": "not-an-address"}]))
    no_file = failure(gmail(google, {"to": "a@b.co", "attachments": "data"}))

    assert "send needs a recipient in To, Cc or Bcc" in no_recipient["message"]
    assert bad_address["message"] == "item 0: To: 'not-an-address' is not an email address"
    assert no_file["message"].startswith("item 0 has no binary property 'data'")
    assert not google.server.received("/gmail/")
