"""A real HTTP server on 127.0.0.1 serving feeds, for the RSS Read node's tests; it records every request.

Routes (each a key of :attr:`FakeFeedServer.feeds`, which a test may change or extend between requests):
    ``/rss2``      an RSS 2.0 feed (:data:`RSS2`).
    ``/rdf``       an RSS 1.0 (RDF) feed (:data:`RDF`).
    ``/atom``      an Atom feed (:data:`ATOM`).
    ``/bomb``      a "billion laughs" entity-expansion feed (:data:`BOMB`).
    ``/external``  a feed whose entity reads a local file (:data:`EXTERNAL`).
    ``/broken``    XML cut short.
    ``/page``      an HTML page, not a feed.
    ``/moved``     302 to ``/atom``.
Any other path answers 404.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.serving import FakeServer, serve

RSS2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Release notes</title>
    <link>https://example.com/</link>
    <description>What shipped.</description>
    <item>
      <title>Version 2.0</title>
      <link>https://example.com/releases/2.0</link>
      <guid isPermaLink="false">release-2.0</guid>
      <pubDate>Tue, 03 Jun 2025 09:30:00 +0200</pubDate>
      <author>ada@example.com (Ada)</author>
      <description><![CDATA[<p>Big <b>changes</b>.</p>]]></description>
      <content:encoded><![CDATA[<p>All the changes, in detail.</p>]]></content:encoded>
      <category>release</category>
      <category>major</category>
      <enclosure url="https://example.com/2.0.mp3" type="audio/mpeg" length="12345"/>
    </item>
    <item>
      <title>Version 1.9</title>
      <link>https://example.com/releases/1.9</link>
      <pubDate>Mon, 02 Jun 2025 23:15:00 -0500</pubDate>
      <dc:creator>Grace</dc:creator>
      <description>Small fixes.</description>
    </item>
    <item>
      <title>Version 1.8</title>
      <guid>https://example.com/releases/1.8</guid>
      <pubDate>not a date</pubDate>
    </item>
  </channel>
</rss>
"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/news">
    <title>News</title>
    <link>https://example.org/</link>
    <description>RDF news.</description>
  </channel>
  <item rdf:about="https://example.org/news/1">
    <title>First story</title>
    <link>https://example.org/news/1</link>
    <description>The first one.</description>
    <dc:date>2025-06-01T12:00:00+02:00</dc:date>
    <dc:creator>Linus</dc:creator>
    <dc:subject>kernel</dc:subject>
  </item>
  <item rdf:about="https://example.org/news/2">
    <title>Second story</title>
    <link>https://example.org/news/2</link>
    <dc:date>2025-06-02</dc:date>
  </item>
</rdf:RDF>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Engineering blog</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2025-06-04T10:00:00Z</updated>
  <entry>
    <title>Postmortem</title>
    <link rel="alternate" href="https://blog.example.com/postmortem"/>
    <link rel="enclosure" href="https://blog.example.com/postmortem.pdf" type="application/pdf" length="2048"/>
    <id>tag:blog.example.com,2025:postmortem</id>
    <published>2025-06-04T08:00:00-07:00</published>
    <updated>2025-06-04T10:00:00Z</updated>
    <author><name>Margaret</name></author>
    <author><name>Edsger</name></author>
    <category term="incidents"/>
    <summary>What broke, and why.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">We <em>fixed</em> it.</div></content>
  </entry>
  <entry>
    <title type="html">Only updated</title>
    <link href="https://blog.example.com/updated"/>
    <id>tag:blog.example.com,2025:updated</id>
    <updated>2025-06-01T00:00:00Z</updated>
    <content type="html">&lt;p&gt;Escaped HTML&lt;/p&gt;</content>
  </entry>
</feed>
"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>lol</title><item><title>&lol9;</title></item></channel></rss>
"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x</title><item><title>&secret;</title></item></channel></rss>
"""

BROKEN = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>cut</title><item><title>never closed</title>
"""

PAGE = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hello</p></body></html>"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeFeedServer:
    host: str
    port: int
    feeds: dict[str, tuple[str, bytes]] = field(
        default_factory=lambda: {
            "/rss2": ("application/rss+xml; charset=utf-8", RSS2),
            "/rdf": ("application/rdf+xml", RDF),
            "/atom": ("application/atom+xml", ATOM),
            "/bomb": ("application/rss+xml", BOMB),
            "/external": ("application/rss+xml", EXTERNAL),
            "/broken": ("application/rss+xml", BROKEN),
            "/page": ("text/html", PAGE),
        }
    )
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> None:
        """Serve ``body`` on ``path`` from the next request on."""
        with self.lock:
            self.feeds[path] = (content_type, body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeFeedServer]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        with fake.lock:
            fake.requests.append(Received("GET", path, {k.lower(): v for k, v in self.headers.items()}))
            served = fake.feeds.get(path)
        if path == "/moved":
            self._send(302, b"", "text/plain", Location=fake.url("/atom"))
        elif served is None:
            self._send(404, f"no feed at {path}".encode(), "text/plain")
        else:
            content_type, body = served
            self._send(200, body, content_type)


@contextmanager
def fake_feed_server() -> Iterator[FakeFeedServer]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeFeedServer, name="fake-feeds") as fake:
        yield fake
