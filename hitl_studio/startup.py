"""What every studio process does before serving: check settings, create the first admin."""

from __future__ import annotations

import logging
import sys

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


def bootstrap_admin(settings: Settings) -> None:
    """Create (or re-activate) the admin named by HITL_ADMIN_EMAIL/HITL_ADMIN_PASSWORD, if set."""
    if settings.admin_email is None or settings.admin_password is None:
        return
    user, created = ensure_admin(settings.admin_email, settings.admin_password, actor_label="HITL_ADMIN_EMAIL")
    if created:
        logger.info("created the first admin %s from HITL_ADMIN_EMAIL", user.email)
