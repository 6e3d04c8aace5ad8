"""Twenty people at once: signed-in browser sessions switching pages and ranges for a while.

Each visitor is its own Playwright context (its own cookies, its own Streamlit session) with
its own sequence of choices; after each change it checks that the page shows exactly its own
selection, so a session that saw another's selection, an error, or a page that never drew,
fails the test. The dashboard's resident memory is read from /proc while they work.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanon.access.accounts import Accounts
from kanon.access.roles import ANALYST
from kanon.ui import format, pickers
from reports import views
from tests.app.support import published_home, release_of
from tests.browser.support import BASE_PATH_PROBE, CHROMIUM, CHROMIUM_ARGS, IDLE, dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.alone, pytest.mark.timeout(600)]

VISITORS = 20
SECONDS = 30  # each visitor keeps working this long (bounded: it then stops by itself)
MEMORY_LIMIT_MB = 1024  # the dashboard process, as the benchmark's bound
PASSWORD = "correct horse battery"
Outcome = tuple[int, int, list[str]]  # changes made, clicks made again, problems seen
ATTEMPTS = 4  # clicks per change before a visitor gives up (see `until`)
STEP_MS = 20_000  # how long a visitor waits for a click's effect before clicking again
ROUTE = [("Overview", "Last 7 days", "Day"), ("Sources", "Last 90 days", "Week"),
         ("Technology", "Last 12 months", "Month"), ("Countries", "Last 28 days", "Week"),
         ("Engagement", "Last 90 days", "Day")]  # fmt: skip


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    home = published_home(request.config, tmp_path_factory.mktemp("load-home"))
    accounts = Accounts(home / "accounts.sqlite")
    for n in range(VISITORS):
        accounts.add_local(f"visitor{n}", [ANALYST], PASSWORD)
    with dashboard(home) as url:
        yield url, home


def showing(home: Path) -> dict[tuple[str, str], str]:
    """The caption each (range, grain) of the route must show: the page's own words."""
    release = release_of(home)
    last = pickers.last_settled(release)
    expected = {}
    for _, preset, grain in ROUTE:
        first, end = pickers._preset_range(preset, last)
        selection = views.select(release, grain.lower(), first, end)
        expected[(preset, grain)] = format.showing(selection)
    return expected


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


async def settle(page) -> None:
    await page.wait_for_timeout(300)
    await page.wait_for_selector(IDLE, timeout=90_000)


async def until(page, act, shown, attempts: int = ATTEMPTS) -> int:
    """`act` until `shown` passes; the extra attempts it took.

    With twenty browsers on two cores, a click can land while its page is being redrawn and be
    lost (the element it hit is replaced); a person then clicks again, and so does a visitor.
    What each visitor finally sees is checked separately, without retries.
    """
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts - 1):
        try:
            await act()
            await shown()
            return attempt
        except (AssertionError, PlaywrightTimeout):
            await page.keyboard.press("Escape")  # a list left open by a lost click
            await settle(page)
    await act()  # the last attempt: a failure here fails the visitor
    await shown()
    return attempts - 1


async def sign_in(page, n: int) -> int:
    """Sign in as visitor `n` (through /auth/session for the cookie, and back); the extra
    attempts it took. As with a click, Enter can land while the form is being redrawn and be
    lost; a person then signs in again. A sign-in that never comes fails the visitor."""
    from playwright.async_api import Error as PlaywrightError

    signed_in = page.get_by_role("button", name="Sign out")
    for attempt in range(ATTEMPTS):
        try:
            await page.get_by_label("Username").fill(f"visitor{n}", timeout=STEP_MS)
            await page.get_by_label("Password", exact=True).fill(PASSWORD, timeout=STEP_MS)
            await page.get_by_label("Password", exact=True).press("Enter", timeout=STEP_MS)
            await signed_in.wait_for(timeout=90_000)  # waits across the cookie's navigation
            return attempt
        except PlaywrightError:  # a lost key press, or a form replaced under the typing
            if await signed_in.count():
                return attempt
            await settle(page)
    shown = (await page.locator("body").inner_text())[:300]
    raise AssertionError(f"visitor{n} could not sign in; the page shows: {shown}")


async def visitor(browser, url: str, n: int, seconds: float, expected: dict) -> Outcome:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(120_000)  # twenty browsers share two cores
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not BASE_PATH_PROBE.search(m.location.get("url", ""))
            and problems.append(f"console: {m.text}")
        ),
    )
    await asyncio.sleep(n * 0.5)  # people arrive one after another, not in one instant
    await page.goto(url)
    await settle(page)
    again = await sign_in(page, n)
    await settle(page)
    deadline = time.monotonic() + seconds  # each visitor works this long once signed in
    steps = 0
    sidebar = page.locator('[data-testid="stSidebar"]')
    selectbox = sidebar.locator('.st-key-range_preset [data-testid="stSelectbox"]')
    while time.monotonic() < deadline:
        title, preset, grain = ROUTE[(n + steps) % len(ROUTE)]
        again += await until(
            page,
            lambda title=title: page.get_by_role("link", name=title, exact=True).click(),
            lambda title=title: expect(page.locator("h1").first).to_have_text(
                title, timeout=STEP_MS
            ),
        )
        await settle(page)

        async def pick(preset=preset):
            await selectbox.click()
            await page.get_by_role("option", name=preset, exact=True).click(timeout=STEP_MS)

        again += await until(
            page,
            pick,
            lambda preset=preset: expect(selectbox.get_by_role("combobox")).to_have_value(
                preset, timeout=STEP_MS
            ),
        )
        await settle(page)
        radio = sidebar.get_by_role("radio", name=grain)
        again += await until(
            page,
            lambda grain=grain: sidebar.get_by_text(grain, exact=True).click(),
            lambda radio=radio: expect(radio).to_be_checked(timeout=STEP_MS),
        )
        await settle(page)
        try:  # this visitor's own choice, and nobody else's, once the rerun has drawn it
            await expect(page.locator("h1").first).to_have_text(title, timeout=60_000)
            await expect(page.get_by_text("Showing ").first).to_have_text(
                expected[(preset, grain)], timeout=60_000
            )
        except AssertionError as error:
            problems.append(f"visitor{n} chose {preset} by {grain} on {title}: {error}")
        steps += 1
    await context.close()
    return steps, again, problems


async def crowd(url: str, seconds: float, expected: dict) -> list[Outcome]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        results = await asyncio.gather(
            *(visitor(browser, url, n, seconds, expected) for n in range(VISITORS))
        )
        await browser.close()
    return results


def test_twenty_signed_in_visitors_at_once(server):
    url, home = server
    pid = int(Path(home / "streamlit.pid").read_text()) if (home / "streamlit.pid").exists() else 0
    peak = [0.0]

    async def watch(task: asyncio.Task) -> None:
        while not task.done():
            if pid:
                peak[0] = max(peak[0], resident_mb(pid))
            await asyncio.sleep(0.5)

    async def run() -> list[Outcome]:
        task = asyncio.ensure_future(crowd(url, SECONDS, showing(home)))
        await watch(task)
        return await task

    results = asyncio.run(run())
    problems = [problem for _, _, found in results for problem in found]
    assert problems == [], problems[:10]
    assert all(steps >= 1 for steps, _, _ in results), [steps for steps, _, _ in results]
    print(f"\n{VISITORS} visitors, {sum(s for s, _, _ in results)} page-and-range changes "
          f"({sum(a for _, a, _ in results)} clicks made again), "
          f"server peak {peak[0]:.0f} MB")  # fmt: skip
    assert pid and peak[0] < MEMORY_LIMIT_MB
