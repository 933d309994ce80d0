"""RSS Read: fetch an RSS or Atom feed and output one item per entry."""

from __future__ import annotations

from typing import Any

import httpx

from nodes.http._auth import checked_url
from nodes.http._feeds import FeedError, parse_feed
from nodes.http.request import USER_AGENT
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

MAX_FEED_BYTES = 10 * 1024 * 1024
ACCEPT = "application/rss+xml, application/rdf+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8"


class RssReadParameters(Parameters):
    url: str = param(title="Feed URL", placeholder="https://example.com/feed.xml", min_length=1)
    limit: int = param(
        0,
        title="Limit",
        description="Output at most this many entries, the first in the feed; 0 outputs them all.",
        ge=0,
    )
    include_raw: bool = param(
        False,
        title="Include the entry's XML",
        description="Add the entry's XML as it appears in the feed, under 'raw'.",
        advanced=True,
    )
    timeout: float = param(
        30.0,
        title="Timeout (seconds)",
        description="Per feed; the node's own timeout setting, when shorter, wins.",
        advanced=True,
        gt=0,
        le=3600,
    )


def _timeout(ctx: Context, params: RssReadParameters, index: int) -> float:
    remaining = ctx.remaining_seconds()
    if remaining is None:
        return params.timeout
    if remaining <= 0:
        raise NodeError(
            f"{_prefix(index)}the node's timeout ran out",
            description="Raise the node's timeout setting.",
            item_index=index,
        )
    return min(params.timeout, remaining)


def _prefix(index: int | None) -> str:
    """How a message names the input item (a trigger has none)."""
    return "" if index is None else f"item {index}: "


def fetch_feed(client: httpx.Client, url: httpx.URL, timeout: float, index: int | None) -> bytes:
    """The feed's bytes, at most :data:`MAX_FEED_BYTES`.

    Raises:
        NodeError: The server could not be reached, answered other than 2xx, or sent too much.
    """
    try:
        with client.stream("GET", url, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT}, timeout=timeout) as answer:
            if not answer.is_success:
                excerpt = " ".join(answer.read()[:300].decode("utf-8", "replace").split())
                raise NodeError(
                    f"{_prefix(index)}GET {url} returned {answer.status_code} {answer.reason_phrase}"
                    + (f": {excerpt}" if excerpt else ""),
                    description="Check the feed URL in a browser.",
                    item_index=index,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise NodeError(
                        f"{_prefix(index)}the feed at {url} is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB",
                        description="Use a feed URL that lists fewer entries.",
                        item_index=index,
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TimeoutException as err:
        raise NodeError(
            f"{_prefix(index)}GET {url} timed out after {round(timeout, 2):g} s",
            description="Raise the Timeout option, or check that the server answers.",
            item_index=index,
        ) from err
    except httpx.HTTPError as err:
        raise NodeError(
            f"{_prefix(index)}GET {url} failed: {err or type(err).__name__}",
            description="Check the feed URL and that the server is reachable from the studio.",
            item_index=index,
        ) from err


def read_entries(content: bytes, url: httpx.URL, index: int | None) -> list[dict[str, Any]]:
    """The feed's entries.

    Raises:
        NodeError: The document is not a readable, safe feed.
    """
    try:
        return parse_feed(content)
    except FeedError as err:
        raise NodeError(
            f"{_prefix(index)}{err} at {url}",
            description="Check that the URL points at an RSS or Atom feed, not a web page.",
            item_index=index,
        ) from err


class RssReadNode(Node):
    type = "http.rss_read"
    display_name = "RSS Read"
    category = Category.ACTION
    description = "Reads an RSS or Atom feed and outputs one item per entry, with dates in UTC."
    icon = "rss"
    Parameters = RssReadParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        with httpx.Client(follow_redirects=True) as client:
            for index in range(len(items)):
                params: RssReadParameters = ctx.params(index)
                url = checked_url(params.url, index, what="the feed URL")
                content = fetch_feed(client, url, _timeout(ctx, params, index), index)
                entries = read_entries(content, url, index)
                if params.limit:
                    entries = entries[: params.limit]
                for entry in entries:
                    if not params.include_raw:
                        entry.pop("raw")
                    produced.append(Item(entry, paired_item=index))
        return [produced]
