"""Sign-in, roles, sessions and the first admin, through the real app (no identity put in).

Each test gets its own KANON_HOME: a copy of the published release plus an accounts file.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kanon.access import log, setup
from kanon.access.accounts import Accounts
from kanon.access.roles import ADMIN, ANALYST, MANAGER
from kanon.access.throttle import ACCOUNT_LIMIT
from kanon.ui import context, downloads, format, navigation
from tests.app import support

PASSWORD = "correct horse battery"


def _environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in ("KANON_SETTINGS", "KANON_K", "KANON_DEVELOPER_MODE", "KANON_IDLE_TIMEOUT_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(home))
    monkeypatch.chdir(home.parent)


@pytest.fixture
def install(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The published release, ana (analyst), max (manager), ada (admin), and OIDC users."""
    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy(home / "kanon.duckdb", copy / "kanon.duckdb")
    accounts = Accounts(copy / "accounts.sqlite")
    accounts.add_local("ana", [ANALYST], PASSWORD)
    accounts.add_local("max", [MANAGER], PASSWORD)
    accounts.add_local("ada", [ADMIN], PASSWORD)
    accounts.add_oidc("oda@example.com", [ANALYST])
    _environment(monkeypatch, copy)
    return copy


def app() -> AppTest:
    return AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button(key="signin_submit").click().run()
    if support.redirects(at):  # signed in: the browser would fetch its cookie and come back
        at.run()
    return at


def identity_of(at: AppTest) -> context.Identity:
    token = at.session_state[context.TOKEN]
    account = context.gate(context.load_settings()).sessions.lookup(token).account
    return context.Identity(account.name, account.active_roles)


def shows_no_number(at: AppTest) -> bool:
    return (
        not at.metric
        and not at.dataframe
        and not support.figures(at)
        and not at.get("download_button")
    )


def test_an_anonymous_visitor_sees_a_sign_in_form_and_no_number(install):
    at = app().run()
    assert [t.value for t in at.title] == ["Sign in to Kanon"]
    assert [i.label for i in at.text_input] == ["Username", "Password"]
    assert at.button(key="signin_submit").label == "Sign in"
    assert shows_no_number(at) and not at.exception


def test_an_analyst_sees_charts_and_no_download(install):
    at = sign_in(app().run(), "ana")
    assert [t.value for t in at.title] == ["Overview"]
    assert len(at.metric) == 7 and support.figures(at)
    assert not at.get("download_button")
    assert any("ana" in c.value and "analyst" in c.value for c in at.sidebar.caption)
    assert "Admin" not in [page.title for page in navigation.allowed(identity_of(at))]
    admin = AppTest.from_file(str(support.ROOT / "kanon/ui/pages/admin.py"))  # reached directly
    admin.session_state[context.TOKEN] = at.session_state[context.TOKEN]
    admin.run(timeout=support.TIMEOUT)
    assert admin.error and not admin.button and not admin.metric


def test_a_manager_gets_the_download_and_it_is_logged(install):
    at = sign_in(app().run(), "max")
    assert at.get("download_button")
    settings = context.load_settings()
    identity = context.Identity("max", frozenset({MANAGER}))
    release = support.release_of(install)
    selection = support.default_selection(release)
    handle = at.session_state[context.LIVE]
    assert (handle.via, handle.who) == (context.PASSWORD, "max")
    assert downloads.csv_builder(
        settings, identity, release, "overview", selection, handle=handle
    )()
    actions = [entry["action"] for entry in log.read(install / "access.log")]
    assert actions[:2] == [log.SIGN_IN, log.VIEW] and log.DOWNLOAD in actions
    ana = sign_in(app().run(), "ana")
    analyst = context.Identity("ana", frozenset({ANALYST}))
    with pytest.raises(PermissionError):
        downloads.csv_builder(
            settings,
            analyst,
            release,
            "overview",
            selection,
            handle=ana.session_state[context.LIVE],
        )()


def test_only_an_admin_reaches_admin(install):
    at = sign_in(app().run(), "ada")
    assert [t.value for t in at.title] == ["Privacy"]  # admins: privacy, settings and sync
    at.switch_page("kanon/ui/pages/admin.py").run()
    assert [t.value for t in at.title] == ["Admin"] and at.button(key="sync_now")
    [accounts] = [d.value for d in at.dataframe if "Signs in with" in d.value.columns]
    names = set(accounts["Name"])
    assert {"ana", "max", "ada", "oda@example.com"} <= names


def test_a_wrong_password_says_only_that_and_grants_nothing(install):
    at = sign_in(app().run(), "ana", "not the password")
    assert [e.value for e in at.error] == ["The name or password is wrong."]
    at = sign_in(app().run(), "nobody-at-all", "not the password")
    assert [e.value for e in at.error] == ["The name or password is wrong."]
    assert shows_no_number(at)


def test_five_failures_make_the_account_wait(install):
    at = app().run()
    for _ in range(ACCOUNT_LIMIT):
        at = sign_in(at, "ana", "not the password")
    at = sign_in(at, "ana")  # the right password, too soon
    assert "Try again in" in at.error[0].value and shows_no_number(at)
    assert sign_in(app().run(), "max").metric  # another account is not held up


def test_tampered_session_state_and_query_parameters_grant_nothing(install):
    at = app()
    at.session_state[context.TOKEN] = "a forged token"
    at.session_state["roles"] = ["admin"]
    at.session_state["_kanon_identity"] = "ada"
    at.query_params["role"] = "admin"
    at.query_params["user"] = "ada"
    at.run()
    assert [t.value for t in at.title] == ["Sign in to Kanon"] and shows_no_number(at)


def test_an_idle_session_asks_to_sign_in_again(install, monkeypatch):
    monkeypatch.setenv("KANON_IDLE_TIMEOUT_MINUTES", "1")
    at = sign_in(app().run(), "ana")
    assert at.metric
    with sqlite3.connect(install / "accounts.sqlite") as con:
        con.execute("UPDATE sessions SET last_seen = ?", (time.time() - 120,))
    at.run()
    assert [t.value for t in at.title] == ["Sign in to Kanon"] and shows_no_number(at)
    assert "1 minutes without activity" in at.info[0].value
    assert [e["who"] for e in log.entries(install / "access.log", action=log.IDLE_TIMEOUT)] == [
        "ana"
    ]


def test_a_removed_or_disabled_account_loses_access_at_its_next_click(install):
    ana, max_ = sign_in(app().run(), "ana"), sign_in(app().run(), "max")
    assert ana.metric and max_.metric
    Accounts(install / "accounts.sqlite").remove("ana")
    Accounts(install / "accounts.sqlite").set_disabled("max", True)
    assert shows_no_number(ana.run()) and shows_no_number(max_.run())
    assert [t.value for t in ana.title] == ["Sign in to Kanon"]


def test_signing_out_ends_the_session(install):
    at = sign_in(app().run(), "ana")
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in to Kanon"] and shows_no_number(at)
    assert [e["action"] for e in log.read(install / "access.log")][-1] == log.SIGN_OUT


def oidc_user(email: str, verified: bool = True) -> dict:
    return {"is_logged_in": True, "email": email, "email_verified": verified}


def test_a_listed_oidc_user_signs_in_and_an_unlisted_one_is_told_whom_to_ask(install):
    at = app()
    at.user = oidc_user("Oda@Example.com")
    at.run()
    assert len(at.metric) == 7
    for user in (oidc_user("stranger@example.com"), oidc_user("oda@example.com", False),
                 oidc_user("ana")):  # fmt: skip
        at = app()
        at.user = user
        at.run()
        assert "no access" in at.warning[0].value and shows_no_number(at)


def test_an_unverified_email_is_refused_saying_why(install):
    at = app()
    at.user = oidc_user("oda@example.com", verified=False)
    at.run()
    assert format.plain("has not verified oda@example.com") in at.warning[0].value


def test_the_allowed_domain_keeps_other_domains_out(install, monkeypatch):
    monkeypatch.setenv("KANON_OIDC_ALLOWED_DOMAIN", "fjordlys.no")
    at = app()
    at.user = oidc_user("oda@example.com")
    at.run()
    assert format.plain("Only fjordlys.no addresses") in at.warning[0].value
    assert shows_no_number(at)


def test_the_first_admin_needs_the_console_code(tmp_path, monkeypatch, capfd):
    home = tmp_path / "fresh"
    _environment(monkeypatch, home)
    at = app().run()
    assert [t.value for t in at.title] == ["Set up Kanon"] and shows_no_number(at)
    code = setup.code_path(home).read_text().strip()
    assert f"Kanon set-up code: {code}" in capfd.readouterr().err
    fields = {"setup_code": "WRONG-CODE-0000", "setup_name": "ada", "setup_password": PASSWORD,
              "setup_again": PASSWORD}  # fmt: skip
    for key, value in fields.items():
        at.text_input(key=key).input(value)
    at.button[0].click().run()
    assert "not the set-up code" in at.error[0].value
    for key, value in {**fields, "setup_code": code}.items():
        at.text_input(key=key).input(value)
    at.button[0].click().run()
    assert "/auth/session?ticket=" in support.redirects(at)[0]  # for the cookie
    at.run()
    assert [t.value for t in at.title] == ["Privacy"]
    assert Accounts(home / "accounts.sqlite").get("ada").roles == {ADMIN}
    assert not setup.code_path(home).exists()


def test_developer_mode_refuses_a_release_from_ga4(install, monkeypatch):
    with support.duckdb.connect(str(install / "kanon.duckdb")) as con:
        con.execute("UPDATE releases SET source = 'ga4'")
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    at = app().run()
    assert "will not start in developer mode" in at.error[0].value and shows_no_number(at)


def test_the_access_log_download_makes_hostile_names_inert(install):
    from kanon.ui import people
    from reports.export import read_summary

    # Only text that could be an account name is logged as one: this one could (an email).
    sign_in(app().run(), '=HYPERLINK("http://evil")@x.no', "not the password")
    frame = people.log_frame(log.read(install / "access.log"))
    _, parsed = read_summary(people.log_csv(frame))
    tried = parsed.loc[parsed["action"] == log.SIGN_IN_FAILED, "who"].tolist()
    assert tried == ['\'=hyperlink("http://evil")@x.no']
