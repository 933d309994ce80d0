"""The Credentials screen as an admin uses it: a form from the type's fields, set/unset secrets, test, edit, delete.

The credential is a PostgreSQL login for the local server (trust
authentication), so "Test connection" really connects. Its password is a
marker string that must never appear in the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.browser.studio import Studio
from tests.browser.test_accounts import choose, sign_in
from tests.fakes import oauth_server
from tests.fakes.oauth_server import fake_oauth_server

SECRET = "pg-secret-4f1c9a7e-never-in-the-browser"


def _api(studio: Studio) -> httpx.Client:
    token = httpx.post(
        f"{studio.api_url}/api/v1/auth/login",
        json={"email": studio.admin_email, "password": studio.admin_password},
    ).json()["token"]
    return httpx.Client(base_url=f"{studio.api_url}/api/v1", headers={"Authorization": f"Bearer {token}"})


def _field(page: Page, name: str) -> Locator:
    """The whole form field (label, input, error) around the input of the type's field ``name``."""
    return page.get_by_test_id("cred-field").filter(has=page.get_by_test_id(f"cred-field-{name}"))


def _outline(locator: Locator) -> str:
    """The outline style of the nearest box around ``locator`` that has one (form_field's red frame)."""
    return locator.evaluate(
        """(el) => {
            for (let node = el; node; node = node.parentElement) {
                const style = getComputedStyle(node);
                if (style.outlineStyle !== 'none') return style.outlineStyle + ' ' + style.outlineColor;
            }
            return 'none';
        }"""
    )


def test_admin_creates_tests_edits_and_deletes_a_credential(
    page: Page, studio: Studio, screenshot_dir: Path | None
) -> None:
    # The studio is shared by the whole browser session: clear what other tests stored so the empty state shows.
    with _api(studio) as api:
        for item in api.get("/credentials").json():
            assert api.delete(f"/credentials/{item['id']}").status_code == 204
    sign_in(page, studio.admin_email, studio.admin_password)
    page.get_by_test_id("nav-credentials").click()
    expect(page).to_have_url(re.compile(r"/credentials$"))
    expect(page.get_by_text("No credentials yet")).to_be_visible()

    page.get_by_test_id("add-credential").first.click()
    choose(page, "cred-type", "PostgreSQL")
    page.get_by_test_id("cred-name").fill("Warehouse")
    page.get_by_test_id("cred-field-host").fill("127.0.0.1")
    expect(page.get_by_test_id("cred-field-port")).to_have_value("5432")
    page.get_by_test_id("cred-field-user").fill("postgres")
    page.get_by_test_id("cred-field-password").fill(SECRET)
    page.get_by_test_id("cred-save").click()
    expect(_field(page, "database")).to_contain_text("Required.")
    assert _outline(page.get_by_test_id("cred-field-database")).startswith("solid")
    expect(page.get_by_test_id("credential-row")).to_have_count(0)

    page.get_by_test_id("cred-field-database").fill("postgres")
    page.get_by_test_id("cred-save").click()
    row = page.get_by_test_id("credential-row").filter(has_text="Warehouse")
    expect(row).to_be_visible()
    expect(row).to_contain_text("PostgreSQL")
    expect(row).to_contain_text(studio.admin_email)
    expect(row).to_contain_text("Not used yet")
    expect(row.get_by_text("Password", exact=True).locator("xpath=..")).to_have_text(re.compile(r"^Password\s*set$"))
    assert SECRET not in page.content()

    row.get_by_test_id("cred-test").click()
    expect(page.get_by_text("Test passed: Connected to 127.0.0.1:5432/postgres.")).to_be_visible()

    api = _api(studio)
    (stored,) = [item for item in api.get("/credentials").json() if item["name"] == "Warehouse"]
    workflow = api.post(
        "/workflows",
        json={
            "name": "Nightly export",
            "nodes": [
                {"id": "start", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}},
                {
                    "id": "query",
                    "name": "Query",
                    "type": "postgres.database",
                    "position": [240, 0],
                    "parameters": {"query": "SELECT 1"},
                    "credentials": {"postgres": {"id": stored["id"], "name": "Warehouse"}},
                },
            ],
            "connections": {"Start": {"main": [[{"node": "Query", "type": "main", "index": 0}]]}},
        },
    )
    assert workflow.status_code == 201, workflow.text

    page.reload()
    used_by = row.get_by_test_id("cred-used-by")
    expect(used_by.get_by_role("link", name="Nightly export")).to_have_attribute(
        "href", f"/workflows/{workflow.json()['id']}"
    )
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "credentials.png"))

    row.get_by_test_id("cred-edit").click()
    expect(page.get_by_test_id("cred-name")).to_have_value("Warehouse")
    expect(page.get_by_test_id("cred-field-host")).to_have_value("127.0.0.1")
    password = page.get_by_test_id("cred-field-password")
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", "Stored; leave blank to keep it")
    expect(_field(page, "password")).to_contain_text(re.compile(r"Password\s*set"))
    assert SECRET not in page.content()
    page.get_by_test_id("cred-name").fill("Warehouse DB")
    page.get_by_test_id("cred-field-database").fill("")
    page.get_by_test_id("cred-save").click()
    expect(_field(page, "database")).to_contain_text("Required.")
    page.get_by_test_id("cred-field-database").fill("postgres")
    page.get_by_test_id("cred-save").click()
    renamed = page.get_by_test_id("credential-row").filter(has_text="Warehouse DB")
    expect(renamed).to_be_visible()
    after_edit = api.get(f"/credentials/{stored['id']}").json()
    assert after_edit["fields"]["password"] == "set"
    assert after_edit["updated_at"] != stored["updated_at"]
    renamed.get_by_test_id("cred-test").click()
    expect(page.get_by_text("Test passed: Connected to 127.0.0.1:5432/postgres.").first).to_be_visible()

    renamed.get_by_test_id("cred-delete").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("cannot be deleted while they use it")
    expect(page.get_by_role("alertdialog")).to_contain_text("Nightly export")
    page.get_by_test_id("confirm-delete-credential").click()
    expect(page.get_by_text("The credential is used by 'Nightly export'")).to_be_visible()
    expect(renamed).to_be_visible()
    assert api.delete(f"/workflows/{workflow.json()['id']}").status_code == 204
    page.reload()
    expect(renamed.get_by_test_id("cred-used-by")).to_have_text("Not used yet")
    renamed.get_by_test_id("cred-delete").click()
    page.get_by_test_id("confirm-delete-credential").click()
    expect(page.get_by_text("Warehouse DB deleted.")).to_be_visible()
    expect(page.get_by_test_id("credential-row")).to_have_count(0)
    assert api.get(f"/credentials/{stored['id']}").status_code == 404
    assert SECRET not in page.content()


def test_a_builder_sees_a_shared_credential_read_only(page: Page, studio: Studio) -> None:
    api = _api(studio)
    builder = api.post(
        "/users",
        json={"email": "bea@example.com", "name": "Bea Builder", "role": "builder", "password": "bea-password-1"},
    ).json()
    shared = api.post(
        "/credentials",
        json={
            "name": "Partner API",
            "type": "http_header_auth",
            "data": {"name": "X-Api-Key", "value": SECRET},
            "shared_with": [builder["id"]],
        },
    )
    assert shared.status_code == 201, shared.text
    api.post(
        "/credentials", json={"name": "Admin only", "type": "http_header_auth", "data": {"name": "X", "value": "v"}}
    )

    sign_in(page, "bea@example.com", "bea-password-1")
    page.get_by_test_id("nav-credentials").click()
    row = page.get_by_test_id("credential-row").filter(has_text="Partner API")
    expect(row).to_contain_text("shared with you")
    expect(row).to_contain_text("bea@example.com")
    expect(row.get_by_test_id("cred-edit")).to_have_count(0)
    expect(row.get_by_test_id("cred-delete")).to_have_count(0)
    expect(page.get_by_test_id("credential-row").filter(has_text="Admin only")).to_have_count(0)
    assert SECRET not in page.content()


def test_admin_connects_and_disconnects_an_oauth2_account(page: Page, studio: Studio) -> None:
    with fake_oauth_server() as provider:
        data = provider.credential_data()
        sign_in(page, studio.admin_email, studio.admin_password)
        page.get_by_test_id("nav-credentials").click()
        page.get_by_test_id("add-credential").first.click()
        choose(page, "cred-type", "OAuth2")
        page.get_by_test_id("cred-name").fill("Provider account")
        for name in ("client_id", "client_secret", "scopes", "authorization_url", "token_url", "revoke_url"):
            page.get_by_test_id(f"cred-field-{name}").fill(data[name])
        page.get_by_test_id("cred-save").click()
        row = page.get_by_test_id("credential-row").filter(has_text="Provider account")
        expect(row.get_by_test_id("cred-oauth-status")).to_have_text("not connected")
        assert oauth_server.CLIENT_SECRET not in page.content()

        with page.context.expect_page() as opened:
            row.get_by_test_id("cred-connect").click()
        tab = opened.value
        expect(tab).to_have_url(re.compile(r"/credentials/?\?connected="))
        expect(tab.get_by_text("Provider account is connected to its account.")).to_be_visible()
        connected = tab.get_by_test_id("credential-row").filter(has_text="Provider account")
        expect(connected.get_by_test_id("cred-oauth-status")).to_have_text("connected")
        expect(connected).to_contain_text("scopes: read, write")
        assert provider.grants == ["authorization_code"]
        for token in provider.live_access_tokens():
            assert token not in tab.content()

        connected.get_by_role("button", name="Disconnect").click()
        tab.get_by_test_id("confirm-disconnect").click()
        expect(connected.get_by_test_id("cred-oauth-status")).to_have_text("not connected")
        assert provider.revoked
        assert provider.live_access_tokens() == []
