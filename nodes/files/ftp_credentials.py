"""The FTP credential, and opening a signed-in FTP or FTPS session with it (for the FTP node)."""

from __future__ import annotations

import ftplib
import ssl
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Literal

from pydantic import BaseModel

from nodes.sdk import CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 30.0


class FtpFields(BaseModel):
    host: str = param(title="Host", placeholder="ftp.example.com", min_length=1)
    port: int = param(21, title="Port", ge=1, le=65535)
    user: str = param("anonymous", title="User", min_length=1)
    password: str = param("", title="Password", widget="password")
    security: Literal["none", "explicit_tls"] = param(
        "none",
        title="Encryption",
        description="none: plain FTP (passwords and files travel readable); explicit_tls: FTPS, which asks the "
        "server for TLS on the usual port (AUTH TLS) and encrypts file transfers too.",
    )
    verify_certificate: bool = param(
        True,
        title="Check the server's certificate",
        description="Turn off only for a server with a self-signed certificate you trust.",
        show_if={"security": ["explicit_tls"]},
    )
    passive: bool = param(
        True,
        title="Passive mode",
        description="The client opens the data connections; needed behind most firewalls and NAT.",
        advanced=True,
    )


class FtpCredential(CredentialType):
    id = "ftp"
    display_name = "FTP"
    description = "An FTP or FTPS server and its login."
    Fields = FtpFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: FtpFields | Mapping[str, Any]) -> str:
        """Sign in and ask for the working folder; returns ``Connected to host:port as user (folder /)``.

        Raises:
            NodeError: The server cannot be reached, refuses the login or TLS.
        """
        checked = FtpCredential.parse(fields)
        session = connect(checked, DEFAULT_TIMEOUT_SECONDS)
        try:
            folder = session.pwd()
        except (ftplib.Error, OSError, EOFError) as err:
            raise NodeError(f"the FTP server at {where(checked)} would not say its working folder: {err}") from err
        finally:
            close(session)
        return f"Connected to {where(checked)} as {checked.user} (folder {folder})"


def where(fields: FtpFields) -> str:
    return f"{fields.host}:{fields.port}"


def _context(fields: FtpFields) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not fields.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(fields: FtpFields, timeout: float) -> ftplib.FTP:
    """A session signed in as the credential's user, with TLS on control and data connections for FTPS.

    Args:
        fields: The FTP credential.
        timeout: Seconds for connecting and for each exchange with the server.

    Raises:
        NodeError: Naming the server and what to check.
    """
    tls = fields.security == "explicit_tls"
    session = ftplib.FTP_TLS(context=_context(fields), timeout=timeout) if tls else ftplib.FTP(timeout=timeout)
    step = "connecting"
    try:
        session.connect(fields.host, fields.port)
        if isinstance(session, ftplib.FTP_TLS):
            step = "starting TLS (AUTH TLS)"
            session.auth()
        step = "signing in"
        session.login(fields.user, fields.password)
        if isinstance(session, ftplib.FTP_TLS):
            step = "protecting file transfers (PROT P)"
            session.prot_p()
        session.set_pasv(fields.passive)
    except ftplib.error_perm as err:
        close(session)
        code = str(err)[:3]
        if step == "signing in" or code == "530":
            raise NodeError(
                f"the FTP server at {where(fields)} refused the login: {err}",
                description="Check the credential's user and password.",
            ) from err
        raise NodeError(
            f"the FTP server at {where(fields)} refused {step}: {err}",
            description="The server may not offer FTPS: set Encryption to none, or ask for TLS to be enabled.",
        ) from err
    except ssl.SSLError as err:
        close(session)
        raise NodeError(
            f"TLS with the FTP server at {where(fields)} failed: {err}",
            description="Check the server's certificate, or turn off the certificate check for a self-signed one "
            "you trust.",
        ) from err
    except (ftplib.Error, OSError, EOFError) as err:
        close(session)
        raise NodeError(
            f"cannot connect to the FTP server at {where(fields)} ({step}): {err or type(err).__name__}",
            description="Check the host, port and encryption of the credential, and that the server is running.",
        ) from err
    return session


def close(session: ftplib.FTP) -> None:
    """Say goodbye (QUIT), or just close the socket when the server is gone."""
    if session.sock is None:
        return
    try:
        session.quit()
    except (ftplib.Error, OSError, EOFError):
        with suppress(OSError):
            session.close()
