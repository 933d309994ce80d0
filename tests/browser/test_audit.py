"""The audit screen: admins only; it lists a credential's creation and a failed sign-in, filtered and searched."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio
from tests.browser.test_accounts import choose, sign_in

BUILDER = ("audit-builder@example.com", "builder-password-1")
INTRUDER = "intruder@example.com"


def _api(studio: Studio) -> httpx.Client:
    token = httpx.post(
        f"{studio.api_url}/api/v1/auth/login",
        json={"email": studio.admin_email, "password": studio.admin_password},
    ).json()["token"]
    return httpx.Client(base_url=f"{studio.api_url}/api/v1", headers={"Authorization": f"Bearer {token}"})


def test_a_builder_cannot_open_the_audit_log(page: Page, studio: Studio) -> None:
    created = _api(studio).post(
        "/users", json={"email": BUILDER[0], "name": "", "role": "builder", "password": BUILDER[1]}
    )
    assert created.status_code == 201, created.text

    sign_in(page, *BUILDER)
    expect(page.get_by_test_id("current-user")).to_have_text(BUILDER[0])
    expect(page.get_by_test_id("nav-audit")).to_have_count(0)
    page.goto("/audit")
    expect(page.get_by_text("That page is not available to your role.")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/audit$"))
    expect(page.get_by_test_id("audit-row")).to_have_count(0)


def test_admin_finds_a_credential_creation_and_a_failed_sign_in(
    page: Page, studio: Studio, screenshot_dir: Path | None
) -> None:
    api = _api(studio)
    credential = api.post(
        "/credentials",
        json={"name": "Ledger API", "type": "http_header_auth", "data": {"name": "X-Key", "value": "ledger-secret"}},
    )
    assert credential.status_code == 201, credential.text
    sign_in(page, INTRUDER, "guessing-passwords")
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")

    sign_in(page, studio.admin_email, studio.admin_password)
    page.get_by_test_id("nav-audit").click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    rows = page.get_by_test_id("audit-row")
    expect(rows.filter(has_text="credential.created").filter(has_text=studio.admin_email)).to_have_count(1)
    expect(rows.filter(has_text="auth.login_failed").filter(has_text=INTRUDER)).to_have_count(1)
    expect(page.get_by_role("button", name=re.compile("^(Edit|Delete)"))).to_have_count(0)
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "audit.png"))

    choose(page, "audit-action", "credential.created")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(credential.json()["id"])
    rows.first.get_by_test_id("audit-details").click()
    expect(page.get_by_role("dialog")).to_contain_text('"name": "Ledger API"')
    page.keyboard.press("Escape")

    choose(page, "audit-action", "All actions")
    page.get_by_test_id("audit-actor").fill("intruder")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("auth.login_failed")
    expect(page.get_by_test_id("audit-count")).to_have_text("1-1 of 1")

    today = datetime.now(UTC).date()
    page.get_by_test_id("audit-since").fill((today + timedelta(days=1)).isoformat())
    page.get_by_test_id("audit-apply").click()
    expect(page.get_by_text("Nothing matches")).to_be_visible()
    page.get_by_test_id("audit-since").fill(today.isoformat())
    page.get_by_test_id("audit-until").fill((today - timedelta(days=1)).isoformat())
    page.get_by_test_id("audit-apply").click()
    expect(page.get_by_text("Pick a day on or after the first one.")).to_be_visible()
    page.get_by_test_id("audit-until").fill(today.isoformat())
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(1)

    page.get_by_test_id("audit-clear").click()
    expect(page.get_by_test_id("audit-actor")).to_have_value("")
    page.get_by_test_id("audit-search").fill("ledger api")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("credential.created")
