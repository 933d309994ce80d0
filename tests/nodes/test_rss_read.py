"""RSS Read (http.rss_read) run through the engine against a real feed server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.http._feeds import iso_date
from nodes.http.rss_read import MAX_FEED_BYTES
from tests.fakes.feed_server import FakeFeedServer, fake_feed_server
from tests.workflows import node, output_json, run, workflow

TYPE = "http.rss_read"


@pytest.fixture
def feeds() -> Iterator[FakeFeedServer]:
    with fake_feed_server() as fake:
        yield fake


def read(parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **settings: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("RSS", TYPE, parameters, **settings)], [("Start", "RSS")])
    return run(data, items if items is not None else [{}])


def succeeded(result: RunResult) -> list[dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "RSS")


def failure(result: RunResult) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED, result.status
    assert result.error is not None and result.error["node"] == "RSS"
    return result.error


def test_an_rss2_feed_gives_one_item_per_entry(feeds: FakeFeedServer) -> None:
    first, second, third = succeeded(read({"url": feeds.url("/rss2")}))

    assert first == {
        "title": "Version 2.0",
        "link": "https://example.com/releases/2.0",
        "id": "release-2.0",
        "published": "2025-06-03T07:30:00Z",
        "updated": None,
        "author": "ada@example.com (Ada)",
        "summary": "<p>Big <b>changes</b>.</p>",
        "content": "<p>All the changes, in detail.</p>",
        "categories": ["release", "major"],
        "enclosures": [{"url": "https://example.com/2.0.mp3", "type": "audio/mpeg", "length": 12345}],
    }
    # No guid: the link is the id; dc:creator is the author; -0500 becomes UTC the next day.
    assert (second["id"], second["author"], second["published"]) == (
        "https://example.com/releases/1.9",
        "Grace",
        "2025-06-03T04:15:00Z",
    )
    assert (third["id"], third["link"], third["published"]) == ("https://example.com/releases/1.8", None, None)
    (received,) = feeds.requests
    assert received.headers["user-agent"] == "HITL-Studio"
    assert "application/rss+xml" in received.headers["accept"]


def test_an_rdf_feed_is_read(feeds: FakeFeedServer) -> None:
    first, second = succeeded(read({"url": feeds.url("/rdf")}))

    assert first["title"] == "First story" and first["id"] == "https://example.org/news/1"
    assert (first["published"], first["author"], first["categories"]) == ("2025-06-01T10:00:00Z", "Linus", ["kernel"])
    assert first["summary"] == "The first one."
    assert second["published"] == "2025-06-02T00:00:00Z"


def test_an_atom_feed_is_read(feeds: FakeFeedServer) -> None:
    first, second = succeeded(read({"url": feeds.url("/atom")}))

    assert first == {
        "title": "Postmortem",
        "link": "https://blog.example.com/postmortem",
        "id": "tag:blog.example.com,2025:postmortem",
        "published": "2025-06-04T15:00:00Z",
        "updated": "2025-06-04T10:00:00Z",
        "author": "Margaret, Edsger",
        "summary": "What broke, and why.",
        "content": "We <em>fixed</em> it.",
        "categories": ["incidents"],
        "enclosures": [{"url": "https://blog.example.com/postmortem.pdf", "type": "application/pdf", "length": 2048}],
    }
    # Without <published>, the entry's date is its <updated>; escaped HTML content is unescaped once.
    assert (second["published"], second["updated"]) == ("2025-06-01T00:00:00Z", "2025-06-01T00:00:00Z")
    assert second["link"] == "https://blog.example.com/updated"
    assert second["content"] == "<p>Escaped HTML</p>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 03 Jun 2025 09:30:00 +0200", "2025-06-03T07:30:00Z"),
        ("Tue, 03 Jun 2025 09:30:00 GMT", "2025-06-03T09:30:00Z"),
        ("2025-06-04T08:00:00-07:00", "2025-06-04T15:00:00Z"),
        ("2025-06-04T08:00:00.250Z", "2025-06-04T08:00:00.250000Z"),
        ("2025-06-04T08:00:00", "2025-06-04T08:00:00Z"),
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_become_iso_8601_in_utc(text: str, expected: str | None) -> None:
    assert iso_date(text) == expected


def test_limit_keeps_the_first_entries(feeds: FakeFeedServer) -> None:
    produced = succeeded(read({"url": feeds.url("/rss2"), "limit": 2}))

    assert [entry["title"] for entry in produced] == ["Version 2.0", "Version 1.9"]


def test_the_raw_xml_of_each_entry_can_be_included(feeds: FakeFeedServer) -> None:
    first, *_ = succeeded(read({"url": feeds.url("/rss2"), "include_raw": True}))

    assert first["raw"].startswith("<item")
    assert '<guid isPermaLink="false">release-2.0</guid>' in first["raw"]


def test_the_url_comes_from_each_item(feeds: FakeFeedServer) -> None:
    produced = succeeded(
        read({"url": "{{ $json.feed }}", "limit": 1}, [{"feed": feeds.url("/atom")}, {"feed": feeds.url("/rdf")}])
    )

    assert [entry["title"] for entry in produced] == ["Postmortem", "First story"]
    assert [request.path for request in feeds.requests] == ["/atom", "/rdf"]


def test_a_redirect_to_the_feed_is_followed(feeds: FakeFeedServer) -> None:
    produced = succeeded(read({"url": feeds.url("/moved")}))

    assert [entry["title"] for entry in produced] == ["Postmortem", "Only updated"]


def test_an_entity_expansion_feed_is_refused_at_once(feeds: FakeFeedServer) -> None:
    error = failure(read({"url": feeds.url("/bomb")}))

    assert error["message"] == (
        "item 0: the feed declares XML entities or external references, which are refused "
        f"(they can expand into huge documents or read local files) at {feeds.url('/bomb')}"
    )


def test_an_external_entity_is_refused(feeds: FakeFeedServer) -> None:
    error = failure(read({"url": feeds.url("/external")}))

    assert "declares XML entities or external references, which are refused" in error["message"]
    assert "root:" not in error["message"]


def test_malformed_xml_names_where_it_breaks(feeds: FakeFeedServer) -> None:
    error = failure(read({"url": feeds.url("/broken")}))

    assert error["message"] == f"item 0: the feed is not well-formed XML (line 3, column 1) at {feeds.url('/broken')}"


def test_a_web_page_is_not_a_feed(feeds: FakeFeedServer) -> None:
    error = failure(read({"url": feeds.url("/page")}))

    assert error["message"] == (
        f"item 0: the document is not an RSS or Atom feed (its root element is <html>) at {feeds.url('/page')}"
    )
    assert error["description"] == "Check that the URL points at an RSS or Atom feed, not a web page."


def test_a_missing_feed_fails_with_the_status(feeds: FakeFeedServer) -> None:
    error = failure(read({"url": feeds.url("/gone")}))

    assert error["message"] == f"item 0: GET {feeds.url('/gone')} returned 404 Not Found: no feed at /gone"


def test_an_unreachable_server_fails_clearly() -> None:
    with fake_feed_server() as closed:
        url = closed.url("/rss2")
    error = failure(read({"url": url}))

    assert error["message"].startswith(f"item 0: GET {url} failed: ")


def test_a_url_that_is_not_http_fails() -> None:
    error = failure(read({"url": "file:///etc/passwd"}))

    assert error["message"] == "item 0: the feed URL 'file:///etc/passwd' is not an http:// or https:// URL"


def test_a_feed_that_changes_is_read_afresh(feeds: FakeFeedServer) -> None:
    feeds.serve("/latest", feeds.feeds["/rdf"][1])
    before = succeeded(read({"url": feeds.url("/latest")}))
    feeds.serve("/latest", feeds.feeds["/atom"][1], "application/atom+xml")
    after = succeeded(read({"url": feeds.url("/latest")}))

    assert [entry["title"] for entry in before] == ["First story", "Second story"]
    assert [entry["title"] for entry in after] == ["Postmortem", "Only updated"]


def test_continue_on_fail_turns_the_error_into_an_item(feeds: FakeFeedServer) -> None:
    (entry,) = succeeded(read({"url": feeds.url("/bomb")}, on_error="continue"))

    assert "declares XML entities" in entry["error"]
    assert entry["error_details"]["item_index"] == 0


def test_a_feed_larger_than_the_limit_is_refused(feeds: FakeFeedServer) -> None:
    feeds.serve("/huge", b"<rss>" + b" " * MAX_FEED_BYTES + b"</rss>")

    error = failure(read({"url": feeds.url("/huge")}))

    assert error["message"] == f"item 0: the feed at {feeds.url('/huge')} is larger than 10 MB"
