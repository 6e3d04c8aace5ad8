"""One headless Debian Chromium per browser test module."""

from __future__ import annotations

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, need_chromium


@pytest.fixture(scope="module")
def browser():
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    # Playwright's 5 s default is shorter than a page run on a loaded two-core CI machine; a
    # real fault still fails, only later.
    expect.set_options(timeout=20_000)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
