"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives.

Use :func:`smtp_server` as a context manager, or the ``smtp_server_fixture``
pattern in a test module. It speaks plain SMTP (no TLS), accepts AUTH PLAIN
and LOGIN without TLS when ``users`` is given, and can refuse recipients.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server got it: the SMTP envelope and the raw bytes."""

    mail_from: str
    recipients: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        """The message parsed with the modern policy (``get_body``, ``iter_attachments``)."""
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class FakeSmtpServer:
    """What a test sees of the running server."""

    host: str
    port: int
    users: Mapping[str, str]
    refused: frozenset[str]
    messages: list[ReceivedMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def credential(self, **overrides: Any) -> dict[str, Any]:
        """Data for an ``smtp`` credential pointing at this server."""
        user, password = next(iter(self.users.items()), ("", ""))
        data = {
            "host": self.host,
            "port": self.port,
            "user": user,
            "password": password,
            "security": "none",
            "sender": "Studio <studio@example.com>",
        }
        data.update(overrides)
        return data

    # aiosmtpd handler hooks

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        with self._lock:
            self.messages.append(ReceivedMessage(str(envelope.mail_from), list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self.users.get(user) == password:
                self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(
    *, users: Mapping[str, str] | None = None, refuse: frozenset[str] = frozenset()
) -> Iterator[FakeSmtpServer]:
    """Run the fake SMTP server for the duration of the block.

    Args:
        users: Logins the server accepts (user → password); with none, AUTH is not offered.
        refuse: Recipient addresses answered with 550.
    """
    fake = FakeSmtpServer("127.0.0.1", free_port(), dict(users or {}), frozenset(refuse))
    options: dict[str, Any] = {}
    if fake.users:
        options = {"authenticator": fake.authenticate, "auth_require_tls": False}
    controller = Controller(fake, hostname=fake.host, port=fake.port, ready_timeout=5, **options)
    controller.start()
    try:
        yield fake
    finally:
        controller.stop()
