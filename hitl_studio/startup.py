"""What every studio process does before serving: check settings and the secret key, create the first admin."""

from __future__ import annotations

import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from hitl_studio.services import secret_keys
from hitl_studio.services.users import ensure_admin
from hitl_studio.settings import Settings, SettingsError, get_settings

logger = logging.getLogger(__name__)


def settings_or_exit() -> Settings:
    """Load the settings, or print the one line that names the bad variable and exit 2."""
    try:
        return get_settings()
    except SettingsError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from err


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request's full URL at INFO, query string included: a node's query
    # credential (?api_key=...) would land in the logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def secret_key_or_exit() -> None:
    """Stop (exit 2, one line) when the configured keys cannot open the secrets already stored.

    Run before a process touches anything: started with the wrong HITL_SECRET_KEY,
    a studio would otherwise fail every run that uses a credential, and write new
    secrets under a key the old ones can never be read with again. Tampered
    values are logged (each names its row) but do not stop start-up: the key is
    right, and using that one credential reports the tampering.
    """
    try:
        report = secret_keys.check_keys()
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        print(f"database error: cannot read the stored secrets to check HITL_SECRET_KEY: {reason}", file=sys.stderr)
        raise SystemExit(2) from err
    for label, row_id in report.tampered:
        logger.warning("%s: the value of row %s failed its integrity check: it was tampered with", label, row_id)
    problem = report.problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        raise SystemExit(2)


def bootstrap_admin(settings: Settings) -> None:
    """Check the secret key (see :func:`secret_key_or_exit`), then create the HITL_ADMIN_EMAIL admin if set.

    The studio calls this first thing in its lifespan, before the queue and the
    reconciler start, so a wrong key stops it before anything is written.
    """
    secret_key_or_exit()
    if settings.admin_email is None or settings.admin_password is None:
        return
    user, created = ensure_admin(settings.admin_email, settings.admin_password, actor_label="HITL_ADMIN_EMAIL")
    if created:
        logger.info("created the first admin %s from HITL_ADMIN_EMAIL", user.email)
