"""End to end: `streamlit run app.py` on a synced sample release, driven in headless Chromium.

Uses the system's Chromium (/usr/bin/chromium), never a downloaded one. Screenshots land in
/tmp/kanon-*.png for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.views import OTHER
from tests.app.support import ROOT, published_home

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SCRIPT_SOURCE = "<script>alert(1)</script> / referral"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard in developer mode over a freshly synced sample release."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    home = published_home(request.config, tmp_path_factory.mktemp("browser-home"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("KANON_SETTINGS", "KANON_K")}
    env.update(KANON_HOME=str(home), KANON_DEVELOPER_MODE="1")
    output = (home / "streamlit.log").open("w")
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    process = subprocess.Popen(
        [*command, "--server.headless", "true"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def settle(page) -> None:
    """Wait for the script run that the last action started to finish."""
    page.wait_for_timeout(300)  # let a rerun begin before waiting for it to end
    page.wait_for_selector(IDLE, timeout=30_000)


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
