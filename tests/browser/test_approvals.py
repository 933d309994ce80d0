"""/approvals and /approvals/{id}: an agent asks over the API, an approver answers in the studio.

The agent is the admin's API session; the approver and the viewer are made
through the API too. Requests are looked up by their (unique) titles.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio, admin_token, ensure_user
from tests.browser.test_accounts import choose, sign_in

APPROVER = ("rita.approver@example.com", "rita-password-1")
VIEWER = ("otto.viewer@example.com", "otto-password-1")

REFUND_FORM = {
    "type": "object",
    "x-order": ["amount", "currency", "reason", "notify_customer", "labels", "ship_by", "extra"],
    "required": ["amount", "currency"],
    "properties": {
        "amount": {"type": "number", "title": "Amount", "minimum": 0, "maximum": 1000},
        "currency": {"type": "string", "title": "Currency", "enum": ["EUR", "USD"]},
        "reason": {"type": "string", "title": "Reason", "x-widget": "textarea"},
        "notify_customer": {"type": "boolean", "title": "Notify the customer"},
        "labels": {
            "type": "array",
            "title": "Labels",
            "items": {"type": "string", "enum": ["urgent", "vip", "repeat"]},
        },
        "ship_by": {"type": "string", "title": "Ship by", "format": "date"},
        "extra": {"type": "object", "title": "Extra"},
    },
}
REFUND_DATA = {
    "amount": 250,
    "currency": "EUR",
    "reason": "Damaged on arrival",
    "notify_customer": True,
    "labels": ["urgent"],
    "ship_by": "2026-12-01",
    "extra": {"ticket": 42},
}


class Agent:
    """An agent calling the approvals API with the admin's session token."""

    def __init__(self, studio: Studio) -> None:
        self.base = f"{studio.api_url}/api/v1/approvals"
        self.headers = {"Authorization": f"Bearer {admin_token(studio)}"}

    def ask(self, title: str, **fields: Any) -> str:
        body = {"title": title, "approvers": [APPROVER[0]], "timeout_seconds": 3600, **fields}
        response = httpx.post(self.base, json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def get(self, approval_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.base}/{approval_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


def test_an_approver_lands_on_the_inbox_sees_a_new_request_live_and_approves_it_with_edits(
    page: Page, studio: Studio, screenshot_dir: Path | None
) -> None:
    ensure_user(studio, *APPROVER, role="approver")
    agent = Agent(studio)
    sign_in(page, *APPROVER)
    expect(page).to_have_url(re.compile(r"/approvals$"))
    expect(page.get_by_test_id("approvals-empty")).to_contain_text("Nothing waits for you")

    approval_id = agent.ask(
        "Refund 250 EUR to ACME",
        description="The customer wrote twice; the parcel arrived broken.",
        action_type="refund",
        action_data=REFUND_DATA,
        ui_schema=REFUND_FORM,
    )
    request = page.get_by_test_id("approval-row").filter(has_text="Refund 250 EUR to ACME")
    expect(request).to_be_visible()
    expect(request.get_by_test_id("approval-status")).to_have_text("pending")

    request.get_by_test_id("approval-link").click()
    expect(page).to_have_url(re.compile(rf"/approvals/{approval_id}$"))
    expect(page.get_by_test_id("approval-title")).to_have_text("Refund 250 EUR to ACME")
    expect(page.get_by_test_id("approval-due")).to_contain_text(re.compile(r"in \d+ min"))
    expect(page.get_by_test_id("approval-event").first).to_contain_text("Requested")
    expect(page.get_by_test_id("form-field-amount")).to_have_value("250")
    expect(page.get_by_test_id("form-field-reason")).to_have_value("Damaged on arrival")
    expect(page.get_by_test_id("form-field-ship_by")).to_have_value("2026-12-01")

    page.get_by_test_id("form-field-amount").fill("5000")
    page.get_by_test_id("approve-with-edits").click()
    expect(page.get_by_text("5000 is greater than the maximum of 1000", exact=True)).to_be_visible()
    expect(page.get_by_test_id("form-message")).to_have_text("Fix the marked fields, then approve again.")
    if screenshot_dir:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(screenshot_dir / "approval-detail.png"))
    expect(page.get_by_test_id("approval-status")).to_have_text("pending")

    page.get_by_test_id("form-field-amount").fill("900")
    choose(page, "form-field-currency", "USD")
    page.get_by_role("checkbox", name="vip").click()
    page.get_by_test_id("approval-feedback-input").fill("Capped at 900, paid in USD.")
    page.get_by_test_id("approve-with-edits").click()
    expect(page.get_by_text("Approved with your edits.")).to_be_visible()
    expect(page.get_by_test_id("approval-status")).to_have_text("approved")
    expect(page.get_by_test_id("approval-outcome")).to_contain_text(APPROVER[0])
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_test_id("approval-response-data")).to_contain_text('"amount": 900')

    decided = agent.get(approval_id)
    assert decided["status"] == "approved"
    assert decided["responded_by"] == APPROVER[0]
    assert decided["feedback"] == "Capped at 900, paid in USD."
    assert decided["response_data"] == {**REFUND_DATA, "amount": 900, "currency": "USD", "labels": ["urgent", "vip"]}


def test_an_approver_approves_several_requests_at_once(page: Page, studio: Studio, screenshot_dir: Path | None) -> None:
    ensure_user(studio, *APPROVER, role="approver")
    agent = Agent(studio)
    ids = [agent.ask(f"Bulk refund #{n}", action_type="refund", action_data={"amount": 10 * n}) for n in (1, 2, 3)]

    sign_in(page, *APPROVER)
    expect(page).to_have_url(re.compile(r"/approvals$"))
    page.get_by_test_id("approval-search").fill("bulk refund")
    rows = page.get_by_test_id("approval-row")
    expect(rows).to_have_count(3)
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "approvals.png"))

    page.get_by_test_id("select-all-approvals").click()
    expect(page.get_by_test_id("bulk-count")).to_have_text("3 selected")
    page.get_by_test_id("bulk-feedback").fill("Small amounts: fine.")
    page.get_by_test_id("bulk-approve").click()
    expect(page.get_by_text("Approved 3 requests.")).to_be_visible()
    expect(page.get_by_test_id("approvals-empty")).to_be_visible()

    for approval_id in ids:
        decided = agent.get(approval_id)
        assert (decided["status"], decided["feedback"]) == ("approved", "Small amounts: fine.")

    page.get_by_test_id("scope-all").click()
    expect(rows).to_have_count(3)
    expect(rows.get_by_test_id("approval-status")).to_have_text(["approved"] * 3)


def test_a_viewer_gets_no_decision_buttons(page: Page, studio: Studio) -> None:
    ensure_user(studio, *APPROVER, role="approver")
    ensure_user(studio, *VIEWER, role="viewer")
    approval_id = Agent(studio).ask("Viewer must not decide this")

    sign_in(page, *VIEWER)
    expect(page).to_have_url(re.compile(r"/workflows$"))
    page.get_by_test_id("nav-approvals").click()
    expect(page).to_have_url(re.compile(r"/approvals$"))
    expect(page.get_by_test_id("approvals-empty")).to_be_visible()
    expect(page.get_by_test_id("select-approval")).to_have_count(0)
    page.goto(f"/approvals/{approval_id}")
    expect(page.get_by_test_id("approval-missing")).to_be_visible()
    expect(page.get_by_test_id("approve")).to_have_count(0)
