"""Sessions as the server keeps them: checked again at a download's click, idle and absolute
limits that a reload or someone else's sign-in cannot undo, the cookie's one-time ticket, and
the client address taken from a proxy only when that proxy is trusted."""

from __future__ import annotations

import sqlite3
import time

import pytest

from kanon.access import log
from kanon.access.accounts import Accounts
from kanon.access.sessions import (
    IDLE,
    LIFETIME,
    TICKET_SECONDS,
    Sessions,
    oidc_key,
    safe_next,
)
from kanon.settings import SettingsError, load_settings
from kanon.ui import context, downloads, server
from tests.app import support
from tests.app.test_signin import PASSWORD, app, install, oidc_user, shows_no_number, sign_in

__all__ = ["install"]  # the fixture, shared with test_signin.py


def _selection(home):
    release = support.release_of(home)
    return release, support.default_selection(release)


def _refusals(home) -> list[dict]:
    return log.entries(home / "access.log", action=downloads.REFUSED)


def _builders(settings, handle, release, selection):
    manager = context.Identity("max", frozenset({"manager"}))
    return [
        downloads.csv_builder(settings, manager, release, "overview", selection, handle=handle),
        downloads.csv_builder(
            settings, manager, release, "sources", selection, "excel-nb", handle=handle
        ),
        downloads.workbook_builder(settings, manager, release, selection, handle=handle),
    ]


def test_a_download_checks_the_session_again_at_its_click(install):
    at = sign_in(app().run(), "max")
    handle = at.session_state[context.LIVE]
    settings = context.load_settings()
    release, selection = _selection(install)
    assert all(build() for build in _builders(settings, handle, release, selection))

    Accounts(install / "accounts.sqlite").set_disabled("max", True)  # `kanon users disable`
    for build in _builders(settings, handle, release, selection):
        with pytest.raises(downloads.DownloadRefused):
            build()
    refused = _refusals(install)
    assert [(e["who"], e["report"]) for e in refused] == [
        ("max", "overview"),
        ("max", "sources"),
        ("max", downloads.WORKBOOK_REPORT),
    ]
    downloaded = log.entries(install / "access.log", action=log.DOWNLOAD)
    assert len(downloaded) == 3  # only the three before the account was disabled


def test_an_idle_or_too_old_session_gets_no_file(install, monkeypatch):
    monkeypatch.setenv("KANON_IDLE_TIMEOUT_MINUTES", "1")
    settings = context.load_settings()
    release, selection = _selection(install)
    for column, reason in (("last_seen", IDLE), ("created_at", LIFETIME)):
        at = sign_in(app().run(), "max")
        handle = at.session_state[context.LIVE]
        ago = 120 if column == "last_seen" else 13 * 3600
        with sqlite3.connect(install / "accounts.sqlite") as con:
            con.execute(f"UPDATE sessions SET {column} = {column} - ?", (ago,))
        with pytest.raises(downloads.DownloadRefused):
            downloads.csv_builder(settings, None, release, "overview", selection, handle=handle)()
        assert _refusals(install)[-1]["reason"] == reason


def test_a_role_taken_away_or_a_removed_account_gets_no_file(install):
    settings = context.load_settings()
    release, selection = _selection(install)
    at = sign_in(app().run(), "max")
    handle = at.session_state[context.LIVE]
    Accounts(install / "accounts.sqlite").set_roles("max", ["analyst"])
    with pytest.raises(downloads.DownloadRefused, match="roles no longer allow"):
        downloads.csv_builder(settings, None, release, "overview", selection, handle=handle)()
    Accounts(install / "accounts.sqlite").remove("max")
    with pytest.raises(downloads.DownloadRefused):
        downloads.csv_builder(settings, None, release, "overview", selection, handle=handle)()
    assert [e["reason"] for e in _refusals(install)] == ["role", "unknown"]


def test_a_forged_handle_gets_no_file(install):
    settings = context.load_settings()
    release, selection = _selection(install)
    for handle in (
        context.Handle(context.PASSWORD, "a forged token", "max"),
        context.Handle(context.OIDC_VIA, "0" * 64, "oda@example.com"),
        context.Handle(context.DEVELOPER, None, "developer@localhost"),  # developer mode is off
        context.Handle("", None, ""),
    ):
        with pytest.raises(downloads.DownloadRefused):
            downloads.csv_builder(settings, None, release, "overview", selection, handle=handle)()
    assert len(_refusals(install)) == 4 and not log.entries(
        install / "access.log", action=log.DOWNLOAD
    )


def test_the_access_log_download_checks_the_admin_at_its_click(install, monkeypatch):
    from kanon.ui import people

    offered = {}

    def spy(label, data, **options):
        offered[options["key"]] = data

    monkeypatch.setattr(people.st, "download_button", spy)
    at = sign_in(app().run(), "ada")
    at.switch_page("kanon/ui/pages/admin.py").run()
    assert not at.exception
    build = offered["download-access-log"]
    assert b"sign-in" in build()
    accounts = Accounts(install / "accounts.sqlite")
    accounts.add_local("grace", ["admin"], "another long password")  # the last admin stays
    accounts.set_disabled("ada", True)
    with pytest.raises(downloads.DownloadRefused):
        build()
    assert _refusals(install)[-1]["report"] == "access-log"


def test_a_refusal_is_told_to_the_page_that_drew_the_button(install, monkeypatch):
    drawn = []
    real = downloads.csv_builder

    def spy(*args, handle=None, **options):
        build = real(*args, handle=handle, **options)
        drawn.append((handle, build))
        return build

    monkeypatch.setattr(downloads, "csv_builder", spy)
    at = sign_in(app().run(), "max")
    ((handle, build),) = drawn
    assert handle.streamlit_session and handle.who == "max"
    Accounts(install / "accounts.sqlite").set_disabled("max", True)
    with pytest.raises(downloads.DownloadRefused):
        build()
    with context._TOLD_LOCK:
        assert context._TOLD[handle.streamlit_session].startswith("No file:")
    at.run()  # the page's next run says why, on the sign-in page
    assert any(e.value.startswith("No file:") for e in at.error)
    assert [t.value for t in at.title] == ["Sign in to Kanon"]


def test_an_idle_oidc_sign_in_stays_over_after_a_reload_and_others_signing_in(install, monkeypatch):
    monkeypatch.setenv("KANON_IDLE_TIMEOUT_MINUTES", "1")
    accounts = Accounts(install / "accounts.sqlite")
    accounts.add_oidc("ola@example.com", ["analyst"])
    oda = {**oidc_user("oda@example.com"), "iat": int(time.time()), "nonce": "n-1"}

    def visit(user: dict):
        at = app()
        at.user = user
        return at.run()

    assert len(visit(oda).metric) == 7
    with sqlite3.connect(install / "accounts.sqlite") as con:
        con.execute("UPDATE oidc_signins SET last_seen = last_seen - 120")
    at = visit(oda)  # a reload with the same identity cookie
    assert shows_no_number(at) and "1 minutes without activity" in at.info[0].value
    for _ in range(2):
        assert len(visit({**oidc_user("ola@example.com"), "nonce": "n-2"}).metric) == 7
        assert shows_no_number(visit(oda))  # still over: the record is kept, not purged
    idle = log.entries(install / "access.log", action=log.IDLE_TIMEOUT)
    assert [e["who"] for e in idle] == ["oda@example.com"]  # logged once
    fresh = {**oda, "iat": int(time.time()), "nonce": "n-3"}  # a new sign-in at the provider
    assert len(visit(fresh).metric) == 7


def test_an_oidc_sign_in_older_than_its_lifetime_is_over(install):
    old = {**oidc_user("oda@example.com"), "iat": int(time.time()) - 13 * 3600, "nonce": "x"}
    at = app()
    at.user = old
    at.run()
    assert shows_no_number(at) and "at most 12 hours" in at.info[0].value


def test_an_oidc_sign_out_cannot_be_revived_by_the_same_cookie(install):
    user = {**oidc_user("oda@example.com"), "iat": int(time.time()), "nonce": "n-9"}
    at = app()
    at.user = user
    at.run()
    at.sidebar.button(key="sign_out").click().run()
    again = app()
    again.user = user
    again.run()
    assert shows_no_number(again)


def test_a_ticket_sets_the_cookie_once_and_retires_the_token(install):
    sessions = Sessions(install / "accounts.sqlite", 1800)
    account = Accounts(install / "accounts.sqlite").get("ana")
    token = sessions.open(account)
    ticket = sessions.ticket(token, "/sources?range=last-90-days&grain=week")
    new_token, next_path = sessions.redeem(ticket)
    assert next_path == "/sources?range=last-90-days&grain=week"
    assert sessions.lookup(new_token).account.name == "ana"
    assert sessions.lookup(token).account is None  # the page's copy no longer works
    assert sessions.redeem(ticket) is None  # spent
    assert sessions.redeem("a forged ticket") is None and sessions.redeem(None) is None
    late = sessions.ticket(new_token, "/")
    assert sessions.redeem(late, now=time.time() + TICKET_SECONDS + 1) is None
    sessions.close(new_token)
    assert sessions.redeem(sessions.ticket(new_token, "/")) is None  # its session is over


def test_a_ticket_only_leads_back_to_kanon():
    for hostile in ("//evil.example/", "/\\evil.example", "https://evil.example/", "", None,
                    "/ok\r\nSet-Cookie: x=y"):  # fmt: skip
        assert safe_next(hostile) == "/"
    assert safe_next("/pages?grain=week") == "/pages?grain=week"


def test_signing_in_sends_the_browser_for_its_cookie(install):
    at = app().run()
    at.text_input(key="signin_name").input("ana")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button(key="signin_submit").click().run()
    (html,) = support.redirects(at)
    assert "/auth/session?ticket=" in html and PASSWORD not in html
    assert not at.metric  # nothing else is drawn: the browser leaves
    at.run()  # back (here without the cookie: this tab still holds the token)
    assert not support.redirects(at) and len(at.metric) == 7


def test_the_oidc_key_is_one_per_provider_sign_in():
    one = {"email": "oda@example.com", "iat": 1, "nonce": "a"}
    assert oidc_key(one) == oidc_key(dict(reversed(one.items())))
    assert oidc_key(one) != oidc_key({**one, "nonce": "b"})


def test_the_client_address_comes_from_a_proxy_only_when_it_is_trusted():
    trusted = server.networks(["127.0.0.1", "10.0.0.0/8"])
    assert server.client_address("203.0.113.9", ["198.51.100.1"], trusted) == "203.0.113.9"
    assert server.client_address("127.0.0.1", ["198.51.100.1"], []) == "127.0.0.1"
    # A client writes its own X-Forwarded-For; the trusted proxies append the real hops.
    spoofed = ["6.6.6.6, 198.51.100.7", "10.1.2.3"]
    assert server.client_address("127.0.0.1", spoofed, trusted) == "198.51.100.7"
    assert server.client_address("127.0.0.1", ["10.0.0.5"], trusted) == "10.0.0.5"
    assert server.client_address("127.0.0.1", [], trusted) == "127.0.0.1"
    assert server.client_address("127.0.0.1", ["garbage, 10.0.0.6"], trusted) == "10.0.0.6"
    assert server.client_address(None, [], trusted) is None


def test_trusted_proxies_and_the_lifetime_are_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("KANON_SETTINGS", "KANON_TRUSTED_PROXIES", "KANON_SESSION_LIFETIME_HOURS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.trusted_proxies == () and settings.session_lifetime_hours == 12
    monkeypatch.setenv("KANON_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    assert load_settings().trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    monkeypatch.setenv("KANON_TRUSTED_PROXIES", "localhost")
    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings()
    monkeypatch.delenv("KANON_TRUSTED_PROXIES")
    monkeypatch.setenv("KANON_SESSION_LIFETIME_HOURS", "0")
    with pytest.raises(SettingsError, match="session_lifetime_hours"):
        load_settings()


def test_a_loopback_server_without_trusted_proxies_warns_at_start_up(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANON_TRUSTED_PROXIES", raising=False)
    settings = load_settings()
    assert "trusted_proxies" in server.start_up_warnings(settings, "127.0.0.1")[0]
    assert server.start_up_warnings(settings, "192.0.2.10") == []
    monkeypatch.setenv("KANON_TRUSTED_PROXIES", "127.0.0.1")
    assert server.start_up_warnings(load_settings(), "127.0.0.1") == []


def _through(middleware_class, scope: dict, trusted: str = "") -> tuple[dict, list[dict]]:
    """One request through a middleware to a stand-in app; (the scope it saw, what it sent)."""
    import asyncio

    seen, sent = {}, []

    async def inner(scope, receive, send):
        seen.update(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware_class(inner)(scope, receive, send))
    return seen, sent


def test_the_middleware_replaces_a_client_address_the_browser_made_up(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KANON_HOME", str(tmp_path / "home"))
    made_up = (b"x-kanon-client-address", b"10.9.9.9")
    scope = {
        "type": "websocket",
        "client": ("203.0.113.5", 5555),
        "headers": [made_up, (b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-proto", b"https")],
    }
    monkeypatch.delenv("KANON_TRUSTED_PROXIES", raising=False)
    seen, _ = _through(server.ClientAddress, dict(scope))
    assert (b"x-kanon-client-address", b"203.0.113.5") in seen["headers"]
    assert made_up not in seen["headers"] and seen.get("scheme") != "wss"
    monkeypatch.setenv("KANON_TRUSTED_PROXIES", "203.0.113.0/24")
    seen, _ = _through(server.ClientAddress, dict(scope))
    assert (b"x-kanon-client-address", b"6.6.6.6") in seen["headers"]
    assert seen["scheme"] == "wss"  # the trusted proxy says the browser used https


def test_the_security_headers_are_added_to_every_response():
    _, sent = _through(server.SecurityHeaders, {"type": "http", "headers": []})
    headers = dict(sent[0]["headers"])
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"content-security-policy"] == b"frame-ancestors 'none'"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"referrer-policy"] == b"same-origin"


def _kanon_server():
    """Kanon's own routes and middleware on a bare Starlette app (Streamlit's pages aside)."""
    import warnings

    from starlette.applications import Starlette

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    app_ = Starlette(routes=server.routes(), middleware=server.middleware())
    own_page = {"Sec-Fetch-Site": "same-origin"}  # what the sign-in page's redirect sends
    return lambda headers=own_page, **options: TestClient(
        app_, follow_redirects=False, headers=headers, **options
    )


def test_the_cookie_route_sets_a_secure_cookie_only_over_https(install, monkeypatch):
    sessions = Sessions(install / "accounts.sqlite", 1800)
    token = sessions.open(Accounts(install / "accounts.sqlite").get("ana"))
    client = _kanon_server()
    plain = client(client=("192.0.2.7", 5000))
    answer = plain.get(f"/auth/session?ticket={sessions.ticket(token, '/pages?grain=week')}")
    assert answer.status_code == 303 and answer.headers["location"] == "/pages?grain=week"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("kanon_session=") and "HttpOnly" in cookie and "Path=/" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie and "Max-Age=43200" in cookie
    assert answer.headers["cache-control"] == "no-store"
    assert "set-cookie" not in plain.get(f"/auth/session?ticket={token}").headers  # not a ticket

    new_token = cookie.split(";")[0].split("=", 1)[1]
    monkeypatch.setenv("KANON_TRUSTED_PROXIES", "127.0.0.1")
    proxied = client(client=("127.0.0.1", 5000))
    answer = proxied.get(
        f"/auth/session?ticket={sessions.ticket(new_token, '/')}",
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in answer.headers["set-cookie"]
    other = sessions.open(Accounts(install / "accounts.sqlite").get("max"))
    spoofed = plain.get(  # the same header from a peer that is not a trusted proxy
        f"/auth/session?ticket={sessions.ticket(other, '/')}",
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" not in spoofed.headers["set-cookie"]
    retired = proxied.get(f"/auth/session?ticket={sessions.ticket(new_token, '/')}")
    assert "set-cookie" not in retired.headers  # that token was swapped for the last cookie


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},  # a link on another site
        {"Sec-Fetch-Site": "none"},  # typed, or opened from an e-mail
        {"Sec-Fetch-Site": "same-site"},  # another service on a sibling host
        {},  # an old browser, no Referer
        {"Referer": "https://attacker.example/page"},  # an old browser, another site
    ],
)
def test_a_ticket_followed_from_elsewhere_signs_nobody_in_and_is_spent(install, headers):
    """Login CSRF: someone signs in, keeps their own ticket and sends it as a link; whoever
    follows it must not end up signed in as them."""
    sessions = Sessions(install / "accounts.sqlite", 1800)
    token = sessions.open(Accounts(install / "accounts.sqlite").get("ana"))
    ticket = sessions.ticket(token, "/")
    answer = _kanon_server()(headers=headers, client=("192.0.2.7", 5000)).get(
        f"/auth/session?ticket={ticket}"
    )
    assert answer.status_code == 303 and "set-cookie" not in answer.headers
    assert sessions.redeem(ticket) is None  # spent: it cannot be tried again
    assert sessions.lookup(token).account is None  # and the session it named is nobody's


def test_an_old_browser_with_a_same_origin_referer_still_signs_in(install):
    sessions = Sessions(install / "accounts.sqlite", 1800)
    token = sessions.open(Accounts(install / "accounts.sqlite").get("ana"))
    client = _kanon_server()(headers={"Referer": "http://testserver/overview"})
    answer = client.get(f"/auth/session?ticket={sessions.ticket(token, '/')}")
    assert answer.headers["set-cookie"].startswith("kanon_session=")


def test_signout_clears_the_cookie_only_once_its_session_is_over(install):
    sessions = Sessions(install / "accounts.sqlite", 1800)
    token = sessions.open(Accounts(install / "accounts.sqlite").get("ana"))
    client = _kanon_server()(client=("192.0.2.7", 5000))
    client.cookies.set("kanon_session", token)
    assert "set-cookie" not in client.get("/auth/signout").headers  # a link cannot sign out
    sessions.close(token)
    assert 'kanon_session=""' in client.get("/auth/signout").headers["set-cookie"]


def test_safe_defaults_hold_when_started_from_another_folder(tmp_path):
    import subprocess
    import sys

    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import app; from streamlit import config; "
        "print(config.get_option('server.address'), config.get_option('client.showErrorDetails'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(support.ROOT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split()[-2:] == ["127.0.0.1", "none"], done.stderr[-2000:]
