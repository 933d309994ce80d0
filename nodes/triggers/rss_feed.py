"""RSS Feed Trigger: starts a run for each poll that finds new entries in an RSS or Atom feed.

Entries are told apart by their id (the feed's guid or Atom id, else the
link): the cursor keeps the ids seen lately, so an entry edited later (a new
title, a new date) does not start a second run, and one that drops out of the
feed and comes back does not either, while it is among the last
:data:`SEEN_LIMIT` seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import clamp_timeout
from nodes.http._auth import checked_url
from nodes.http.rss_read import fetch_feed, read_entries
from nodes.sdk import Category, Context, Item, Poll, PollParameters, PollTriggerNode, param

SEEN_LIMIT = 1000
"""How many entry ids the cursor keeps: far more than a feed lists at once."""


class RssFeedTriggerParameters(PollParameters):
    url: str = param(title="Feed URL", placeholder="https://example.com/feed.xml", min_length=1)
    include_raw: bool = param(
        False,
        title="Include the entry's XML",
        description="Add the entry's XML as it appears in the feed, under 'raw'.",
        advanced=True,
    )
    timeout: float = param(30.0, title="Timeout (seconds)", advanced=True, gt=0, le=3600)


def entry_key(entry: Mapping[str, Any]) -> str:
    """What tells an entry apart: its id (or link), else a digest of its title and dates."""
    if entry.get("id"):
        return str(entry["id"])
    seen = f"{entry.get('title')}|{entry.get('published')}|{entry.get('updated')}|{entry.get('summary')}"
    return "sha256:" + hashlib.sha256(seen.encode()).hexdigest()


class RssFeedTrigger(PollTriggerNode):
    type = "trigger.rss_feed"
    display_name = "RSS Feed Trigger"
    category = Category.TRIGGER
    description = "Starts the workflow when an RSS or Atom feed has new entries, one item per entry, oldest first."
    icon = "rss"
    Parameters = RssFeedTriggerParameters
    subtitle = "url"

    def poll(self, ctx: Context, cursor: Mapping[str, Any] | None) -> Poll:
        params: RssFeedTriggerParameters = ctx.params()
        url = checked_url(params.url, None, what="the feed URL")
        timeout = clamp_timeout(ctx.remaining_seconds(), params.timeout)
        with httpx.Client(follow_redirects=True) as client:
            entries = read_entries(fetch_feed(client, url, timeout, None), url, None)
        keys = [entry_key(entry) for entry in entries]
        seen = set(cursor.get("seen", [])) if cursor is not None else set()
        # Feeds list the newest first; runs get the new entries in the order they appeared.
        new = [entry for entry, key in zip(entries, keys, strict=True) if key not in seen]
        if cursor is not None:
            new.reverse()
        remembered = list(dict.fromkeys([*keys, *(cursor.get("seen", []) if cursor is not None else [])]))
        items = []
        for entry in new:
            if not params.include_raw:
                entry.pop("raw", None)
            items.append(Item(entry))
        return Poll(items=items, cursor={"seen": remembered[:SEEN_LIMIT]})
