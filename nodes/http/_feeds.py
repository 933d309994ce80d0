"""Reading RSS 2.0, RSS 1.0 (RDF) and Atom feeds into one shape of entry, safely.

Feeds come from anywhere, so the XML is parsed with ``defusedxml``: a feed that
declares entities (how "billion laughs" and external-entity attacks start) is
refused before anything expands, and nothing outside the document is fetched.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


class FeedError(ValueError):
    """The document is not a feed this module can read; the message says why, in a sentence."""


def parse_feed(content: bytes) -> list[dict[str, Any]]:
    """The entries of an RSS 2.0, RSS 1.0 or Atom document, in the feed's order.

    Each entry has ``title``, ``link``, ``id``, ``published`` and ``updated`` (ISO 8601
    in UTC, or ``None``), ``author``, ``summary``, ``content``, ``categories``,
    ``enclosures`` (``url``, ``type``, ``length``) and ``raw`` (the entry's XML).

    Raises:
        FeedError: The XML is malformed, declares entities, or is not a feed.
    """
    try:
        root = fromstring(content, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise FeedError(
            "the feed declares XML entities or external references, which are refused "
            "(they can expand into huge documents or read local files)"
        ) from err
    except ParseError as err:
        line, column = err.position
        raise FeedError(f"the feed is not well-formed XML (line {line}, column {column + 1})") from err
    if root.tag == "rss":
        channel = root.find("channel")
        return [_rss2_entry(item) for item in (channel.findall("item") if channel is not None else [])]
    if root.tag == f"{RDF}RDF":
        return [_rss1_entry(item) for item in root.findall(f"{RSS1}item")]
    if root.tag == f"{ATOM}feed":
        return [_atom_entry(entry) for entry in root.findall(f"{ATOM}entry")]
    name = root.tag.rsplit("}", 1)[-1]
    raise FeedError(f"the document is not an RSS or Atom feed (its root element is <{name}>)")


def iso_date(text: str | None) -> str | None:
    """An RFC 822 (RSS) or ISO 8601 (Atom, Dublin Core) date as ISO 8601 in UTC; ``None`` when unreadable.

    A date without a time zone is taken as UTC.
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    moment: datetime | None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _entry(
    element: Element,
    *,
    title: str | None,
    link: str | None,
    entry_id: str | None,
    published: str | None,
    updated: str | None,
    author: str | None,
    summary: str | None,
    content: str | None,
    categories: list[str],
    enclosures: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "title": title,
        "link": link,
        "id": entry_id or link,
        "published": iso_date(published),
        "updated": iso_date(updated),
        "author": author,
        "summary": summary,
        "content": content,
        "categories": categories,
        "enclosures": enclosures,
        "raw": tostring(element, encoding="unicode"),
    }


def _length(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _rss2_entry(item: Element) -> dict[str, Any]:
    return _entry(
        item,
        title=_text(item.find("title")),
        link=_text(item.find("link")),
        entry_id=_text(item.find("guid")),
        published=_text(item.find("pubDate")) or _text(item.find(f"{DC}date")),
        updated=_text(item.find(f"{ATOM}updated")),
        author=_text(item.find("author")) or _text(item.find(f"{DC}creator")),
        summary=_text(item.find("description")),
        content=_text(item.find(f"{CONTENT}encoded")),
        categories=[text for element in item.findall("category") if (text := _text(element))],
        enclosures=[
            {"url": element.get("url"), "type": element.get("type"), "length": _length(element.get("length"))}
            for element in item.findall("enclosure")
            if element.get("url")
        ],
    )


def _rss1_entry(item: Element) -> dict[str, Any]:
    return _entry(
        item,
        title=_text(item.find(f"{RSS1}title")),
        link=_text(item.find(f"{RSS1}link")),
        entry_id=item.get(f"{RDF}about"),
        published=_text(item.find(f"{DC}date")),
        updated=None,
        author=_text(item.find(f"{DC}creator")),
        summary=_text(item.find(f"{RSS1}description")),
        content=_text(item.find(f"{CONTENT}encoded")),
        categories=[text for element in item.findall(f"{DC}subject") if (text := _text(element))],
        enclosures=[],
    )


def _atom_content(element: Element | None) -> str | None:
    if element is None:
        return None
    if element.get("type") == "xhtml":
        # The content is the markup inside the wrapping <div>, not just its text.
        wrapper = next(iter(element), None)
        if wrapper is None:
            return _text(element)
        wrapper = copy.deepcopy(wrapper)
        # Plain tag names, so the markup reads as HTML rather than as prefixed XHTML.
        for descendant in wrapper.iter():
            if isinstance(descendant.tag, str):
                descendant.tag = descendant.tag.rsplit("}", 1)[-1]
        inner = (wrapper.text or "") + "".join(tostring(child, encoding="unicode") for child in wrapper)
        return inner.strip() or None
    return _text(element)


def _atom_entry(entry: Element) -> dict[str, Any]:
    links = entry.findall(f"{ATOM}link")
    alternate = next((link.get("href") for link in links if link.get("rel", "alternate") == "alternate"), None)
    authors = [name for author in entry.findall(f"{ATOM}author") if (name := _text(author.find(f"{ATOM}name")))]
    return _entry(
        entry,
        title=_text(entry.find(f"{ATOM}title")),
        link=alternate,
        entry_id=_text(entry.find(f"{ATOM}id")),
        published=_text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated")),
        updated=_text(entry.find(f"{ATOM}updated")),
        author=", ".join(authors) or None,
        summary=_text(entry.find(f"{ATOM}summary")),
        content=_atom_content(entry.find(f"{ATOM}content")),
        categories=[term for element in entry.findall(f"{ATOM}category") if (term := element.get("term"))],
        enclosures=[
            {"url": link.get("href"), "type": link.get("type"), "length": _length(link.get("length"))}
            for link in links
            if link.get("rel") == "enclosure" and link.get("href")
        ],
    )
