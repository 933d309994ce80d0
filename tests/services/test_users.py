"""hitl_studio.services.users on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from hitl_studio.models.users import Role
from hitl_studio.services import auth, users
from hitl_studio.services.errors import Conflict, InvalidInput
from hitl_studio.settings import Settings
from tests.factories import DEFAULT_PASSWORD, audit_rows, make_user


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "ana@@example.com"}, "email"),
        ({"role": "superuser"}, "role"),
        ({"password": "short"}, "password"),
    ],
)
def test_create_user_names_the_wrong_field(database: Settings, changes: dict[str, str], field: str) -> None:
    data = {"email": "ana@example.com", "name": "Ana", "role": "builder", "password": DEFAULT_PASSWORD, **changes}

    with pytest.raises(InvalidInput) as caught:
        users.create_user(users.NewUser(**data))

    assert set(caught.value.field_errors) == {field}
    assert caught.value.field_errors[field]
    assert users.list_users() == []


def test_create_user_reports_every_wrong_field_at_once(database: Settings) -> None:
    with pytest.raises(InvalidInput) as caught:
        users.create_user(users.NewUser(email="nope", name="", role="root", password="x"))

    assert set(caught.value.field_errors) == {"email", "role", "password"}


def test_create_user_stores_a_normalised_email_and_a_hash(database: Settings) -> None:
    user = make_user(Role.BUILDER, email="  Ana@Example.COM ", name=" Ana ")

    stored = users.get_user(user.id)
    assert stored.email == "ana@example.com"
    assert stored.name == "Ana"
    assert stored.role == Role.BUILDER
    assert stored.password_hash and DEFAULT_PASSWORD not in stored.password_hash
    assert [row.target_id for row in audit_rows("user.created")] == [user.id]


def test_duplicate_email_is_a_conflict_whatever_its_case(database: Settings) -> None:
    make_user(email="ana@example.com")

    with pytest.raises(Conflict) as caught:
        make_user(email="ANA@example.com ")

    assert "email" in caught.value.field_errors
    assert len(users.list_users()) == 1


def test_role_change_is_audited_as_such(database: Settings) -> None:
    admin = make_user(Role.ADMIN)
    viewer = make_user(Role.VIEWER)

    updated = users.update_user(viewer.id, actor=admin, role=Role.APPROVER)

    assert updated.role == Role.APPROVER
    assert users.get_user(viewer.id).role == Role.APPROVER
    [row] = audit_rows("user.role_changed")
    assert row.actor_id == admin.id
    assert row.target_id == viewer.id
    assert row.before is not None and row.before["role"] == "viewer"
    assert row.after is not None and row.after["role"] == "approver"
    assert "password_hash" not in row.after


def test_other_changes_are_audited_as_updates(database: Settings) -> None:
    admin = make_user(Role.ADMIN)
    viewer = make_user(Role.VIEWER)

    users.update_user(viewer.id, actor=admin, role=Role.VIEWER, name="Vic")

    assert audit_rows("user.role_changed") == []
    [row] = audit_rows("user.updated")
    assert row.after is not None and row.after["name"] == "Vic"


def test_unknown_role_is_refused(database: Settings) -> None:
    admin = make_user(Role.ADMIN)

    with pytest.raises(InvalidInput) as caught:
        users.update_user(admin.id, actor=admin, role="owner")

    assert "role" in caught.value.field_errors


@pytest.mark.parametrize("change", [{"role": "viewer"}, {"active": False}], ids=["demote", "deactivate"])
def test_the_last_active_admin_stays_an_active_admin(database: Settings, change: dict[str, object]) -> None:
    admin = make_user(Role.ADMIN)
    # An inactive admin does not count: the studio still needs one who can sign in.
    other = make_user(Role.ADMIN)
    users.update_user(other.id, actor=admin, active=False)

    with pytest.raises(InvalidInput) as caught:
        users.update_user(admin.id, actor=admin, **change)  # type: ignore[arg-type]

    assert "role" in caught.value.field_errors
    stored = users.get_user(admin.id)
    assert (stored.role, stored.active) == (Role.ADMIN, True)


def test_an_admin_can_be_demoted_while_another_remains(database: Settings) -> None:
    first = make_user(Role.ADMIN)
    second = make_user(Role.ADMIN)

    users.update_user(first.id, actor=second, role=Role.BUILDER)

    assert users.get_user(first.id).role == Role.BUILDER


def test_deactivating_ends_the_users_sessions(database: Settings) -> None:
    admin = make_user(Role.ADMIN)
    builder = make_user(Role.BUILDER)
    token = auth.login(builder.email, DEFAULT_PASSWORD).token
    assert auth.user_for_session(token) is not None

    users.update_user(builder.id, actor=admin, active=False)

    assert auth.user_for_session(token) is None
    # The session was revoked, not merely hidden while the user is inactive.
    users.update_user(builder.id, actor=admin, active=True)
    assert auth.user_for_session(token) is None


def test_ensure_admin_creates_then_promotes(database: Settings) -> None:
    admin, created = users.ensure_admin("Root@Example.com", DEFAULT_PASSWORD, actor_label="test")

    assert created
    assert (admin.email, admin.role, admin.active) == ("root@example.com", Role.ADMIN, True)
    assert [row.actor_label for row in audit_rows("user.created")] == ["test"]

    viewer = make_user(Role.VIEWER, email="vic@example.com")
    users.update_user(viewer.id, actor=admin, active=False)

    promoted, created = users.ensure_admin("vic@example.com", "another password", actor_label="test")

    assert not created
    assert promoted.id == viewer.id
    stored = users.get_user(viewer.id)
    assert (stored.role, stored.active) == (Role.ADMIN, True)
    assert [row.target_id for row in audit_rows("user.promoted_to_admin")] == [viewer.id]
    # An existing user keeps their own password.
    assert auth.login("vic@example.com", DEFAULT_PASSWORD).user.id == viewer.id


def test_ensure_admin_on_an_admin_changes_nothing(database: Settings) -> None:
    users.ensure_admin("root@example.com", DEFAULT_PASSWORD, actor_label="test")

    _, created = users.ensure_admin("root@example.com", DEFAULT_PASSWORD, actor_label="test")

    assert not created
    assert len(users.list_users()) == 1
    assert audit_rows("user.promoted_to_admin") == []


def test_first_run_setup_creates_the_owner_only_while_there_are_no_users(database: Settings) -> None:
    assert not users.has_users()

    owner = users.create_first_admin(
        users.NewUser("Owner@Example.com", "Olive", "viewer", "owner-password"), ip="10.0.0.1"
    )

    assert owner.role == Role.ADMIN
    assert owner.email == "owner@example.com"
    assert users.has_users()
    (row,) = audit_rows("user.created")
    assert row.actor_label == "first-run setup"
    with pytest.raises(Conflict, match="already set up"):
        users.create_first_admin(users.NewUser("late@example.com", "", "admin", "late-password"))
    assert users.find_user_by_email("late@example.com") is None


def test_first_run_setup_reports_bad_fields(database: Settings) -> None:
    with pytest.raises(InvalidInput) as caught:
        users.create_first_admin(users.NewUser("nope", "", "admin", "short"))

    assert set(caught.value.field_errors) == {"email", "password"}
    assert not users.has_users()
