"""What every studio process does before serving: the admin from HITL_ADMIN_EMAIL/PASSWORD."""

from __future__ import annotations

from collections.abc import Callable

from hitl_studio.models.users import Role
from hitl_studio.services import auth, users
from hitl_studio.settings import Settings
from hitl_studio.startup import bootstrap_admin
from tests.factories import audit_rows


def test_the_configured_admin_is_created_once_and_can_sign_in(
    sqlite_database: Settings, configure: Callable[..., Settings]
) -> None:
    settings = configure(HITL_ADMIN_EMAIL="Boss@Example.com", HITL_ADMIN_PASSWORD="boss-password")

    bootstrap_admin(settings)
    bootstrap_admin(settings)

    admin = users.find_user_by_email("boss@example.com")
    assert admin is not None and admin.role == Role.ADMIN and admin.active
    assert [row.actor_label for row in audit_rows("user.created")] == ["HITL_ADMIN_EMAIL"]
    assert auth.login("boss@example.com", "boss-password").user.id == admin.id


def test_without_the_variables_no_user_is_created(sqlite_database: Settings) -> None:
    bootstrap_admin(sqlite_database)

    assert not users.has_users()
