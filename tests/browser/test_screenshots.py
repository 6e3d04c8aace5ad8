"""A screenshot of every page, as a person sees it at 1280 px (and the phone width, 390 px).

The README's pictures come from here:
`KANON_SCREENSHOT_DIR=docs/screenshots .venv/bin/python -m pytest tests/browser/test_screenshots.py`
Without the variable the pictures go to a temporary folder: each page must still render a chart
or its text, so the suite proves every page draws.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanon.access.accounts import Accounts
from kanon.access.roles import ADMIN
from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, settle

pytestmark = pytest.mark.browser

PAGES = [
    ("overview", "Overview", True),
    ("pages", "Pages", True),
    ("sources", "Sources", True),
    ("technology", "Technology", True),
    ("countries", "Countries", True),
    ("engagement", "Engagement", True),
    ("privacy", "Privacy", False),
    ("admin", "Admin", False),
]
README_PAGES = {"overview", "pages", "privacy"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    chosen = os.environ.get("KANON_SCREENSHOT_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> Iterator[str]:
    home = published_home(request.config, tmp_path_factory.mktemp("screenshot-home"))
    # No account: developer mode refuses a home that has accounts (and shows none).
    with dashboard(home, KANON_DEVELOPER_MODE="1") as url:
        yield url


@pytest.mark.parametrize(("path", "title", "charted"), PAGES)
def test_every_page_draws_at_desktop_and_phone_width(server, browser, folder, path, title, charted):
    from playwright.sync_api import expect

    for width, height, suffix in ((1280, 900, ""), (390, 844, "-phone")):
        phone = suffix == "-phone"  # a phone's screen: the sidebar starts closed there
        page = browser.new_page(
            viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone
        )
        errors = console_errors(page, server)
        page.goto(f"{server}/{path}")
        settle(page)
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
        if charted:
            chart = page.locator('[data-testid="stPlotlyChart"]').first
            expect(chart.locator(".main-svg").first).to_be_visible(timeout=15_000)
        if suffix == "" or path in README_PAGES:
            page.screenshot(path=str(folder / f"{path}{suffix}.png"), full_page=suffix == "")
        assert errors == [], errors
        page.close()


def test_the_sign_in_page(browser, folder, tmp_path):
    from playwright.sync_api import expect

    home = tmp_path / "home"
    home.mkdir()
    Accounts(home / "accounts.sqlite").add_local("ada", [ADMIN], "correct horse battery")
    with dashboard(home) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 640})
        page.goto(url)
        settle(page)
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        page.screenshot(path=str(folder / "sign-in.png"))
        page.close()
