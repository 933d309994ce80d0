"""The editor, as a new builder uses it: build Webhook → IF → Edit Fields with an Approval branch by
dragging from the palette and connecting handles, configure the nodes in the panel, save, run, watch
the statuses change, approve in the inbox with an edit, and see the run complete with the edited data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio, admin_token, ensure_user
from tests.browser.test_accounts import choose, sign_in

VIEWER = ("vera.viewer@example.com", "vera-password-1")
REFUND_FORM = {
    "type": "object",
    "properties": {"amount": {"type": "number", "maximum": 1000}, "customer": {"type": "string"}},
}


def drop(page: Page, node_type: str, x: int, y: int) -> None:
    """Drag a palette entry onto the canvas at (x, y) of the canvas."""
    page.get_by_test_id(f"palette-{node_type}").drag_to(
        page.get_by_test_id("flow-canvas"), target_position={"x": x, "y": y}
    )


def connect(page: Page, source: str, output: int, target: str, input_index: int = 0) -> None:
    """Drag from a node's output handle to another node's input handle, as a person does."""
    start = page.locator(f'[data-testid="canvas-node-{source}"] [data-handleid="out-{output}"]').bounding_box()
    end = page.locator(f'[data-testid="canvas-node-{target}"] [data-handleid="in-{input_index}"]').bounding_box()
    assert start and end
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1, y1 = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10)
    page.mouse.up()


def open_node(page: Page, name: str) -> None:
    page.get_by_test_id(f"canvas-node-{name}").click()
    expect(page.get_by_test_id("node-name")).to_have_value(name)


def type_into(page: Page, test_id: str, text: str) -> None:
    """Fill a panel field; it commits when it loses focus."""
    field = page.get_by_test_id(test_id)
    field.fill(text)
    field.blur()


def create_workflow(page: Page, name: str) -> str:
    expect(page).not_to_have_url(re.compile(r"/login"))  # signed in: the redirect to the home page is done
    page.goto("/workflows")
    page.get_by_test_id("new-workflow").click()
    page.get_by_test_id("workflow-name").fill(name)
    page.get_by_test_id("create-workflow").click()
    expect(page).to_have_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("flow-canvas")).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def test_a_builder_builds_runs_and_approves_a_refund_flow(
    page: Page, studio: Studio, screenshot_dir: Path | None
) -> None:
    page.set_viewport_size({"width": 1700, "height": 950})  # room for the palette, the canvas and the panel
    sign_in(page, studio.admin_email, studio.admin_password)
    workflow_id = create_workflow(page, "Refund desk")

    # The new workflow starts with a Manual Trigger; this one starts from a webhook instead.
    manual = page.locator('[data-testid^="canvas-node-Manual"]')
    expect(manual).to_have_count(1)
    manual.click()
    page.keyboard.press("Delete")
    expect(manual).to_have_count(0)

    drop(page, "trigger.webhook", 120, 300)
    drop(page, "core.if", 420, 300)
    drop(page, "human.approval", 720, 160)
    drop(page, "core.set", 720, 460)
    for name in ("Webhook", "IF", "Approval", "Edit Fields (Set)"):
        expect(page.get_by_test_id(f"canvas-node-{name}")).to_be_visible()
    connect(page, "Webhook", 0, "IF")
    connect(page, "IF", 0, "Approval")
    connect(page, "IF", 1, "Edit Fields (Set)")
    expect(page.locator(".react-flow__edge")).to_have_count(3)

    open_node(page, "Webhook")
    type_into(page, "param-path", "refund-desk")
    choose(page, "param-response_mode", "last_node")
    open_node(page, "IF")
    page.get_by_test_id("add-row-conditions").click()
    type_into(page, "param-conditions.0.left", "{{ $json.body.amount }}")
    choose(page, "param-conditions.0.operator", "gt")
    type_into(page, "param-conditions.0.right", "100")

    open_node(page, "Approval")
    type_into(page, "param-title", "Refund {{ $json.body.amount }} EUR to {{ $json.body.customer }}?")
    type_into(page, "param-approvers", studio.admin_email)
    type_into(page, "param-ui_schema", json.dumps(REFUND_FORM))
    type_into(page, "param-quorum", "two")
    expect(page.get_by_test_id("field-quorum")).to_contain_text("'two' is not a number.")
    type_into(page, "param-quorum", "1")
    expect(page.get_by_test_id("field-quorum")).not_to_contain_text("not a number")

    open_node(page, "Edit Fields (Set)")
    page.get_by_test_id("add-row-assignments").click()
    type_into(page, "param-assignments.0.name", "route")
    type_into(page, "param-assignments.0.value", "refunded automatically")

    expect(page.get_by_test_id("dirty-badge")).to_be_visible()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("saved-badge")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Saved as version \d+\."))).to_be_visible()

    page.get_by_test_id("open-run").click()
    page.get_by_test_id("test-items").fill('[{"body": {"amount": 150, "customer": "ACME"}}]')
    page.get_by_test_id("run-workflow").click()
    expect(page.get_by_test_id("run-status")).to_have_text("waiting")
    expect(page.get_by_test_id("node-status-Approval")).to_contain_text("waiting")
    expect(page.get_by_test_id("node-status-IF")).to_contain_text("succeeded")
    expect(page.get_by_test_id("node-status-Edit Fields (Set)")).to_be_hidden()
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "editor.png"))

    # The approver (here the admin) answers in the inbox, in another tab; the canvas follows live.
    inbox = page.context.new_page()
    inbox.goto("/approvals")
    request = inbox.get_by_test_id("approval-row").filter(has_text="Refund 150 EUR to ACME?")
    request.get_by_test_id("approval-link").click()
    # The item holds the webhook's request ({"body": {...}}); the form asks for the amount to pay.
    inbox.get_by_test_id("form-field-amount").fill("120")
    inbox.get_by_test_id("approve-with-edits").click()
    expect(inbox.get_by_test_id("approval-status")).to_have_text("approved")
    inbox.close()

    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("node-status-Approval")).to_contain_text("succeeded")
    open_node(page, "Approval")
    page.get_by_test_id("tab-data").click()
    output = page.get_by_test_id("node-output-table")
    expect(output).to_contain_text("approved")
    expect(output).to_contain_text("120")

    # Activated, the same workflow answers its webhook; a small refund takes the other branch.
    page.get_by_test_id("workflow-active").click()
    expect(page.get_by_text("Active: its triggers are listening.")).to_be_visible()
    answer = httpx.post(f"{studio.api_url}/webhook/refund-desk", json={"amount": 40, "customer": "Bob"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert "refunded automatically" in answer.text

    runs = httpx.get(
        f"{studio.api_url}/api/v1/executions",
        params={"workflow_id": workflow_id},
        headers={"Authorization": f"Bearer {admin_token(studio)}"},
    ).json()
    assert {run["status"] for run in runs["items"]} == {"succeeded"}


def test_copy_paste_undo_redo_and_notes(page: Page, studio: Studio) -> None:
    sign_in(page, studio.admin_email, studio.admin_password)
    create_workflow(page, "Editing shortcuts")
    drop(page, "core.no_op", 400, 300)
    node = page.get_by_test_id("canvas-node-No Operation")
    expect(node).to_be_visible()

    node.click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    copy = page.get_by_test_id("canvas-node-No Operation 1")
    expect(copy).to_be_visible()
    page.keyboard.press("Control+z")
    expect(copy).to_have_count(0)
    page.get_by_test_id("redo").click()
    expect(copy).to_be_visible()

    open_node(page, "No Operation 1")
    page.get_by_test_id("node-name").fill("No Operation")
    page.get_by_test_id("node-name").blur()
    expect(page.get_by_text("Another node is already called 'No Operation'.")).to_be_visible()
    page.get_by_test_id("node-name").fill("Spare")
    page.get_by_test_id("node-name").blur()
    expect(page.get_by_test_id("canvas-node-Spare")).to_be_visible()

    page.get_by_test_id("add-note").click()
    note = page.get_by_test_id("sticky-note-text")
    note.fill("Spare is kept for the audit branch.")
    note.blur()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("saved-badge")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("sticky-note-text")).to_have_value("Spare is kept for the audit branch.")
    expect(page.get_by_test_id("canvas-node-Spare")).to_be_visible()

    page.get_by_test_id("open-versions").click()
    expect(page.get_by_test_id("restore-version-1")).to_be_visible()
    page.get_by_test_id("restore-version-1").click()
    expect(page.get_by_text(re.compile(r"Version 1 restored as version \d+\."))).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("canvas-node-Spare")).to_have_count(0)


def test_export_and_import_round_trip(page: Page, studio: Studio, tmp_path: Path) -> None:
    sign_in(page, studio.admin_email, studio.admin_password)
    create_workflow(page, "Round trip")
    drop(page, "core.no_op", 400, 300)
    expect(page.get_by_test_id("canvas-node-No Operation")).to_be_visible()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("saved-badge")).to_be_visible()

    page.get_by_test_id("open-import-export").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-json").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["name"] == "Round trip"
    assert {node["type"] for node in exported["nodes"]} == {"trigger.manual", "core.no_op"}

    page.get_by_test_id("import-json-text").fill("{not json")
    page.get_by_test_id("import-json").click()
    expect(page.get_by_text(re.compile(r"Not valid JSON"))).to_be_visible()

    exported["nodes"][1]["name"] = "Imported step"
    page.get_by_test_id("import-json-text").fill(json.dumps(exported))
    page.get_by_test_id("import-json").click()
    expect(page.get_by_text("Imported: check it and save.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("canvas-node-Imported step")).to_be_visible()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("saved-badge")).to_be_visible()


def test_a_viewer_sees_the_canvas_read_only(page: Page, studio: Studio) -> None:
    response = httpx.post(
        f"{studio.api_url}/api/v1/workflows",
        json={
            "name": "Look but do not touch",
            "nodes": [{"id": "n1", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}}],
            "connections": {},
        },
        headers={"Authorization": f"Bearer {admin_token(studio)}"},
    )
    assert response.status_code == 201, response.text
    ensure_user(studio, *VIEWER, role="viewer")
    sign_in(page, *VIEWER)
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"/workflows/{response.json()['id']}")
    expect(page.get_by_test_id("canvas-node-Start")).to_be_visible()
    expect(page.get_by_text("read only")).to_be_visible()
    expect(page.get_by_test_id("palette")).to_have_count(0)
    expect(page.get_by_test_id("save")).to_have_count(0)
    expect(page.get_by_test_id("open-run")).to_have_count(0)
    open_node(page, "Start")
    expect(page.get_by_test_id("node-name")).to_have_attribute("readonly", "")


def test_run_this_node_runs_it_alone_on_the_last_runs_data(page: Page, studio: Studio) -> None:
    def set_node(node_id: str, name: str, x: int, field: str, value: str) -> dict:
        assignments = [{"name": field, "value": value}]
        parameters = {"assignments": assignments}
        return {"id": node_id, "name": name, "type": "core.set", "position": [x, 0], "parameters": parameters}

    response = httpx.post(
        f"{studio.api_url}/api/v1/workflows",
        json={
            "name": "One node at a time",
            "nodes": [
                {"id": "n1", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}},
                set_node("n2", "Double", 260, "doubled", "{{ $json.n * 2 }}"),
                set_node("n3", "Label", 520, "label", "{{ $json.doubled + 1 }}"),
            ],
            "connections": {
                "Start": {"main": [[{"node": "Double", "type": "main", "index": 0}]]},
                "Double": {"main": [[{"node": "Label", "type": "main", "index": 0}]]},
            },
        },
        headers={"Authorization": f"Bearer {admin_token(studio)}"},
    )
    assert response.status_code == 201, response.text
    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"/workflows/{response.json()['id']}")

    page.get_by_test_id("open-run").click()
    page.get_by_test_id("test-items").fill('[{"n": 21}]')
    page.get_by_test_id("run-workflow").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("node-status-Label")).to_contain_text("succeeded")
    # Each edge says how many items went along it.
    counts = page.locator('[data-testid^="edge-count-"]')
    expect(counts).to_have_count(2)
    expect(counts.nth(0)).to_have_text("1 item")
    expect(counts.nth(1)).to_have_text("1 item")

    open_node(page, "Double")
    type_into(page, "param-assignments.0.value", "{{ $json.n * 3 }}")
    page.get_by_test_id("tab-data").click()
    page.get_by_test_id("run-node").click()

    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("node-status-Double")).to_contain_text("succeeded")
    expect(page.get_by_test_id("node-status-Label")).to_be_hidden()
    expect(page.get_by_test_id("node-output-table")).to_contain_text("63")
