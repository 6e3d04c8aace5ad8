"""End to end: `streamlit run app.py` on a synced sample release, driven in headless Chromium.

Uses the system's Chromium (/usr/bin/chromium), never a downloaded one. Screenshots land in
/tmp/kanon-*.png for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reports.views import OTHER
from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, settle

pytestmark = pytest.mark.browser

SCRIPT_SOURCE = "<script>alert(1)</script> / referral"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard in developer mode over a freshly synced sample release."""
    home = published_home(request.config, tmp_path_factory.mktemp("browser-home"))
    with dashboard(home, KANON_DEVELOPER_MODE="1") as url:
        yield url


def scroll_grid_to(page, text: str):
    """The first table's cell holding exactly `text`, scrolling the table until it shows.

    The grid paints on a canvas and mirrors the rows in view as text cells for screen
    readers: a name found there is shown as text, never run as markup.
    """
    from playwright.sync_api import expect

    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    expect(grid.locator('td[role="gridcell"]').first).to_be_attached(timeout=15_000)
    cell = grid.locator('td[role="gridcell"]', has_text=text)
    for _ in range(30):
        if cell.count():
            return cell.first
        box = grid.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, 100)  # a few rows at a time: only rows in view are mirrored
        page.wait_for_timeout(200)
    raise AssertionError(f"{text!r} is not in the table")


def test_dashboard_end_to_end(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # Overview: the banner, seven KPI cards with changes, and the trend chart.
    page.goto(server)
    settle(page)
    expect(page.get_by_text("Developer mode — sign-in is off")).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    expect(page.get_by_text("Visitors per day (average)")).to_be_visible()
    expect(page.get_by_text("Showing ")).to_contain_text("28 whole days")
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator(".scatterlayer .trace").first).to_be_visible(timeout=15_000)
    page.screenshot(path="/tmp/kanon-overview.png", full_page=True)

    # Sources: the hostile source is withheld in every period, so it is not listed: its
    # figures are in the Other row, and nothing ran.
    page.get_by_role("link", name="Sources").click()
    settle(page)
    expect(page.get_by_text("Withheld:").first).to_be_visible()
    assert scroll_grid_to(page, OTHER).text_content() == OTHER
    page.get_by_text("Week", exact=True).click()
    settle(page)
    expect(page.get_by_text("whole weeks").first).to_be_visible()
    assert scroll_grid_to(page, OTHER).text_content() == OTHER
    assert page.get_by_text(SCRIPT_SOURCE).count() == 0
    assert page.locator("script", has_text="alert(1)").count() == 0
    page.screenshot(path="/tmp/kanon-sources.png")
    assert dialogs == []

    # Privacy: k and the promise.
    page.get_by_role("link", name="Privacy").click()
    settle(page)
    expect(page.get_by_text("reveals a count of fewer than 10 visitors")).to_be_visible()
    expect(page.get_by_text("Withheld in this selection")).to_be_visible()
    page.screenshot(path="/tmp/kanon-privacy.png", full_page=True)
    assert dialogs == []
    page.close()


def test_every_page_has_its_own_address_and_a_link_keeps_its_range(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = console_errors(page, server)
    for path, title in [("overview", "Overview"), ("pages", "Pages"), ("admin", "Admin")]:
        page.goto(f"{server}/{path}")
        settle(page)
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
        assert page.get_by_text("Page not found").count() == 0, path
    page.goto(f"{server}/sources?range=last-90-days&grain=week")
    settle(page)
    expect(page.get_by_role("heading", name="Sources", exact=True)).to_be_visible()
    expect(page.get_by_text("whole weeks").first).to_be_visible()
    page.goto(f"{server}/?range=last-7-days&grain=day")  # the start page keeps the query
    settle(page)
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    assert page.url.endswith("/overview?range=last-7-days&grain=day")
    page.goto(f"{server}/countries?range=DROP%20TABLE&grain=%3Cb%3E")
    settle(page)
    expect(page.get_by_text("This link asks for something Kanon cannot show")).to_be_visible()
    assert page.get_by_text("Traceback").count() == 0
    assert errors == []
    page.close()
