"""Running one integration node through the engine with one credential, for the Slack, AI, AWS and Google tests."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

NODE = "Node"
CREDENTIAL_ID = "the-credential"


def host_for(credential: dict[str, Any] | None) -> LocalHost:
    """A host whose file store the test can share, holding ``credential`` as the node's selected one."""
    return LocalHost(credentials={CREDENTIAL_ID: credential} if credential is not None else {})


def run_node(
    type_id: str,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    credential_type: str,
    host: LocalHost,
    **settings: Any,
) -> RunResult:
    """Run a Manual trigger → ``type_id`` workflow with ``items`` (default: one empty item) pinned on the trigger."""
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node(NODE, type_id, parameters, credentials={credential_type: {"id": CREDENTIAL_ID}}, **settings),
        ],
        [("Start", NODE)],
    )
    pinned = [item if isinstance(item, Item) else Item(item) for item in (items if items is not None else [{}])]
    return run(data, host=host, pinned={"Start": pinned})


def outputs(result: RunResult, output: int = 0) -> list[dict[str, Any]]:
    """The node's items on ``output``, after checking the run succeeded."""
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, NODE, output)


def failure(result: RunResult) -> dict[str, Any]:
    """The run's error, after checking the node failed it."""
    assert result.status is RunStatus.FAILED, result.status
    assert result.error is not None and result.error["node"] == NODE
    return result.error
