"""The Groups tab of /users: an admin creates a group, adds and removes a member, renames and deletes it."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio
from tests.browser.test_accounts import sign_in


def test_admin_manages_a_group_and_its_members(page: Page, studio: Studio) -> None:
    token = httpx.post(
        f"{studio.api_url}/api/v1/auth/login",
        json={"email": studio.admin_email, "password": studio.admin_password},
    ).json()["token"]
    member = httpx.post(
        f"{studio.api_url}/api/v1/users",
        json={"email": "gus@example.com", "name": "Gus", "role": "approver", "password": "gus-password-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert member.status_code == 201, member.text

    sign_in(page, studio.admin_email, studio.admin_password)
    page.get_by_test_id("nav-users").click()
    page.get_by_test_id("tab-groups").click()
    expect(page.get_by_text("No groups yet")).to_be_visible()

    page.get_by_test_id("group-name").fill("!finance")
    page.get_by_test_id("group-create").click()
    expect(page.get_by_text("starting with a letter or digit", exact=False)).to_be_visible()
    page.get_by_test_id("group-name").fill("finance")
    page.get_by_test_id("group-create").click()
    row = page.get_by_test_id("group-row").filter(has_text="group:finance")
    expect(row).to_be_visible()

    row.get_by_test_id("group-add-member").click()
    page.get_by_role("option", name="gus@example.com", exact=True).click()
    expect(row.get_by_test_id("group-member")).to_have_text("gus@example.com")

    row.get_by_test_id("group-rename").click()
    page.get_by_test_id("group-rename-name").fill("finance-emea")
    page.get_by_test_id("group-rename-save").click()
    renamed = page.get_by_test_id("group-row").filter(has_text="group:finance-emea")
    expect(renamed.get_by_test_id("group-member")).to_have_text("gus@example.com")

    renamed.get_by_test_id("group-remove-member").click()
    expect(renamed.get_by_test_id("group-member")).to_have_count(0)
    renamed.get_by_test_id("group-delete").click()
    page.get_by_test_id("confirm-group-delete").click()
    expect(page.get_by_test_id("group-row")).to_have_count(0)
    expect(page.get_by_text("No groups yet")).to_be_visible()
