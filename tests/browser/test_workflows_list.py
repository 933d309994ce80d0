"""/workflows as a builder and as a viewer: create, duplicate, delete, import, activate, filter by tag.

The studio is shared by the whole test session, so each test names its
workflows uniquely and looks rows up by name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio, admin_token, ensure_user
from tests.browser.test_accounts import sign_in

VIEWER = ("wendy.viewer@example.com", "wendy-password-1")


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("workflow-row").filter(
        has=page.get_by_test_id("workflow-link").get_by_text(name, exact=True)
    )


def n8n_export(name: str, path: str) -> dict:
    """A workflow as n8n exports it: extra keys the studio ignores, tags as objects."""
    return {
        "id": "x1Yz",
        "name": name,
        "active": True,
        "versionId": "0b0f2c",
        "pinData": {},
        "meta": {"instanceId": "abc"},
        "tags": [{"id": "7", "name": "sales"}],
        "settings": {},
        "nodes": [
            {
                "id": "a1",
                "name": "Order webhook",
                "type": "trigger.webhook",
                "position": [0, 0],
                "parameters": {"path": path},
            },
            {
                "id": "a2",
                "name": "Mark received",
                "type": "core.set",
                "position": [240, 0],
                "parameters": {"assignments": [{"name": "received", "value": True}]},
            },
        ],
        "connections": {"Order webhook": {"main": [[{"node": "Mark received", "type": "main", "index": 0}]]}},
    }


def test_a_builder_creates_duplicates_and_deletes_a_workflow(page: Page, studio: Studio) -> None:
    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page).to_have_url(re.compile(r"/workflows$"))

    page.get_by_test_id("new-workflow").click()
    page.get_by_test_id("create-workflow").click()
    expect(page.get_by_text("Give the workflow a name.")).to_be_visible()
    page.get_by_test_id("workflow-name").fill("Invoice triage")
    page.get_by_test_id("create-workflow").click()
    expect(page).to_have_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))

    page.goto("/workflows")
    created = row(page, "Invoice triage")
    expect(created).to_be_visible()
    expect(created.get_by_test_id("workflow-last-status")).to_have_text("never run")

    created.get_by_test_id("duplicate-workflow").click()
    copy = row(page, "Invoice triage (copy)")
    expect(copy).to_be_visible()

    copy.get_by_test_id("delete-workflow").click()
    page.get_by_test_id("confirm-delete-workflow").click()
    expect(page.get_by_text("Deleted Invoice triage (copy) with its versions and runs.")).to_be_visible()
    expect(copy).to_have_count(0)
    expect(created).to_be_visible()

    page.get_by_test_id("workflow-search").fill("no such workflow at all")
    expect(page.get_by_test_id("workflows-empty")).to_contain_text("No workflow matches")
    page.get_by_test_id("workflow-search").fill("invoice TRIAGE")
    expect(created).to_be_visible()


def test_import_lists_problems_by_node_then_imports_activates_and_filters_by_tag(
    page: Page, studio: Studio, tmp_path: Path, screenshot_dir: Path | None
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "name": "Broken import",
                "nodes": [{"id": "m", "name": "Mystery box", "type": "acme.does_not_exist", "position": [0, 0]}],
                "connections": {},
            }
        )
    )
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps(n8n_export("Orders intake", "orders-intake")))

    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page).to_have_url(re.compile(r"/workflows$"))
    page.get_by_test_id("import-workflow").click()
    page.get_by_test_id("import-dropzone").locator("input[type=file]").set_input_files(str(broken))
    expect(page.get_by_test_id("import-error")).to_contain_text("problem")
    expect(page.get_by_test_id("import-problem").filter(has_text="Mystery box")).to_be_visible()

    page.get_by_test_id("import-dropzone").locator("input[type=file]").set_input_files(str(orders))
    expect(page.get_by_text("Imported Orders intake (2 nodes); it starts inactive.")).to_be_visible()
    imported = row(page, "Orders intake")
    expect(imported).to_be_visible()
    expect(row(page, "Broken import")).to_have_count(0)

    imported.get_by_test_id("workflow-tag").filter(has_text="sales").click()
    expect(page.get_by_test_id("tag-filter")).to_contain_text("sales")
    expect(page.get_by_test_id("workflow-row")).to_have_count(1)
    expect(imported).to_be_visible()

    imported.get_by_test_id("workflow-active").click()
    expect(page.get_by_text("Orders intake is active: its webhooks and schedules now start runs.")).to_be_visible()
    expect(imported.get_by_test_id("workflow-active")).to_be_checked()

    # A copy listens on the same webhook path: activating it is refused, with the reason as a toast.
    imported.get_by_test_id("duplicate-workflow").click()
    copy = row(page, "Orders intake (copy)")
    expect(copy).to_be_visible()
    copy.get_by_test_id("workflow-active").click()
    expect(
        page.get_by_text(re.compile(r"/webhook/orders-intake is already used by the active workflow"))
    ).to_be_visible()
    expect(copy.get_by_test_id("workflow-active")).not_to_be_checked()

    page.get_by_test_id("tag-filter").locator("svg").last.click()
    expect(page.get_by_test_id("tag-filter")).to_have_count(0)
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "workflows.png"))


def test_a_viewer_sees_workflows_but_no_edit_buttons(page: Page, studio: Studio) -> None:
    ensure_user(studio, *VIEWER, role="viewer")
    token = admin_token(studio)
    created = httpx.post(
        f"{studio.api_url}/api/v1/workflows",
        json={"name": "Read-only demo", "nodes": [{"name": "Start", "type": "trigger.manual", "position": [0, 0]}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text

    sign_in(page, *VIEWER)
    expect(page).to_have_url(re.compile(r"/workflows$"))
    demo = row(page, "Read-only demo")
    expect(demo).to_be_visible()
    expect(demo.get_by_test_id("workflow-active")).to_be_disabled()
    expect(demo.get_by_test_id("duplicate-workflow")).to_have_count(0)
    expect(demo.get_by_test_id("delete-workflow")).to_have_count(0)
    expect(page.get_by_test_id("new-workflow")).to_have_count(0)
    expect(page.get_by_test_id("import-workflow")).to_have_count(0)
