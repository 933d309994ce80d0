"""Serving a fake service on 127.0.0.1: the one server loop every fake of this package shares.

A fake is two parts: a state object (what the test sets up and inspects: ``FakeGitHub``, ``FakeSlack``…) and a
``BaseHTTPRequestHandler`` that answers from it through ``self.server.fake``. :func:`serve` binds a free port,
builds the state with that port, serves on a daemon thread and shuts down on exit, so no fake repeats it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

F = TypeVar("F")

POLL_SECONDS = 0.02
"""How often the serving thread checks for shutdown: short, so leaving a test's ``with`` block is quick."""


class FakeServer(ThreadingHTTPServer, Generic[F]):
    """A threading HTTP server carrying the fake's state for its handlers (``self.server.fake``)."""

    daemon_threads = True
    fake: F
    quiet_disconnects = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when asked: a client that gave up (timeout tests) closes its socket mid-answer on purpose."""
        if not self.quiet_disconnects:
            super().handle_error(request, client_address)


@contextmanager
def serve(
    handler: type[BaseHTTPRequestHandler],
    make_fake: Callable[[str, int], F],
    *,
    name: str,
    quiet_disconnects: bool = False,
) -> Iterator[F]:
    """Serve ``handler`` on a free port of 127.0.0.1 with ``make_fake(host, port)`` as its state; stop on exit."""
    server: FakeServer[F] = FakeServer(("127.0.0.1", 0), handler)
    server.quiet_disconnects = quiet_disconnects
    server.fake = make_fake("127.0.0.1", server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), name=name, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
