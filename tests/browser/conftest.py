"""Browser fixtures: one studio per test session, a fresh Chromium context per test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.studio import Studio, running_studio
from tests.servers import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def isolated_settings() -> Iterator[None]:
    """Browser tests talk to a studio in another process: this process's settings do not matter."""
    yield


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    root = tmp_path_factory.mktemp("studio")
    with running_studio(root / "data", root / "studio.log") as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _new_page(browser, studio: Studio):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=studio.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    return context, context.new_page()


@pytest.fixture(scope="session")
def owner(browser, studio: Studio, tmp_path_factory: pytest.TempPathFactory) -> Studio:  # type: ignore[no-untyped-def]
    """Create the studio's first account through first-run setup on /login, as a new user would."""
    from playwright.sync_api import expect

    context, tab = _new_page(browser, studio)
    tab.goto("/login")
    tab.get_by_test_id("setup-email").fill(studio.admin_email)
    tab.get_by_test_id("setup-password").fill("short")
    tab.get_by_test_id("setup-submit").click()
    expect(tab.get_by_text("Use at least 8 characters.")).to_be_visible()
    tab.get_by_test_id("setup-password").fill(studio.admin_password)
    tab.get_by_test_id("setup-submit").click()
    expect(tab).to_have_url(re.compile(r"/workflows$"))
    expect(tab.get_by_test_id("current-user")).to_have_text(studio.admin_email)
    context.close()
    return studio


@pytest.fixture
def page(browser, owner: Studio) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context, tab = _new_page(browser, owner)
    yield tab
    context.close()


@pytest.fixture
def screenshot_dir() -> Path | None:
    """Where to save screenshots for the README: set HITL_SCREENSHOT_DIR (``make screenshots``)."""
    target = os.environ.get("HITL_SCREENSHOT_DIR")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path
