"""Google Docs (google.docs) through the engine against the fake Google APIs on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from nodes.google.docs import plain_text
from tests.nodes.conftest import Google
from tests.nodes.integrations import failure, host_for, outputs, run_node


def docs(google: Google, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    host = host_for(google.credential)
    return run_node("google.docs", parameters, items, credential_type="google_service_account", host=host, **settings)


def batch_bodies(google: Google) -> list[Any]:
    return [request.json() for request in google.server.received("/v1/documents/") if request.method == "POST"]


def test_create_a_document_per_item_with_its_first_text(google: Google) -> None:
    items = [{"customer": "Ada"}, {"customer": "Grace"}]

    first, second = outputs(
        docs(google, {"title": "Offer for {{ $json.customer }}", "text": "Dear {{ $json.customer }},\n"}, items)
    )

    assert first["title"] == "Offer for Ada" and second["title"] == "Offer for Grace"
    assert first["text"] == "Dear Ada,\n\n" and second["text"] == "Dear Grace,\n\n"
    assert google.server.documents[first["documentId"]]["text"] == "Dear Ada,\n\n"
    (insert, _) = batch_bodies(google)
    assert insert == {"requests": [{"insertText": {"text": "Dear Ada,\n", "endOfSegmentLocation": {"segmentId": ""}}}]}


def test_create_without_text_makes_an_empty_document(google: Google) -> None:
    (created,) = outputs(docs(google, {"title": "Blank"}))

    assert created["text"] == "\n" and created["revisionId"] == "rev-1"
    assert google.server.received("/v1/documents")[0].json() == {"title": "Blank"}
    assert not batch_bodies(google)


def test_get_accepts_a_url_and_renders_the_body_as_text(google: Google) -> None:
    doc_id = google.server.add_document("Notes", "First line\nSecond line")
    url = f"https://docs.google.com/document/d/{doc_id}/edit?tab=t.0"

    (document,) = outputs(docs(google, {"operation": "get", "document": "{{ $json.url }}"}, [{"url": url}]))

    assert document["documentId"] == doc_id and document["title"] == "Notes"
    assert document["text"] == "First line\nSecond line\n"
    paragraphs = [element for element in document["body"]["content"] if "paragraph" in element]
    assert [(p["startIndex"], p["endIndex"]) for p in paragraphs] == [(1, 12), (12, 24)]
    (request,) = google.server.received("/v1/documents/")
    assert request.method == "GET" and request.path == f"/v1/documents/{doc_id}"


def test_plain_text_reads_tables_and_page_breaks() -> None:
    cell = {"content": [{"paragraph": {"elements": [{"textRun": {"content": "A1\n"}}]}}]}
    other = {"content": [{"paragraph": {"elements": [{"textRun": {"content": "B1\n"}}]}}]}
    document = {
        "body": {
            "content": [
                {"sectionBreak": {}},
                {"paragraph": {"elements": [{"textRun": {"content": "Intro"}}, {"pageBreak": {}}]}},
                {"table": {"tableRows": [{"tableCells": [cell, other]}]}},
            ]
        }
    }

    assert plain_text(document) == "Intro\fA1\tB1\n"


def test_append_and_insert_text_at_an_index(google: Google) -> None:
    doc_id = google.server.add_document("Log", "Hello world")

    (appended,) = outputs(docs(google, {"operation": "append_text", "document": doc_id, "text": "!"}))
    (inserted,) = outputs(docs(google, {"operation": "insert_text", "document": doc_id, "text": "Oh, ", "index": 1}))
    at_end = {"operation": "insert_text", "document": doc_id, "text": "?", "index": "{{ $json.at }}"}
    outputs(docs(google, at_end, [{"at": ""}]))

    assert google.server.documents[doc_id]["text"] == "Oh, Hello world!?\n"
    assert appended["documentId"] == doc_id and appended["replies"] == [{}]
    assert inserted["writeControl"] == {"requiredRevisionId": "rev-3"}
    assert batch_bodies(google)[1] == {"requests": [{"insertText": {"text": "Oh, ", "location": {"index": 1}}}]}


def test_replace_all_text_respects_match_case(google: Google) -> None:
    doc_id = google.server.add_document("Letter", "Dear NAME, name stays.")
    parameters = {"operation": "replace_text", "document": doc_id, "find": "NAME", "match_case": True}

    (answer,) = outputs(docs(google, {**parameters, "replace_with": "{{ $json.name }}"}, [{"name": "Ada"}]))

    assert answer["replies"] == [{"replaceAllText": {"occurrencesChanged": 1}}]
    assert google.server.documents[doc_id]["text"] == "Dear Ada, name stays.\n"
    (body,) = batch_bodies(google)
    assert body["requests"][0]["replaceAllText"] == {
        "containsText": {"text": "NAME", "matchCase": True},
        "replaceText": "Ada",
    }


def test_insert_a_page_break_at_the_end_or_at_an_index(google: Google) -> None:
    doc_id = google.server.add_document("Report", "Part one")

    outputs(docs(google, {"operation": "insert_page_break", "document": doc_id}))
    outputs(docs(google, {"operation": "insert_page_break", "document": doc_id, "index": 5}))
    (document,) = outputs(docs(google, {"operation": "get", "document": doc_id}))

    assert document["text"] == "Part\f\n one\f\n\n"
    first, second = batch_bodies(google)
    assert first == {"requests": [{"insertPageBreak": {"endOfSegmentLocation": {"segmentId": ""}}}]}
    assert second == {"requests": [{"insertPageBreak": {"location": {"index": 5}}}]}
    breaks = [
        element
        for block in document["body"]["content"]
        for element in block.get("paragraph", {}).get("elements", [])
        if "pageBreak" in element
    ]
    assert len(breaks) == 2


def test_batch_update_sends_raw_requests_given_as_json_text(google: Google) -> None:
    doc_id = google.server.add_document("Draft", "Remove this. Keep this.")
    requests = (
        '{"requests": [{"deleteContentRange": {"range": {"startIndex": 1, "endIndex": 14}}},'
        ' {"insertText": {"text": "Kept: ", "location": {"index": 1}}}]}'
    )

    (answer,) = outputs(docs(google, {"operation": "batch_update", "document": doc_id, "requests": requests}))

    assert answer["replies"] == [{}, {}]
    assert google.server.documents[doc_id]["text"] == "Kept: Keep this.\n"


def test_an_index_past_the_end_carries_googles_message_and_changes_nothing(google: Google) -> None:
    doc_id = google.server.add_document("Short", "Hi")

    error = failure(docs(google, {"operation": "insert_text", "document": doc_id, "text": "x", "index": 10}))

    assert error["message"] == (
        f"item 0: Google refused editing document {doc_id} (400): Invalid requests[0].insertText: Index 10 must be "
        "less than the end index of the referenced segment, 4."
    )
    assert "indexes count from 1" in error["description"]
    assert google.server.documents[doc_id]["text"] == "Hi\n"


def test_an_unknown_raw_request_is_refused(google: Google) -> None:
    doc_id = google.server.add_document("Doc", "Text")

    error = failure(
        docs(google, {"operation": "batch_update", "document": doc_id, "requests": [{"insertTxt": {"text": "x"}}]})
    )

    assert "Unknown name \"insertTxt\" at 'requests[0]'" in error["message"]


def test_a_missing_document_says_to_share_it_and_continue_on_fail_keeps_going(google: Google) -> None:
    error = failure(docs(google, {"operation": "get", "document": "nope"}))
    (entry,) = outputs(docs(google, {"operation": "get", "document": "nope"}, on_error="continue"))

    assert error["message"] == "item 0: Google refused reading document nope (404): Requested entity was not found."
    assert "client_email" in error["description"]
    assert entry["error"] == error["message"]


def test_a_bad_key_is_refused_before_any_document_call(google: Google) -> None:
    credential = {
        "service_account_json": google.server.service_account("stranger", registered=False),
        "api_root_url": google.server.root_url,
    }

    result = run_node(
        "google.docs",
        {"operation": "get", "document": "abc"},
        credential_type="google_service_account",
        host=host_for(credential),
    )

    error = failure(result)
    assert "Google refused the service account stranger@" in error["message"]
    assert not google.server.received("/v1/documents")


def test_a_403_says_to_share_the_document_and_enable_the_api(google: Google) -> None:
    doc_id = google.server.add_document("Doc", "Text")
    google.server.fail_next(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED")

    error = failure(docs(google, {"operation": "get", "document": doc_id}))

    assert error["message"].endswith("(403): Request had insufficient authentication scopes.")
    assert "enable the Google Docs API" in error["description"]


def test_parameters_are_checked_before_calling_google(google: Google) -> None:
    no_title = failure(docs(google, {"title": ""}))
    no_document = failure(docs(google, {"operation": "get"}))
    no_text = failure(docs(google, {"operation": "append_text", "document": "x"}))
    index_zero = failure(docs(google, {"operation": "insert_text", "document": "x", "text": "a", "index": 0}))
    no_find = failure(docs(google, {"operation": "replace_text", "document": "x"}))
    bad_json = failure(docs(google, {"operation": "batch_update", "document": "x", "requests": "[{"}))

    assert "create needs a title" in no_title["message"]
    assert "get needs a document id or URL" in no_document["message"]
    assert "append_text needs the text to insert" in no_text["message"]
    assert "parameter 'index'" in index_zero["message"] and "greater than or equal to 1" in index_zero["message"]
    assert "replace_text needs the text to find" in no_find["message"]
    assert "the requests are not valid JSON" in bad_json["message"]
    assert not google.server.received("/v1/documents")
