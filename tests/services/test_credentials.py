"""Credentials for runs: a tampered value is reported as tampered, a missing key as a key problem."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hitl_studio.db import session_scope
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import Role
from hitl_studio.services.credentials import create_credential, decrypted_for_run
from hitl_studio.settings import Settings
from nodes.sdk import NodeError
from tests.factories import audit_rows, make_user

KEY = "the-key-this-credential-was-sealed-with-0001"


def test_a_run_is_told_a_tampered_credential_was_tampered_with(
    sqlite_database: Settings, configure: Callable[..., Settings]
) -> None:
    configure(HITL_SECRET_KEY=KEY)
    owner = make_user(Role.BUILDER)
    credential = create_credential("api", "http_bearer_auth", {"token": "sk-tamper-me-1234"}, actor=owner)
    with session_scope() as session:
        row = session.get(Credential, credential.id)
        assert row is not None
        row.encrypted_data = row.encrypted_data[:-8] + "AAAAAAAA"
        session.add(row)

    with pytest.raises(NodeError) as failed:
        decrypted_for_run(credential.id, "http_bearer_auth", workflow_owner_id=owner.id, execution_id="run-1")

    assert "cannot be decrypted" in failed.value.message and "tampered with" in failed.value.message
    assert "HITL_SECRET_KEY" not in failed.value.message


def test_a_run_with_the_wrong_key_is_told_which_key_it_needs(
    sqlite_database: Settings, configure: Callable[..., Settings]
) -> None:
    configure(HITL_SECRET_KEY=KEY)
    owner = make_user(Role.BUILDER)
    credential = create_credential("api", "http_bearer_auth", {"token": "sk-wrong-key-1234"}, actor=owner)
    configure(HITL_SECRET_KEY="another-key-that-never-sealed-anything-02")

    with pytest.raises(NodeError) as failed:
        decrypted_for_run(credential.id, "http_bearer_auth", workflow_owner_id=owner.id, execution_id="run-1")

    assert f"encrypted with key {credential.key_id}" in failed.value.message
    assert "HITL_SECRET_KEY_PREVIOUS" in failed.value.message and "tampered" not in failed.value.message


def test_each_use_by_a_run_is_audited_with_the_run(sqlite_database: Settings) -> None:
    owner = make_user(Role.BUILDER)
    credential = create_credential("api", "http_bearer_auth", {"token": "sk-audited-1234"}, actor=owner)

    data = decrypted_for_run(credential.id, "http_bearer_auth", workflow_owner_id=owner.id, execution_id="run-7")

    assert data == {"token": "sk-audited-1234"}
    (used,) = audit_rows("credential.used")
    assert (used.actor_label, used.target_id, used.after) == (
        "execution run-7",
        credential.id,
        {"execution_id": "run-7"},
    )
    assert "sk-audited-1234" not in repr(used)


def test_a_use_by_a_poll_is_audited_with_the_polling_node_not_a_run(sqlite_database: Settings) -> None:
    owner = make_user(Role.BUILDER)
    credential = create_credential("api", "http_bearer_auth", {"token": "sk-polled-1234"}, actor=owner)

    decrypted_for_run(
        credential.id,
        "http_bearer_auth",
        workflow_owner_id=owner.id,
        execution_id="never-recorded",
        poll_of="node 'Inbox' of workflow wf-1",
    )

    (used,) = audit_rows("credential.used")
    assert (used.actor_label, used.after) == (
        "poll of node 'Inbox' of workflow wf-1",
        {"poll_of": "node 'Inbox' of workflow wf-1"},
    )
