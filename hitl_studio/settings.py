"""All configuration, read once from the environment into one typed object.

Every other module asks :func:`get_settings` instead of reading ``os.environ``
itself, so a bad value is reported once, at start-up, as one line that names
the variable (see :class:`SettingsError`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from hitl_studio import __version__

DEFAULT_DATA_DIR = ".data"
SECRET_KEY_FILE = "secret.key"
MIN_SECRET_KEY_LENGTH = 32
MIN_ADMIN_PASSWORD_LENGTH = 8


class SettingsError(ValueError):
    """A configuration variable is missing or malformed.

    The message always starts with the variable's name so that start-up can
    print it as the single line a person needs to fix their environment.
    """

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True)
class SmtpSettings:
    """Outgoing mail, used by the email approval channel and the Send Email node."""

    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    sender: str = "HITL Studio <hitl@localhost>"
    security: str = "starttls"

    @property
    def configured(self) -> bool:
        return self.host is not None


@dataclass(frozen=True)
class SlackSettings:
    """The studio's own Slack app (approval messages and their button callbacks)."""

    bot_token: str | None = None
    signing_secret: str | None = None
    api_url: str = "https://slack.com/api/"

    @property
    def configured(self) -> bool:
        return self.bot_token is not None and self.signing_secret is not None


@dataclass(frozen=True)
class SmsSettings:
    """A Twilio-compatible ``Messages`` endpoint for approval links by SMS."""

    api_url: str | None = None
    account_sid: str | None = None
    auth_token: str | None = None
    sender: str | None = None

    @property
    def configured(self) -> bool:
        return None not in (self.api_url, self.account_sid, self.auth_token, self.sender)


@dataclass(frozen=True)
class Settings:
    """The studio's configuration; build it with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    secret_key_previous: tuple[str, ...]
    public_url: str
    api_url: str
    frontend_port: int
    backend_port: int
    admin_email: str | None
    admin_password: str | None
    session_ttl_hours: int
    login_max_failures: int
    login_lockout_seconds: int
    embedded_workers: int
    queue_name: str
    log_level: str
    expression_env: tuple[str, ...] = ()
    """Environment variables expressions may read as ``$env.NAME`` (HITL_EXPRESSION_ENV, comma-separated)."""
    webhook_timeout_seconds: int = 30
    webhook_max_bytes: int = 16 * 1024 * 1024
    delivery_max_attempts: int = 3
    """Attempts per approval delivery (channel and person): at once, then +2 min, +4 min..."""
    approval_reminder_seconds: tuple[int, ...] = ()
    """Default reminders of an approval request, in seconds before its deadline (HITL_APPROVAL_REMINDER_SECONDS)."""
    step_inline_bytes: int = 256 * 1024
    """A step's items larger than this (as JSON) are kept in the file store, not in its row."""
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    version: str = __version__

    @property
    def embedded(self) -> bool:
        """Embedded mode: no Redis, an in-process queue and worker threads."""
        return self.redis_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class _Reader:
    """Reads typed values from an environment mapping, naming the variable on error."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or default

    def integer(self, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError as err:
            raise SettingsError(name, f"expected a whole number, got {raw!r}") from err
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            raise SettingsError(name, f"must be at least {minimum}{upper}, got {value}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = (self.text(name) or default).lower()
        if value not in choices:
            raise SettingsError(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
        value = self.text(name, default)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            raise SettingsError(
                name, f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}, got {value!r}"
            )
        return value


def normalize_database_url(url: str) -> str:
    """Point PostgreSQL URLs at psycopg 3, the only driver we install.

    Users paste ``postgres://`` or ``postgresql://`` URLs from their providers;
    SQLAlchemy would pick psycopg2 for those, which is not installed.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _database_url(reader: _Reader, data_dir: Path) -> str:
    default = f"sqlite:///{data_dir / 'hitl.db'}"
    url = normalize_database_url(reader.text("DATABASE_URL", default) or default)
    scheme = url.split("://", 1)[0]
    if scheme not in ("sqlite", "postgresql+psycopg"):
        raise SettingsError(
            "DATABASE_URL",
            f"unsupported database {scheme!r}; use sqlite:///path/to/file.db or postgresql://user@host/db",
        )
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise SettingsError("DATABASE_URL", "a SQLite URL needs a file path: sqlite:///path/to/file.db")
    return url


def _secret_key(reader: _Reader, data_dir: Path) -> str:
    """Return HITL_SECRET_KEY, or the key generated into the data directory on first run."""
    key = reader.text("HITL_SECRET_KEY")
    if key is not None:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                "HITL_SECRET_KEY",
                f"must be at least {MIN_SECRET_KEY_LENGTH} characters; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
            )
        return key
    key_file = data_dir / SECRET_KEY_FILE
    if key_file.exists():
        key = key_file.read_text().strip()
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError("HITL_SECRET_KEY", f"unset, and {key_file} holds no usable key; delete it or set one")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL so two processes starting at once cannot write two different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _admin(reader: _Reader) -> tuple[str | None, str | None]:
    email = reader.text("HITL_ADMIN_EMAIL")
    password = reader.text("HITL_ADMIN_PASSWORD")
    if (email is None) != (password is None):
        missing = "HITL_ADMIN_PASSWORD" if password is None else "HITL_ADMIN_EMAIL"
        raise SettingsError(missing, "set both HITL_ADMIN_EMAIL and HITL_ADMIN_PASSWORD, or neither")
    if email is not None and "@" not in email:
        raise SettingsError("HITL_ADMIN_EMAIL", f"not an email address: {email!r}")
    if password is not None and len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        raise SettingsError("HITL_ADMIN_PASSWORD", f"must be at least {MIN_ADMIN_PASSWORD_LENGTH} characters")
    return email, password


def _http_url(reader: _Reader, name: str, default: str) -> str:
    """A base URL the studio builds links from, without its trailing slash."""
    return (reader.url(name, default, ("http", "https")) or default).rstrip("/")


def _seconds_list(reader: _Reader, name: str) -> tuple[int, ...]:
    """Comma-separated positive whole seconds (``3600,600``), largest first, each once."""
    raw = reader.text(name) or ""
    values: set[int] = set()
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or not 1 <= int(part) <= 365 * 24 * 3600:
            raise SettingsError(name, f"expected comma-separated whole seconds such as 3600,600, got {raw!r}")
        values.add(int(part))
    return tuple(sorted(values, reverse=True))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from an environment mapping.

    Args:
        environ: The variables to read; ``os.environ`` when omitted.

    Raises:
        SettingsError: A variable is malformed; the message names it.
    """
    reader = _Reader(os.environ if environ is None else environ)
    data_dir = Path(reader.text("HITL_DATA_DIR", DEFAULT_DATA_DIR) or DEFAULT_DATA_DIR).resolve()
    frontend_port = reader.integer("HITL_FRONTEND_PORT", 3000, minimum=1, maximum=65535)
    backend_port = reader.integer("HITL_BACKEND_PORT", 8000, minimum=1, maximum=65535)
    admin_email, admin_password = _admin(reader)
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(reader, data_dir),
        redis_url=reader.url("REDIS_URL", None, ("redis", "rediss", "unix")),
        secret_key=_secret_key(reader, data_dir),
        secret_key_previous=tuple(
            key.strip() for key in (reader.text("HITL_SECRET_KEY_PREVIOUS") or "").split(",") if key.strip()
        ),
        public_url=(reader.url("HITL_PUBLIC_URL", f"http://localhost:{frontend_port}", ("http", "https")) or "").rstrip(
            "/"
        ),
        api_url=(reader.url("HITL_API_URL", f"http://localhost:{backend_port}", ("http", "https")) or "").rstrip("/"),
        frontend_port=frontend_port,
        backend_port=backend_port,
        admin_email=admin_email.lower() if admin_email else None,
        admin_password=admin_password,
        session_ttl_hours=reader.integer("HITL_SESSION_TTL_HOURS", 24 * 7, minimum=1),
        login_max_failures=reader.integer("HITL_LOGIN_MAX_FAILURES", 5, minimum=1),
        login_lockout_seconds=reader.integer("HITL_LOGIN_LOCKOUT_SECONDS", 300, minimum=1),
        embedded_workers=reader.integer("HITL_EMBEDDED_WORKERS", 4, minimum=1, maximum=64),
        queue_name=reader.text("HITL_QUEUE_NAME", "hitl") or "hitl",
        log_level=reader.choice("HITL_LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
        expression_env=tuple(
            name.strip() for name in (reader.text("HITL_EXPRESSION_ENV") or "").split(",") if name.strip()
        ),
        webhook_timeout_seconds=reader.integer("HITL_WEBHOOK_TIMEOUT_SECONDS", 30, minimum=1, maximum=3600),
        webhook_max_bytes=reader.integer("HITL_WEBHOOK_MAX_BYTES", 16 * 1024 * 1024, minimum=1024),
        step_inline_bytes=reader.integer("HITL_STEP_INLINE_BYTES", 256 * 1024, minimum=1024),
        delivery_max_attempts=reader.integer("HITL_DELIVERY_MAX_ATTEMPTS", 3, minimum=1, maximum=10),
        approval_reminder_seconds=_seconds_list(reader, "HITL_APPROVAL_REMINDER_SECONDS"),
        smtp=SmtpSettings(
            host=reader.text("SMTP_HOST"),
            port=reader.integer("SMTP_PORT", 587, minimum=1, maximum=65535),
            username=reader.text("SMTP_USERNAME"),
            password=reader.text("SMTP_PASSWORD"),
            sender=reader.text("SMTP_FROM", SmtpSettings.sender) or SmtpSettings.sender,
            security=reader.choice("SMTP_SECURITY", "starttls", ("starttls", "ssl", "none")),
        ),
        slack=SlackSettings(
            bot_token=reader.text("SLACK_BOT_TOKEN"),
            signing_secret=reader.text("SLACK_SIGNING_SECRET"),
            api_url=reader.url("SLACK_API_URL", SlackSettings.api_url, ("http", "https")) or SlackSettings.api_url,
        ),
        sms=SmsSettings(
            api_url=reader.url("SMS_API_URL", None, ("http", "https")),
            account_sid=reader.text("SMS_ACCOUNT_SID"),
            auth_token=reader.text("SMS_AUTH_TOKEN"),
            sender=reader.text("SMS_FROM"),
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
