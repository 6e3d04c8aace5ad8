"""Sessions in Chromium: a local sign-in survives reloads, new tabs and deep links through an
HttpOnly cookie until sign-out; the idle timeout holds across a reload; a download clicked after
`kanon users disable` gets no file; forged or old cookies and a replayed ticket open nothing;
every response carries the security headers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanon.access import log
from kanon.access.accounts import Accounts
from kanon.access.roles import ANALYST, MANAGER
from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, settle, sign_in, sign_out

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
DEEP_LINK = "/sources?range=last-90-days&grain=week"
COOKIE = "kanon_session"


@pytest.fixture(scope="module")
def home(request, tmp_path_factory) -> Path:
    home = published_home(request.config, tmp_path_factory.mktemp("sessions-browser"))
    accounts = Accounts(home / "accounts.sqlite")
    accounts.add_local("ana", [ANALYST], PASSWORD)
    accounts.add_local("max", [MANAGER], PASSWORD)
    accounts.add_local("mia", [MANAGER], PASSWORD)
    return home


@pytest.fixture(scope="module")
def server(home) -> Iterator[str]:
    with dashboard(home) as url:
        yield url


def new_context(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)


def signed_in(page) -> bool:
    return page.get_by_role("button", name="Sign out").count() > 0


def on_sign_in_page(page) -> bool:
    return page.get_by_role("button", name="Sign in", exact=True).count() > 0


def session_cookie(context_) -> dict | None:
    return next((c for c in context_.cookies() if c["name"] == COOKIE), None)


def test_a_sign_in_survives_reloads_new_tabs_and_deep_links_until_sign_out(server, browser, home):
    from playwright.sync_api import expect

    context_ = new_context(browser)
    page = context_.new_page()
    errors = console_errors(page, server)
    sign_in(page, server, "ana", PASSWORD)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    cookie = session_cookie(context_)
    assert cookie is not None
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http here; https gets Secure
    assert cookie["value"] not in page.content()  # the page never sees the token
    signed = log.entries(home / "access.log", who="ana", action=log.SIGN_IN)
    assert signed[-1]["address"] == "127.0.0.1"  # the peer's, known even on loopback

    page.reload()
    settle(page)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    assert signed_in(page)

    tab = context_.new_page()
    tab_errors = console_errors(tab, server)
    tab.goto(server + DEEP_LINK)
    settle(tab)
    expect(tab.get_by_role("heading", name="Sources", exact=True)).to_be_visible()
    expect(tab.get_by_text("whole weeks").first).to_be_visible()
    assert "range=last-90-days" in tab.url and "grain=week" in tab.url
    assert signed_in(tab) and not on_sign_in_page(tab)

    sign_out(tab)
    expect(tab.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert session_cookie(context_) is None
    page.reload()
    settle(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert errors == [] and tab_errors == []
    context_.close()


def test_a_deep_link_from_a_colleague_opens_signed_in_and_after_sign_in(server, browser):
    from playwright.sync_api import expect

    context_ = new_context(browser)
    page = context_.new_page()
    sign_in(page, server + DEEP_LINK, "ana", PASSWORD)  # not signed in yet: lands there after
    expect(page.get_by_role("heading", name="Sources", exact=True)).to_be_visible()
    assert "grain=week" in page.url
    page.goto(server + "/pages?grain=month")
    settle(page)
    expect(page.get_by_role("heading", name="Pages", exact=True)).to_be_visible()
    assert signed_in(page)
    context_.close()


def test_forged_and_old_cookies_and_a_replayed_ticket_open_nothing(server, browser):
    from playwright.sync_api import expect

    host = server.split("//", 1)[1].split(":")[0]
    forged = new_context(browser)
    forged.add_cookies([{"name": COOKIE, "value": "forged-token", "domain": host, "path": "/"}])
    page = forged.new_page()
    page.goto(server)
    settle(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    forged.close()

    context_ = new_context(browser)
    page = context_.new_page()
    tickets: list[str] = []
    page.on("request", lambda r: "/auth/session?ticket=" in r.url and tickets.append(r.url))
    sign_in(page, server, "ana", PASSWORD)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    assert len(tickets) == 1
    old = session_cookie(context_)
    sign_out(page)
    context_.close()

    for attempt in ("old cookie", "replayed ticket"):
        other = new_context(browser)
        if attempt == "old cookie":
            other.add_cookies([{**old}])
        page = other.new_page()
        page.goto(tickets[0] if attempt == "replayed ticket" else server)
        settle(page)
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        assert page.locator('[data-testid="stMetric"]').count() == 0, attempt
        if attempt == "replayed ticket":
            assert session_cookie(other) is None
        other.close()


def test_a_ticket_sent_as_a_link_signs_nobody_in(server, browser):
    """Login CSRF as an attacker would try it: sign in, keep the ticket instead of following
    it, and put it in a link on another page; the victim who clicks gets no session."""
    from playwright.sync_api import expect

    attacker = new_context(browser)
    page = attacker.new_page()
    kept: list[str] = []
    page.route("**/auth/session?ticket=*", lambda r: (kept.append(r.request.url), r.abort()))
    page.goto(server)
    settle(page)
    page.get_by_label("Username").fill("max")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password", exact=True).press("Enter")
    page.wait_for_timeout(500)
    for _ in range(60):
        if kept:
            break
        page.wait_for_timeout(250)
    attacker.close()
    assert kept, "the sign-in page never sent the browser for its cookie"

    victim = new_context(browser)
    page = victim.new_page()
    page.set_content(f'<a href="{kept[0]}">the quarter in one chart</a>')  # another site's page
    page.get_by_role("link").click()
    page.wait_for_url(f"{server}/**")
    settle(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert session_cookie(victim) is None and not signed_in(page)
    victim.close()


def test_the_idle_timeout_ends_a_session_even_after_a_reload(server, browser, home):
    from playwright.sync_api import expect

    context_ = new_context(browser)
    page = context_.new_page()
    sign_in(page, server, "ana", PASSWORD)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    with sqlite3.connect(home / "accounts.sqlite") as con:  # 31 minutes without activity
        con.execute(
            "UPDATE sessions SET last_seen = ? WHERE account = 'ana'", (time.time() - 31 * 60,)
        )
    page.reload()
    settle(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_text("You were signed out after 30 minutes")).to_be_visible()
    page.reload()  # and it stays over
    settle(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    context_.close()


def test_a_download_clicked_after_kanon_users_disable_gets_no_file(server, browser, home):
    from playwright.sync_api import expect

    context_ = new_context(browser)
    page = context_.new_page()
    sign_in(page, server, "mia", PASSWORD)
    button = page.get_by_role("button", name="Download CSV").first
    expect(button).to_be_visible()  # the page is drawn with the button

    kanon = Path(sys.executable).with_name("kanon")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}
    env["KANON_HOME"] = str(home)
    subprocess.run([str(kanon), "users", "disable", "mia"], env=env, check=True, timeout=60)

    downloads = []
    page.on("download", lambda download: downloads.append(download))
    button.click()
    expect(page.get_by_text("No file:").first).to_be_visible(timeout=15_000)
    page.wait_for_timeout(1000)
    assert downloads == []
    entries = log.entries(home / "access.log", who="mia")
    refused = [e for e in entries if e["action"] == "refused"]
    assert refused and refused[-1]["report"] == "overview"
    assert not [e for e in entries if e["action"] == log.DOWNLOAD]
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    context_.close()


def test_a_download_still_works_for_a_manager_in_good_standing(server, browser, home):
    from playwright.sync_api import expect

    context_ = new_context(browser)
    page = context_.new_page()
    sign_in(page, server, "max", PASSWORD)
    page.reload()  # through the cookie, not the tab's own copy of the token
    settle(page)
    button = page.get_by_role("button", name="Download CSV").first
    expect(button).to_be_visible()
    with page.expect_download(timeout=30_000) as caught:
        button.click()
    payload = Path(caught.value.path()).read_bytes()
    assert payload.startswith("\ufeffkanon_provenance".encode())
    context_.close()


def test_every_response_carries_the_security_headers(server):
    for path in ("/", "/overview", "/_stcore/health", "/auth/session?ticket=x", "/auth/signout"):
        request = urllib.request.Request(server + path)
        opener = urllib.request.build_opener(NoRedirect)
        with opener.open(request, timeout=10) as response:
            headers = response.headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_303(self, request, response, code, message, headers):
        return response
