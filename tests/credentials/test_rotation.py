"""Rotating HITL_SECRET_KEY under load: runs and edits go on, none fails, and the old key is no longer needed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select

from hitl_studio.credentials.crypto import Keyring, decrypt
from hitl_studio.db import session_scope
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.users import Role, User
from hitl_studio.services import executions, oauth, secret_keys, workflows
from hitl_studio.services.approval_notifications import create_subscription
from hitl_studio.services.credentials import create_credential, update_credential
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from hitl_studio.startup import secret_key_or_exit
from tests.factories import make_user
from tests.fakes.http_server import FakeHttpServer, fake_http_server
from tests.fakes.oauth_server import FakeOAuthServer, fake_oauth_server
from tests.runs import wait_for_run
from tests.workflows import node, workflow

OLD_KEY = "the-key-everything-was-sealed-with-000000001"
NEW_KEY = "the-key-everything-moves-to-now-0000000000002"
API_SECRET = "sk-rotation-under-load-5d4c3b2a"
# A wait for the worker to finish one more run between batches; generous, it only guards against a hang.
RUN_WAIT_SECONDS = 60


@pytest.fixture
def api() -> Iterator[FakeHttpServer]:
    with fake_http_server() as fake:
        yield fake


@pytest.fixture
def provider() -> Iterator[FakeOAuthServer]:
    with fake_oauth_server() as fake:
        yield fake


def _connect(credential_id: str, owner: User) -> None:
    answer = httpx.get(oauth.start_authorization(credential_id, owner), follow_redirects=False)
    back = {name: values[0] for name, values in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    oauth.complete_authorization(back["state"], back["code"])


def _flow(api: FakeHttpServer, provider: FakeOAuthServer, header_id: str, oauth_id: str, owner: User) -> str:
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node(
                "Key",
                "http.request",
                {"url": api.url("/ok"), "authentication": "header"},
                credentials={"http_header_auth": {"id": header_id}},
            ),
            node(
                "OAuth",
                "http.request",
                {"url": provider.url("/resource"), "authentication": "oauth2"},
                credentials={"oauth2": {"id": oauth_id}},
            ),
        ],
        [("Start", "Key"), ("Key", "OAuth")],
    )
    return workflows.create_workflow(WorkflowInput(**{**data, "name": "uses two credentials"}), actor=owner).id


def _sealed_rows() -> list[tuple[str, str, str | None]]:
    rows: list[tuple[str, str, str | None]] = []
    with session_scope() as session:
        for sealed in secret_keys.SEALED:
            id_column, value_column, key_column = sealed.columns()
            for row_id, value, stored_id in session.exec(select(id_column, value_column, key_column)):
                if value:
                    rows.append((row_id, value, stored_id))
    return rows


def test_rotation_under_load_fails_no_run_and_leaves_nothing_for_the_old_key(
    database: Settings,
    configure: Callable[..., Settings],
    api: FakeHttpServer,
    provider: FakeOAuthServer,
) -> None:
    configure(HITL_SECRET_KEY=OLD_KEY, DATABASE_URL=database.database_url)
    owner = make_user(Role.BUILDER)
    header = create_credential("api", "http_header_auth", {"name": "X-Api-Key", "value": API_SECRET}, actor=owner)
    connected = create_credential("provider", "oauth2", provider.credential_data(), actor=owner)
    _connect(connected.id, owner)
    spares = [
        create_credential(f"spare {n}", "http_bearer_auth", {"token": f"sk-spare-{n}-0000"}, actor=owner)
        for n in range(8)
    ]
    create_subscription(owner, "http://127.0.0.1:9/hook", ["approval.created"], "a-signing-secret-long-enough-1234")
    flow = _flow(api, provider, header.id, connected.id, owner)
    # The studio restarts with the new key; the old one only opens what it sealed.
    configure(HITL_SECRET_KEY=NEW_KEY, HITL_SECRET_KEY_PREVIOUS=OLD_KEY, DATABASE_URL=database.database_url)

    statuses: list[str] = []
    edits: list[int] = []
    finished_runs = threading.Condition()
    stop = threading.Event()

    def keep_running() -> None:
        while not stop.is_set():
            finished = wait_for_run(executions.start_execution(flow, [{}]).id, timeout=RUN_WAIT_SECONDS)
            with finished_runs:
                statuses.append(finished.status)
                finished_runs.notify_all()

    def keep_editing() -> None:
        # One edit per finished run, so edits land between and inside batches without starving them.
        while not stop.is_set():
            with finished_runs:
                finished_runs.wait_for(lambda: len(statuses) > len(edits) or stop.is_set(), timeout=RUN_WAIT_SECONDS)
            number = len(edits)
            update_credential(spares[number % len(spares)].id, actor=owner, data={"token": f"sk-edited-{number}-0000"})
            edits.append(number)

    def after_each_batch() -> None:
        with finished_runs:
            seen = len(statuses)
            assert finished_runs.wait_for(lambda: len(statuses) > seen, timeout=RUN_WAIT_SECONDS)

    workers = [threading.Thread(target=keep_running), threading.Thread(target=keep_editing)]
    for thread in workers:
        thread.start()
    try:
        results = secret_keys.rotate(batch_size=2, after_batch=after_each_batch)
    finally:
        stop.set()
        for thread in workers:
            thread.join()

    assert statuses and set(statuses) == {RunStatus.SUCCEEDED}
    assert edits
    assert all(not count.failed and count.remaining == 0 for count in results.values())
    # The two credentials the runs use are never edited: rotation itself moved them (and the tokens and the secret).
    assert results["credentials"].re_encrypted >= 2
    assert (results["OAuth tokens"].re_encrypted, results["webhook signing secrets"].re_encrypted) == (1, 1)

    configure(HITL_SECRET_KEY=NEW_KEY, HITL_SECRET_KEY_PREVIOUS=None, DATABASE_URL=database.database_url)
    alone = Keyring.from_secrets(NEW_KEY)
    rows = _sealed_rows()
    assert {stored_id for _, _, stored_id in rows} == {alone.current_id}
    for _, value, stored_id in rows:
        decrypt(alone, value, expected_key_id=stored_id)
    secret_key_or_exit()
    after = wait_for_run(executions.start_execution(flow, [{}]).id, timeout=RUN_WAIT_SECONDS)
    assert after.status == RunStatus.SUCCEEDED, after.error
    assert api.received("/ok")[-1].headers["x-api-key"] == API_SECRET
