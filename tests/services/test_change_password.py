"""users.change_password: the current password first, other sessions end, the asking one stays."""

from __future__ import annotations

import pytest

from hitl_studio.models.users import Role
from hitl_studio.services import auth, users
from hitl_studio.services.errors import InvalidInput, NotAuthenticated
from hitl_studio.settings import Settings
from tests.factories import DEFAULT_PASSWORD, audit_rows, make_user

NEW_PASSWORD = "a-much-better-passphrase"


def test_a_wrong_current_password_changes_nothing_and_is_audited(sqlite_database: Settings) -> None:
    user = make_user(Role.VIEWER)

    with pytest.raises(InvalidInput) as refused:
        users.change_password(user.id, "not my password", NEW_PASSWORD)

    assert set(refused.value.field_errors) == {"current_password"}
    assert [row.target_id for row in audit_rows("user.password_change_failed")] == [user.id]
    assert auth.login(user.email, DEFAULT_PASSWORD).user.id == user.id


def test_a_too_short_new_password_names_the_field(sqlite_database: Settings) -> None:
    user = make_user(Role.VIEWER)

    with pytest.raises(InvalidInput) as refused:
        users.change_password(user.id, DEFAULT_PASSWORD, "short")

    assert set(refused.value.field_errors) == {"new_password"}
    assert audit_rows("user.password_changed") == []


def test_the_new_password_works_and_only_the_asking_session_survives(database: Settings) -> None:
    user = make_user(Role.BUILDER)
    here = auth.login(user.email, DEFAULT_PASSWORD)
    elsewhere = auth.login(user.email, DEFAULT_PASSWORD)

    users.change_password(user.id, DEFAULT_PASSWORD, NEW_PASSWORD, keep_session=here.token)

    assert auth.user_for_session(here.token) is not None
    assert auth.user_for_session(elsewhere.token) is None
    with pytest.raises(NotAuthenticated):
        auth.login(user.email, DEFAULT_PASSWORD)
    assert auth.login(user.email, NEW_PASSWORD).user.id == user.id
    assert [row.actor_id for row in audit_rows("user.password_changed")] == [user.id]
