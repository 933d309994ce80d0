"""The settings screen: a person renames themselves and changes their password; an admin manages webhooks."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio
from tests.browser.test_accounts import sign_in

PERSON = ("sam@example.com", "sam-password-1")
NEW_PASSWORD = "sam-password-2-longer"


def _api(studio: Studio) -> httpx.Client:
    token = httpx.post(
        f"{studio.api_url}/api/v1/auth/login",
        json={"email": studio.admin_email, "password": studio.admin_password},
    ).json()["token"]
    return httpx.Client(base_url=f"{studio.api_url}/api/v1", headers={"Authorization": f"Bearer {token}"})


def _outline(page: Page, test_id: str) -> str:
    """The outline style of the nearest box around the input (form_field's red frame marks an error)."""
    return page.get_by_test_id(test_id).evaluate(
        """(el) => {
            for (let node = el; node; node = node.parentElement) {
                if (getComputedStyle(node).outlineStyle !== 'none') return getComputedStyle(node).outlineStyle;
            }
            return 'none';
        }"""
    )


def test_a_viewer_changes_their_name_and_password(page: Page, studio: Studio, screenshot_dir: Path | None) -> None:
    created = _api(studio).post(
        "/users", json={"email": PERSON[0], "name": "", "role": "viewer", "password": PERSON[1]}
    )
    assert created.status_code == 201, created.text
    sign_in(page, *PERSON)
    expect(page.get_by_test_id("current-user")).to_have_text(PERSON[0])
    page.get_by_test_id("nav-settings").click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    expect(page.get_by_test_id("settings-instance")).to_have_count(0)
    expect(page.get_by_test_id("settings-webhooks")).to_have_count(0)

    page.get_by_test_id("profile-name").fill("Sam Settings")
    page.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("current-user")).to_have_text("Sam Settings")

    page.get_by_test_id("current-password").fill("not-my-password")
    page.get_by_test_id("new-password").fill(NEW_PASSWORD)
    page.get_by_test_id("confirm-password").fill(NEW_PASSWORD)
    page.get_by_test_id("password-save").click()
    expect(page.get_by_text("This is not your current password.")).to_be_visible()
    assert _outline(page, "current-password") == "solid"

    page.get_by_test_id("current-password").fill(PERSON[1])
    page.get_by_test_id("confirm-password").fill("something-else-entirely")
    page.get_by_test_id("password-save").click()
    expect(page.get_by_text("The two new passwords differ.")).to_be_visible()

    page.get_by_test_id("confirm-password").fill(NEW_PASSWORD)
    page.get_by_test_id("password-save").click()
    expect(page.get_by_text("Password changed; your other sign-ins were ended.")).to_be_visible()
    expect(page.get_by_test_id("current-password")).to_have_value("")
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "settings.png"))

    page.reload()
    expect(page.get_by_test_id("current-user")).to_have_text("Sam Settings")
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, PERSON[0], PERSON[1])
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")
    sign_in(page, PERSON[0], NEW_PASSWORD)
    expect(page.get_by_test_id("current-user")).to_have_text("Sam Settings")


def test_an_admin_sees_the_instance_and_manages_webhooks(page: Page, studio: Studio) -> None:
    sign_in(page, studio.admin_email, studio.admin_password)
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.get_by_test_id("nav-settings").click()
    facts = page.get_by_test_id("instance-facts")
    expect(facts).to_contain_text("SQLite, reachable")
    expect(facts).to_contain_text("embedded")
    assert "secret.key" not in page.content()

    page.get_by_test_id("webhook-url").fill("not a url")
    page.get_by_test_id("webhook-add").click()
    expect(page.get_by_text("Pick at least one event.")).to_be_visible()
    page.get_by_text("decision.approved", exact=True).click()
    page.get_by_test_id("webhook-add").click()
    expect(page.get_by_text("Give an http:// or https:// URL.")).to_be_visible()
    page.get_by_test_id("webhook-url").fill("https://hooks.example.com/hitl")
    page.get_by_test_id("webhook-add").click()
    secret = page.get_by_test_id("webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    row = page.get_by_test_id("webhook-row").filter(has_text="https://hooks.example.com/hitl")
    expect(row).to_contain_text("decision.approved")

    page.reload()
    expect(row).to_be_visible()
    expect(page.get_by_test_id("webhook-secret")).to_have_count(0)
    assert secret not in page.content()
    row.get_by_test_id("webhook-delete").click()
    page.get_by_test_id("confirm-webhook-delete").click()
    expect(page.get_by_test_id("webhook-row")).to_have_count(0)
    expect(page.get_by_text("No subscriptions")).to_be_visible()
