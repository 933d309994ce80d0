"""/executions and /executions/{id}: a run started over the API, its steps and items, retry, live updates."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio, admin_token, ensure_user
from tests.browser.test_accounts import choose, sign_in

VIEWER = ("vera.viewer@example.com", "vera-password-1")


def failing_flow(name: str) -> dict:
    """Start → Double (n * 2) → Stop and Error: every run fails at its last node, with items on the way."""
    return {
        "name": name,
        "nodes": [
            {"name": "Start", "type": "trigger.manual", "position": [0, 0]},
            {
                "name": "Double",
                "type": "core.set",
                "position": [240, 0],
                "parameters": {"assignments": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]},
            },
            {
                "name": "Stop",
                "type": "core.stop_and_error",
                "position": [480, 0],
                "parameters": {"message": "Refund needs a second look"},
            },
        ],
        "connections": {
            "Start": {"main": [[{"node": "Double", "type": "main", "index": 0}]]},
            "Double": {"main": [[{"node": "Stop", "type": "main", "index": 0}]]},
        },
    }


class Api:
    def __init__(self, studio: Studio) -> None:
        self.base = f"{studio.api_url}/api/v1"
        self.headers = {"Authorization": f"Bearer {admin_token(studio)}"}

    def create_workflow(self, data: dict) -> str:
        response = httpx.post(f"{self.base}/workflows", json=data, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def run(self, workflow_id: str, items: list[dict]) -> str:
        response = httpx.post(f"{self.base}/workflows/{workflow_id}/run", json={"items": items}, headers=self.headers)
        assert response.status_code == 202, response.text
        return response.json()["execution_id"]


def test_a_run_shows_its_steps_and_items_and_is_retried(
    page: Page, studio: Studio, screenshot_dir: Path | None
) -> None:
    api = Api(studio)
    workflow_id = api.create_workflow(failing_flow("Refund check"))
    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page).to_have_url(re.compile(r"/workflows$"))

    execution_id = api.run(workflow_id, [{"n": 21}, {"n": 5}])
    page.goto(f"/executions/{execution_id}")
    expect(page.get_by_test_id("run-status")).to_have_text("failed")
    expect(page.get_by_test_id("run-workflow")).to_have_text("Refund check")
    expect(page.get_by_test_id("run-error")).to_contain_text("Refund needs a second look")
    expect(page.get_by_test_id("step").get_by_test_id("step-node")).to_have_text(["Start", "Double", "Stop"])
    stop = page.get_by_test_id("step").filter(has_text="Stop")
    expect(stop.get_by_test_id("step-error")).to_contain_text("Refund needs a second look")
    expect(page.get_by_test_id("open-on-canvas")).to_be_visible()

    page.get_by_test_id("step").filter(has_text="Double").click()
    expect(page.get_by_test_id("selected-step")).to_have_text("Double")
    expect(page.get_by_test_id("step-items-row")).to_have_count(2)
    expect(page.get_by_test_id("step-items-row").first).to_contain_text("42")
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "execution-detail.png"))
    page.get_by_test_id("step-items-tab-json").click()
    expect(page.get_by_test_id("step-items-json")).to_contain_text('"doubled": 10')
    page.get_by_test_id("step-side-input").click()
    page.get_by_test_id("step-items-tab-table").click()
    expect(page.get_by_test_id("step-items-row").first).to_contain_text("21")
    expect(page.get_by_test_id("step-items-row").first).not_to_contain_text("42")

    page.get_by_test_id("retry-run").click()
    expect(page.get_by_text("Retrying: this is the new run.")).to_be_visible()
    expect(page).not_to_have_url(re.compile(rf"/executions/{execution_id}$"))
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("run-status")).to_have_text("failed")
    expect(page.get_by_text("A retry of")).to_be_visible()

    # The list, filtered to this workflow; a run started meanwhile appears without a reload.
    page.get_by_test_id("nav-executions").click()
    expect(page).to_have_url(re.compile(r"/executions$"))
    choose(page, "filter-workflow", "Refund check")
    expect(page.get_by_test_id("run-row")).to_have_count(2)
    expect(page.get_by_test_id("run-total")).to_have_text("2 runs")
    api.run(workflow_id, [{"n": 1}])
    expect(page.get_by_test_id("run-row")).to_have_count(3)
    expect(page.get_by_test_id("run-row").first.get_by_test_id("run-status")).to_have_text("failed")
    expect(page.get_by_test_id("chart-total")).to_have_text("3 runs")
    choose(page, "filter-status", "succeeded")
    expect(page.get_by_test_id("runs-empty")).to_contain_text("No run matches these filters")
    page.get_by_test_id("clear-filters").click()
    expect(page.get_by_test_id("run-row").first).to_be_visible()
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "executions.png"))


def test_a_viewer_sees_a_run_but_cannot_retry_it(page: Page, studio: Studio) -> None:
    api = Api(studio)
    ensure_user(studio, *VIEWER, role="viewer")
    execution_id = api.run(api.create_workflow(failing_flow("Viewer's view")), [{"n": 2}])

    sign_in(page, *VIEWER)
    expect(page).to_have_url(re.compile(r"/workflows$"))
    page.goto(f"/executions/{execution_id}")
    expect(page.get_by_test_id("run-status")).to_have_text("failed")
    expect(page.get_by_test_id("step")).to_have_count(3)
    expect(page.get_by_test_id("open-on-canvas")).to_be_visible()
    expect(page.get_by_test_id("retry-run")).to_have_count(0)
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)


def approval_flow(name: str, approver: str) -> dict:
    """Start → Approve (an Approval node) → Done: each run waits for a person."""
    return {
        "name": name,
        "nodes": [
            {"name": "Start", "type": "trigger.manual", "position": [0, 0]},
            {
                "name": "Approve",
                "type": "human.approval",
                "position": [240, 0],
                "parameters": {"title": "Ship order {{ $json.order }}?", "approvers": [approver]},
            },
            {
                "name": "Done",
                "type": "core.set",
                "position": [480, 0],
                "parameters": {"assignments": [{"name": "shipped", "value": True}]},
            },
        ],
        "connections": {
            "Start": {"main": [[{"node": "Approve", "type": "main", "index": 0}]]},
            "Approve": {"main": [[{"node": "Done", "type": "main", "index": 0}]]},
        },
    }


def test_a_waiting_run_goes_on_when_approved_in_the_inbox_and_another_is_cancelled(page: Page, studio: Studio) -> None:
    api = Api(studio)
    workflow_id = api.create_workflow(approval_flow("Ship orders", studio.admin_email))
    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page).to_have_url(re.compile(r"/workflows$"))

    execution_id = api.run(workflow_id, [{"order": "A-17"}])
    page.goto(f"/executions/{execution_id}")
    expect(page.get_by_test_id("run-status")).to_have_text("waiting")
    expect(page.get_by_test_id("run-waiting")).to_contain_text("Approve")

    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("approval-row").filter(has_text="Ship order A-17?").get_by_test_id("approval-link").click()
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("approval-status")).to_have_text("approved")

    page.goto(f"/executions/{execution_id}")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    # The Approval node is on the timeline twice: when it paused the run, and when the decision resumed it.
    expect(page.get_by_test_id("step").get_by_test_id("step-node")).to_have_text(
        ["Start", "Approve", "Approve", "Done"]
    )
    page.get_by_test_id("step").filter(has_text="Done").click()
    expect(page.get_by_test_id("step-items-row")).to_contain_text("true")

    waiting_id = api.run(workflow_id, [{"order": "B-2"}])
    page.goto(f"/executions/{waiting_id}")
    expect(page.get_by_test_id("run-status")).to_have_text("waiting")
    page.get_by_test_id("cancel-run").click()
    page.get_by_test_id("confirm-cancel-run").click()
    expect(page.get_by_text("Run cancelled.")).to_be_visible()
    expect(page.get_by_test_id("run-status")).to_have_text("cancelled")
    expect(page.get_by_test_id("retry-run")).to_be_visible()
