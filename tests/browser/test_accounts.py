"""The foundation, as a person uses it: sign in, add a user, make an API key, sign out.

One studio serves the whole module, so the tests run in file order and each
starts from a fresh browser context (no cookies).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_test_id("login-submit").click()


def choose(page: Page, trigger_test_id: str, option: str) -> None:
    """Pick an option of a Radix select (a button that opens a listbox, not a native <select>)."""
    page.get_by_test_id(trigger_test_id).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_first_run_setup_is_closed_once_the_owner_exists(page: Page, studio: Studio) -> None:
    page.goto("/login")
    expect(page.locator("#email")).to_be_visible()
    expect(page.get_by_test_id("setup-email")).to_have_count(0)


def test_wrong_password_is_refused_with_a_message(page: Page, studio: Studio, screenshot_dir: Path | None) -> None:
    sign_in(page, studio.admin_email, "not-the-password")
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(re.compile(r"/login"))
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "login.png"))


def test_admin_adds_a_user_creates_an_api_key_and_logs_out(
    page: Page, studio: Studio, screenshot_dir: Path | None
) -> None:
    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page).to_have_url(re.compile(r"/workflows$"))
    expect(page.get_by_test_id("current-user")).to_have_text(studio.admin_email)
    page.get_by_test_id("nav-users").click()
    expect(page).to_have_url(re.compile(r"/users$"))

    page.get_by_test_id("add-user").click()
    page.get_by_test_id("user-email").fill("not-an-email")
    page.get_by_test_id("user-password").fill("short")
    page.get_by_test_id("create-user").click()
    expect(page.get_by_text("Enter an email address such as ana@example.com.")).to_be_visible()
    expect(page.get_by_text("Use at least 8 characters.")).to_be_visible()

    page.get_by_test_id("user-email").fill("ana@example.com")
    page.get_by_test_id("user-name").fill("Ana Approver")
    choose(page, "user-role", "approver")
    page.get_by_test_id("user-password").fill("ana-password-1")
    page.get_by_test_id("create-user").click()
    row = page.get_by_test_id("user-row").filter(has_text="ana@example.com")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("row-role")).to_have_text("approver")
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "users.png"))

    page.get_by_test_id("nav-api-keys").click()
    expect(page).to_have_url(re.compile(r"/api-keys$"))
    page.get_by_test_id("create-api-key").click()
    expect(page.get_by_text("Give the key a name, such as the agent that will use it.")).to_be_visible()
    page.get_by_test_id("api-key-name").fill("invoice-agent")
    page.get_by_test_id("create-api-key").click()
    secret = page.get_by_test_id("new-api-key").inner_text()
    assert secret.startswith("hitl_")
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "api-keys.png"))

    me = httpx.get(f"{studio.api_url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["email"] == studio.admin_email

    page.get_by_test_id("api-key-row").filter(has_text="invoice-agent").get_by_test_id("revoke-key").click()
    page.get_by_test_id("confirm-revoke").click()
    expect(page.get_by_test_id("api-key-row").filter(has_text="invoice-agent")).to_contain_text("revoked")
    revoked = httpx.get(f"{studio.api_url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert revoked.status_code == 401

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/users")
    expect(page).to_have_url(re.compile(r"/login\?next=/users$"))


def test_an_approver_sees_no_admin_pages(page: Page, studio: Studio) -> None:
    sign_in(page, "ana@example.com", "ana-password-1")
    expect(page).to_have_url(re.compile(r"/approvals$"))
    expect(page.get_by_test_id("current-user")).to_have_text("Ana Approver")
    expect(page.get_by_test_id("nav-users")).to_have_count(0)
    page.goto("/users")
    expect(page).to_have_url(re.compile(r"/approvals$"))
    expect(page.get_by_text("That page is not available to your role.")).to_be_visible()


def test_a_signed_in_user_returns_to_the_page_they_asked_for(page: Page, studio: Studio) -> None:
    page.goto("/api-keys")
    expect(page).to_have_url(re.compile(r"/login\?next=/api-keys$"))
    page.locator("#email").fill(studio.admin_email)
    page.locator("#password").fill(studio.admin_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/api-keys$"))
