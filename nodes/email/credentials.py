"""The SMTP and IMAP credentials, and opening a logged-in session with each (shared by the email nodes)."""

from __future__ import annotations

import base64
import contextlib
import imaplib
import re
import smtplib
import ssl
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from nodes.sdk import CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 30.0

# Deliberately strict: one @, a dotted domain, nothing that could end a header or start another address.
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")
_NAMED = re.compile(r"^(?P<name>.*)<(?P<address>[^<>]*)>$", re.DOTALL)


def parse_addresses(text: str) -> list[tuple[str, str]]:
    """``a@x.org, "Doe, Jane" <jane@y.org>`` as ``[("", "a@x.org"), ("Doe, Jane", "jane@y.org")]``.

    Commas inside quotes or angle brackets do not split; empty entries are skipped.

    Raises:
        ValueError: Naming the first entry that is not an email address.
    """
    entries: list[str] = []
    current: list[str] = []
    quoted = angled = False
    for char in text:
        if char == '"' and not angled:
            quoted = not quoted
        elif char == "<" and not quoted:
            angled = True
        elif char == ">" and not quoted:
            angled = False
        if char == "," and not quoted and not angled:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    parsed: list[tuple[str, str]] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        match = _NAMED.match(entry)
        name, address = (match["name"].strip().strip('"').strip(), match["address"].strip()) if match else ("", entry)
        if "\r" in entry or "\n" in entry or not _ADDRESS.match(address):
            raise ValueError(f"{entry!r} is not an email address")
        parsed.append((name, address))
    return parsed


def _checked_host(value: str) -> str:
    value = value.strip()
    if not value or any(char.isspace() for char in value):
        raise ValueError("the host must be a name or an address without spaces")
    return value


class SmtpFields(BaseModel):
    host: str = param(title="Host", placeholder="smtp.example.com", min_length=1)
    port: int = param(587, title="Port", description="587 for STARTTLS, 465 for SSL, 25 without.", ge=1, le=65535)
    user: str = param("", title="User", description="Leave empty when the server needs no login.")
    password: str = param("", title="Password", widget="password")
    security: Literal["starttls", "ssl", "none"] = param(
        "starttls",
        title="Security",
        description="starttls: upgrade a plain connection; ssl: TLS from the start (port 465); none: no encryption.",
    )
    sender: str = param(
        title="Sender", description="The From address of the emails.", placeholder="Studio <studio@example.com>"
    )

    @field_validator("host")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        return _checked_host(value)

    @field_validator("sender")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if len(parse_addresses(value)) != 1:
            raise ValueError("the sender must be one email address, like Studio <studio@example.com>")
        return value.strip()


class SmtpCredential(CredentialType):
    id = "smtp"
    display_name = "SMTP"
    description = "An SMTP server login for sending email."
    Fields = SmtpFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: SmtpFields | Mapping[str, Any]) -> str:
        """Connect and log in; returns ``Connected to host:port``.

        Raises:
            NodeError: The server cannot be reached, refuses TLS or refuses the login.
        """
        checked = SmtpCredential.parse(fields)
        client = open_smtp(checked, DEFAULT_TIMEOUT_SECONDS)
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
        return f"Connected to {checked.host}:{checked.port}"


def open_smtp(fields: SmtpFields, timeout: float) -> smtplib.SMTP:
    """A connected SMTP session, upgraded to TLS and logged in as the credential says.

    Args:
        fields: The SMTP credential.
        timeout: Seconds for connecting and for each later network operation.

    Raises:
        NodeError: Naming the server and what to change.
    """
    where = f"{fields.host}:{fields.port}"
    context = ssl.create_default_context()
    try:
        if fields.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(fields.host, fields.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(fields.host, fields.port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as err:
        raise NodeError(
            f"cannot connect to the SMTP server {where}: {err}",
            description="Check the host, the port and the Security setting (ssl needs a TLS port such as 465).",
        ) from err
    try:
        if fields.security == "starttls":
            client.starttls(context=context)
    except smtplib.SMTPNotSupportedError as err:
        client.close()
        raise NodeError(
            f"the SMTP server {where} does not offer STARTTLS",
            description="Set Security to ssl (with the TLS port) or, on a trusted network, to none.",
        ) from err
    except (OSError, smtplib.SMTPException) as err:
        client.close()
        raise NodeError(
            f"TLS with the SMTP server {where} failed: {err}",
            description="Check the Security setting and the server's certificate.",
        ) from err
    if not fields.user:
        return client
    try:
        client.login(fields.user, fields.password)
    except smtplib.SMTPNotSupportedError as err:
        client.close()
        raise NodeError(
            f"the SMTP server {where} does not offer a login",
            description="Leave User and Password empty, or use the port where the server accepts logins.",
        ) from err
    except smtplib.SMTPAuthenticationError as err:
        client.close()
        raise NodeError(
            f"the SMTP server {where} refused the login of {fields.user!r}: {_reply(err)}",
            description="Check the user and password; some providers need an app password.",
        ) from err
    except (OSError, smtplib.SMTPException) as err:
        client.close()
        raise NodeError(
            f"logging in to the SMTP server {where} failed: {err}",
            description="Check the user, the password and the Security setting.",
        ) from err
    return client


def _reply(err: smtplib.SMTPResponseException) -> str:
    message = err.smtp_error.decode(errors="replace") if isinstance(err.smtp_error, bytes) else str(err.smtp_error)
    return f"{err.smtp_code} {message}".strip()


class ImapFields(BaseModel):
    host: str = param(title="Host", placeholder="imap.example.com", min_length=1)
    port: int = param(993, title="Port", description="993 for TLS, 143 for STARTTLS or none.", ge=1, le=65535)
    user: str = param(title="User", description="Often the full email address.", min_length=1)
    password: str = param("", title="Password", widget="password")
    security: Literal["tls", "starttls", "none"] = param(
        "tls",
        title="Security",
        description="tls: TLS from the start (port 993); starttls: upgrade a plain connection (port 143); "
        "none: no encryption.",
    )

    @field_validator("host")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        return _checked_host(value)


class ImapCredential(CredentialType):
    id = "imap"
    display_name = "IMAP"
    description = "An IMAP server login for reading a mailbox."
    Fields = ImapFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: ImapFields | Mapping[str, Any]) -> str:
        """Connect and log in; returns ``Connected to host:port``.

        Raises:
            NodeError: The server cannot be reached, refuses TLS or refuses the login.
        """
        checked = ImapCredential.parse(fields)
        close_imap(open_imap(checked, DEFAULT_TIMEOUT_SECONDS))
        return f"Connected to {checked.host}:{checked.port}"


def open_imap(fields: ImapFields, timeout: float) -> imaplib.IMAP4:
    """A connected IMAP session, over TLS as the credential says, logged in.

    Args:
        fields: The IMAP credential.
        timeout: Seconds for connecting and for each later network operation.

    Raises:
        NodeError: Naming the server and what to change; never the password.
    """
    where = f"{fields.host}:{fields.port}"
    context = ssl.create_default_context()
    try:
        if fields.security == "tls":
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(fields.host, fields.port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(fields.host, fields.port, timeout=timeout)
    except ssl.SSLError as err:
        raise NodeError(
            f"TLS with the IMAP server {where} failed: {err}",
            description="Check the Security setting (tls needs a TLS port such as 993) and the server's certificate.",
        ) from err
    except (OSError, imaplib.IMAP4.error) as err:
        raise NodeError(
            f"cannot connect to the IMAP server {where}: {imap_text(err)}",
            description="Check the host, the port and the Security setting (tls needs a TLS port such as 993).",
        ) from err
    try:
        if fields.security == "starttls":
            if "STARTTLS" not in client.capabilities:
                raise NodeError(
                    f"the IMAP server {where} does not offer STARTTLS",
                    description="Set Security to tls (with the TLS port, often 993) or, on a trusted network, to none.",
                )
            client.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as err:
        close_imap(client, logged_in=False)
        raise NodeError(
            f"TLS with the IMAP server {where} failed: {imap_text(err)}",
            description="Check the Security setting and the server's certificate.",
        ) from err
    except NodeError:
        close_imap(client, logged_in=False)
        raise
    try:
        _login(client, fields.user, fields.password, where)
    except NodeError:
        close_imap(client, logged_in=False)
        raise
    except imaplib.IMAP4.abort as err:
        close_imap(client, logged_in=False)
        raise NodeError(
            f"the IMAP server {where} closed the connection while logging in {fields.user!r}: {imap_text(err)}",
            description="Check the user, the password and the Security setting.",
        ) from err
    except imaplib.IMAP4.error as err:
        close_imap(client, logged_in=False)
        raise NodeError(
            f"the IMAP server {where} refused the login for user {fields.user!r}: {imap_text(err)}",
            description="Check the user and password; some providers need an app password or IMAP turned on.",
        ) from err
    except OSError as err:
        close_imap(client, logged_in=False)
        raise NodeError(
            f"logging in to the IMAP server {where} failed: {err}",
            description="Check the server and the Security setting, then try again.",
        ) from err
    return client


def _login(client: imaplib.IMAP4, user: str, password: str, where: str) -> None:
    """LOGIN, or AUTHENTICATE PLAIN in UTF-8 when the user or password is not ASCII (LOGIN sends ASCII only)."""
    if (user + password).isascii():
        client.login(user, password)
        return
    if "AUTH=PLAIN" not in client.capabilities:
        raise NodeError(
            f"the IMAP server {where} cannot take a user or password with non-ASCII characters",
            description="The server offers only LOGIN, which sends ASCII: use an ASCII password (or app password).",
        )
    token = b"\0" + user.encode() + b"\0" + password.encode()
    client.authenticate("PLAIN", lambda _challenge: token)


def close_imap(client: imaplib.IMAP4, *, logged_in: bool = True) -> None:
    """Log out (or just close the socket), ignoring a connection that is already gone."""
    try:
        if logged_in:
            client.logout()
        else:
            client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError):
            client.shutdown()


def imap_text(err: BaseException) -> str:
    """An imaplib error's text, decoded: imaplib raises with the server's reply as bytes (``b'[...] text'``)."""
    if isinstance(err, OSError):
        return str(err) or type(err).__name__
    text = err.args[0] if err.args else ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return str(text) or type(err).__name__


def encode_mailbox(name: str) -> str:
    """A mailbox name as IMAP sends it: modified UTF-7 (RFC 3501 5.1.3), quoted.

    imaplib sends names as they are, so ``Sent Items`` would be two arguments and
    ``Entwürfe`` could not be encoded at all.
    """
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunk = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            encoded.append(f"&{chunk}-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    text = "".join(encoded).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
