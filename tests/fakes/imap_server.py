"""A real IMAP server for tests: a private Dovecot on a free 127.0.0.1 port.

:func:`dovecot_server` writes a configuration into a fresh directory (plain
IMAP, no TLS, logins from a passwd file, maildirs beside it), runs ``dovecot
-F`` with it and stops it afterwards. Tests put mail in with IMAP APPEND
through :meth:`DovecotServer.append`, so no delivery agent is needed. Without
Dovecot installed (``apt-get install dovecot-imapd``) tests skip, or fail
under ``CI=true``. The configuration is Dovecot 2.3's (Debian 12).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.fakes.smtp_server import free_port
from tests.servers import unavailable

STARTUP_SECONDS = 15.0

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
# Plain IMAP on 127.0.0.1: the tests log in without TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login
# The wrong-password tests need no 2-second penalty.
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
{mail_owner}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
# No chroots: they need root, and the tests may run without it.
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class DovecotServer:
    """The running server, and IMAP access to it as the test's user."""

    host: str
    port: int
    users: Mapping[str, str]
    directory: Path

    @property
    def user(self) -> str:
        return next(iter(self.users))

    def credential(self, **overrides: Any) -> dict[str, Any]:
        """Data for an ``imap`` credential reaching this server as the first user."""
        data = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.users[self.user],
            "security": "none",
        }
        return {**data, **overrides}

    @contextmanager
    def client(self, user: str | None = None) -> Iterator[imaplib.IMAP4]:
        """A logged-in IMAP session, logged out afterwards."""
        name = user or self.user
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(name, self.users[name])
            yield client
        finally:
            client.logout()

    def create(self, mailbox: str) -> None:
        with self.client() as client:
            status, data = client.create(mailbox)
            assert status == "OK", data

    def delete(self, mailbox: str) -> None:
        with self.client() as client:
            status, data = client.delete(mailbox)
            assert status == "OK", data

    def append(self, message: EmailMessage | bytes, mailbox: str = "INBOX", *, seen: bool = False) -> int:
        """Put ``message`` into ``mailbox``; returns its UID (from Dovecot's APPENDUID)."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.client() as client:
            status, data = client.append(mailbox, r"(\Seen)" if seen else None, None, raw)
        assert status == "OK", data
        match = re.search(rb"APPENDUID \d+ (\d+)", data[0])
        assert match, data
        return int(match[1])

    def flags(self, mailbox: str, uid: int) -> set[str]:
        with self.client() as client:
            client.select(mailbox, readonly=True)
            status, data = client.uid("FETCH", str(uid), "(FLAGS)")
        assert status == "OK" and data and data[0], data
        found = re.search(rb"FLAGS \(([^)]*)\)", data[0] if isinstance(data[0], bytes) else data[0][0])
        assert found, data
        return set(found[1].decode().split())

    def uidvalidity(self, mailbox: str) -> int:
        with self.client() as client:
            status, data = client.status(mailbox, "(UIDVALIDITY)")
        assert status == "OK", data
        match = re.search(rb"UIDVALIDITY (\d+)", data[0])
        assert match, data
        return int(match[1])


def dovecot_binary() -> str:
    """The dovecot executable; skips the test (fails it under CI=true) when Dovecot is not installed."""
    binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin")
    if binary is None:
        unavailable("Dovecot is not installed (apt-get install dovecot-imapd)")
    assert binary is not None
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if not version.startswith("2.3."):
        unavailable(f"these tests configure Dovecot 2.3, and {binary} is {version or 'of an unknown version'}")
    return binary


@contextmanager
def dovecot_server(users: Mapping[str, str]) -> Iterator[DovecotServer]:
    """Run a private Dovecot with these users (name → password) until the block ends."""
    binary = dovecot_binary()
    # Not under pytest's tmp_path: when run as root the mail processes run as nobody and must reach the maildirs.
    root = Path(tempfile.mkdtemp(prefix="hitl-dovecot-"))
    root.chmod(0o755)
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    (root / "users").write_text("".join(f"{user}:{{PLAIN}}{password}\n" for user, password in users.items()))
    port = free_port()
    (root / "dovecot.conf").write_text(_CONFIG.format(root=root, port=port, **_accounts(root)))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_greeting(process, port, root)
        yield DovecotServer("127.0.0.1", port, dict(users), root)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        shutil.rmtree(root, ignore_errors=True)


def _accounts(root: Path) -> dict[str, str]:
    """Who Dovecot's processes run as: its own users when we are root (it refuses root), else us."""
    if os.geteuid() != 0:
        me, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
        return {"internal_user": me, "internal_group": group, "login_user": me, "mail_owner": ""}
    nobody = pwd.getpwnam("nobody")
    # Dovecot will not touch mail as root; the maildirs belong to nobody.
    os.chown(root / "mail", nobody.pw_uid, nobody.pw_gid)
    return {
        "internal_user": "dovecot",
        "internal_group": "dovecot",
        "login_user": "dovenull",
        "mail_owner": f"mail_uid = {nobody.pw_uid}\nmail_gid = {nobody.pw_gid}",
    }


def _wait_for_greeting(process: subprocess.Popen[bytes], port: int, root: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as probe:
                probe.settimeout(2)
                if probe.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    output = process.stdout.read().decode(errors="replace") if process.poll() is not None and process.stdout else ""
    log = (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() else ""
    raise AssertionError(f"the private Dovecot on port {port} did not start:\n{output}{log}")
