"""Starting the dashboard and Debian's Chromium for the browser tests (never a downloaded one)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kanon import i18n

ROOT = Path(__file__).resolve().parents[2]
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


def need_chromium() -> None:
    """Skip without Debian's chromium on a developer's machine; in CI (`CI` set, as `.ci/run`
    does) fail instead, so a browser suite that did not run never passes as green."""
    if CHROMIUM.exists():
        return
    message = "Debian's chromium is not installed at /usr/bin/chromium: apt-get install chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def dashboard(home: Path, *args: str, host: str = "127.0.0.1", **env: str) -> Iterator[str]:
    """`streamlit run app.py` over `home` on a free port; yields its address. It speaks English
    unless `KANON_DEFAULT_LANGUAGE` is given: the tests read the code's own language whatever
    language the machine's Chromium reports."""
    need_chromium()
    port = int(env.pop("PORT", 0)) or free_port()
    keep = {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}
    environment = {**keep, "KANON_HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}
    environment |= {"KANON_DEFAULT_LANGUAGE": "en", **env}
    log = (home / "streamlit.log").open("w")
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    process = subprocess.Popen(
        [*command, "--server.headless", "true", *args],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    (home / "streamlit.pid").write_text(str(process.pid))  # for memory readings
    url = f"http://{host}:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def settle(page) -> None:
    """Wait for the script run that the last action started to finish."""
    page.wait_for_timeout(300)  # let a rerun begin before waiting for it to end
    page.wait_for_selector(IDLE, timeout=30_000)


# Opened at a page's own address (/overview), Streamlit's frontend first looks for its server
# one folder down (/overview/_stcore/health and host-config), gets 404, then finds it at the
# root: its way of discovering a base path, not a fault of the page.
BASE_PATH_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


def console_errors(page, origin: str) -> list[str]:
    """The errors `page` logs while it shows Kanon at `origin` (not, say, an OIDC provider's)."""
    errors: list[str] = []

    def keep(text: str, url: str = "") -> None:
        if page.url.startswith(origin) and not BASE_PATH_PROBE.search(url):
            errors.append(f"{text} ({url or page.url})")

    page.on("console", lambda m: m.type == "error" and keep(m.text, m.location.get("url", "")))
    page.on("pageerror", lambda error: keep(str(error)))
    return errors


def sign_in(page, url: str, name: str, password: str, language: str = "en") -> None:
    """Open `url` and sign in there with a local account (the sign-in lands on that page), on
    a sign-in page in `language` (the browser's locale asks for it).

    A sign-in sends the browser to Kanon's /auth/session for its cookie and back: wait for that
    navigation, so the next step does not cut it short."""
    words = i18n.translations(language).gettext
    page.goto(url)
    settle(page)
    page.get_by_label(words("Username")).fill(name)
    page.get_by_label(words("Password"), exact=True).fill(password)
    with page.expect_navigation(timeout=30_000):
        page.get_by_label(words("Password"), exact=True).press("Enter")  # Enter submits it
    settle(page)


def sign_out(page) -> None:
    """Sign out, waiting for the browser's trip to /auth/signout (it clears the cookie)."""
    with page.expect_navigation(timeout=30_000):
        page.get_by_role("button", name="Sign out").click()
    settle(page)
