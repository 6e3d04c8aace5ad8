"""Sign-in in a real browser: local accounts, OpenID Connect against a local provider, sign-out,
and the first admin of a fresh install. Console errors in the page fail the test.

The provider is `oidc-provider-mock` on loopback; Kanon signs in through Streamlit's own
`st.login`, configured by a secrets file written for the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanon.access import setup
from kanon.access.accounts import Accounts
from kanon.access.roles import ADMIN, ANALYST, MANAGER
from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, free_port, settle, sign_out
from tests.browser.support import sign_in as signing_in

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
LISTED, UNLISTED = "oda@example.com", "eve@example.com"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=email, claims={"email": email, "email_verified": True})
             for email in (LISTED, UNLISTED)]  # fmt: skip
    with run_server_in_thread(port=free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, provider) -> Iterator[str]:
    """Kanon over a published release with local and OIDC accounts, and OIDC set up."""
    base = tmp_path_factory.mktemp("signin-browser")
    home = published_home(request.config, base / "home")
    accounts = Accounts(home / "accounts.sqlite")
    accounts.add_local("ana", [ANALYST], PASSWORD)
    accounts.add_local("max", [MANAGER], PASSWORD)
    accounts.add_oidc(LISTED, [ANALYST])
    accounts.add_local("ada", [ADMIN], PASSWORD)
    port = free_port()
    secrets = base / "secrets.toml"
    secrets.write_text(
        f"""[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "{"k" * 48}"

[auth.fjordlys]
client_id = "kanon"
client_secret = "kanon-test-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""",
        encoding="utf-8",
    )
    with dashboard(home, f"--secrets.files={secrets}", host="localhost", PORT=str(port)) as url:
        yield url


def new_page(browser, origin: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    return page, console_errors(page, origin)


def sign_in(page, url: str, name: str) -> None:
    signing_in(page, url, name, PASSWORD)


def test_local_accounts_sign_in_see_their_role_and_sign_out(server, browser):
    from playwright.sync_api import expect

    page, errors = new_page(browser, server)
    page.goto(server)
    settle(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with Fjordlys")).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0

    sign_in(page, server, "ana")
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    assert page.get_by_role("button", name="Download CSV").count() == 0
    sign_out(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0

    sign_in(page, server, "max")
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    assert errors == []
    page.close()


def test_a_wrong_password_is_refused(server, browser):
    from playwright.sync_api import expect

    page, errors = new_page(browser, server)
    page.goto(server)
    settle(page)
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    settle(page)
    expect(page.get_by_text("The name or password is wrong.")).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert errors == []
    page.close()


def oidc_sign_in(browser, server: str, email: str):
    page, errors = new_page(browser, server)
    page.goto(server)
    settle(page)
    page.get_by_role("button", name="Sign in with Fjordlys").click()
    page.get_by_role("button", name=email).click()  # the provider's page: a predefined user
    page.wait_for_url(f"{server}/**", timeout=30_000)
    settle(page)
    return page, errors


def test_a_listed_email_signs_in_through_openid_connect_and_out(server, browser):
    from playwright.sync_api import expect

    page, errors = oidc_sign_in(browser, server, LISTED)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(7)
    expect(page.get_by_text(f"Signed in: {LISTED}")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_timeout(1000)
    page.goto(server)
    settle(page)
    expect(page.get_by_role("button", name="Sign in with Fjordlys")).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert errors == []
    page.close()


def test_an_unlisted_email_sees_no_number(server, browser):
    from playwright.sync_api import expect

    page, errors = oidc_sign_in(browser, server, UNLISTED)
    expect(page.get_by_text("you have no access")).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
    assert errors == []
    page.close()


def test_the_first_admin_of_a_fresh_install(browser, tmp_path: Path):
    from playwright.sync_api import expect

    home = tmp_path / "fresh"
    home.mkdir()
    with dashboard(home) as url:
        page, errors = new_page(browser, url)
        page.goto(url)
        settle(page)
        expect(page.get_by_text("Set up Kanon")).to_be_visible()
        code = setup.code_path(home).read_text().strip()
        assert f"Kanon set-up code: {code}" in (home / "streamlit.log").read_text()
        page.get_by_label("Set-up code").fill(code)
        page.get_by_label("Admin name").fill("ada")
        page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        with page.expect_navigation(timeout=30_000):  # for the sign-in cookie, and back
            page.get_by_role("button", name="Create the first admin").click()
        settle(page)
        expect(page.get_by_role("link", name="Admin")).to_be_visible()
        assert not setup.code_path(home).exists()
        assert errors == []
        page.close()
    shutil.rmtree(home, ignore_errors=True)


def test_a_deep_link_opens_its_view_after_sign_in(server, browser):
    from playwright.sync_api import expect

    page, errors = new_page(browser, server)
    sign_in(page, f"{server}/sources?range=last-90-days&grain=week", "ana")
    expect(page.get_by_role("heading", name="Sources", exact=True)).to_be_visible()
    expect(page.get_by_text("whole weeks").first).to_be_visible()
    assert "range=last-90-days" in page.url and "grain=week" in page.url
    assert errors == []
    page.close()
