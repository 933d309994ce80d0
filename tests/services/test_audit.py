"""Reading the audit log back: filters, text search inside recorded fields, facets, on both databases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hitl_studio.db import session_scope
from hitl_studio.models.users import Role
from hitl_studio.services import audit
from hitl_studio.services.audit import AuditFilter
from hitl_studio.services.errors import InvalidInput
from hitl_studio.settings import Settings
from tests.factories import make_user


def _record(action: str, target_type: str, target_id: str, **changes: dict[str, Any]) -> None:
    with session_scope() as session:
        audit.record(session, action, actor_label="cli", target_type=target_type, target_id=target_id, **changes)


def test_search_reaches_into_recorded_fields_and_facets_list_what_exists(database: Settings) -> None:
    make_user(Role.ADMIN)
    _record("credential.created", "credential", "c1", after={"name": "Warehouse DB", "type": "postgres"})
    _record("credential.deleted", "credential", "c2", before={"name": "Old relay", "type": "smtp"})
    _record("auth.login_failed", "user", "eve@example.com")

    found, total = audit.list_entries(AuditFilter(search="warehouse"))
    assert total == 1 and found[0].target_id == "c1"
    found, total = audit.list_entries(AuditFilter(search="OLD RELAY", target_type="credential"))
    assert total == 1 and found[0].action == "credential.deleted"
    assert audit.list_entries(AuditFilter(search="relay", action="credential.created")) == ([], 0)

    facets = audit.facets()
    assert facets.actions == ["auth.login_failed", "credential.created", "credential.deleted", "user.created"]
    assert facets.target_types == ["credential", "user"]


def test_an_empty_window_is_refused_naming_until(sqlite_database: Settings) -> None:
    with pytest.raises(InvalidInput) as refused:
        audit.list_entries(AuditFilter(since=datetime(2026, 2, 1), until=datetime(2026, 2, 1)))

    assert refused.value.field_errors == {"until": "Must be later than since."}
