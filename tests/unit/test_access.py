"""kanon/access/: the allow-list, passwords, sessions, throttling, the set-up code, OIDC rules."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from kanon.access import log, oidc, setup
from kanon.access.accounts import AccountError, password_problem
from kanon.access.gate import WRONG, Gate
from kanon.access.roles import ADMIN, ANALYST, MANAGER, RoleError
from kanon.access.sessions import Sessions
from kanon.access.throttle import (
    ACCOUNT_LIMIT,
    ADDRESS_DELAY,
    ADDRESS_LIMIT,
    FIRST_WAIT,
    WINDOW,
    Throttle,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def gate(tmp_path) -> Gate:
    return Gate(tmp_path / "accounts.sqlite", tmp_path / "access.log", tmp_path, 30 * 60)


def test_passwords_are_stored_only_as_argon2_hashes(gate):
    gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    with sqlite3.connect(gate.accounts_path) as con:
        (stored,) = con.execute("SELECT password_hash FROM accounts").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert PASSWORD.encode() not in gate.accounts_path.read_bytes()
    assert gate.accounts.verify_password("ANA", PASSWORD).roles == {ANALYST}
    assert gate.accounts.verify_password("ana", PASSWORD + "!") is None
    assert gate.accounts.verify_password("nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "password", "why"),
    [("ana", "short", "12 characters"), ("ana.nordmann1", "Ana.Nordmann1", "name")],
)
def test_weak_passwords_are_refused_saying_why(gate, name, password, why):
    assert why in password_problem(name, password)
    with pytest.raises(AccountError, match=why):
        gate.accounts.add_local(name, [ANALYST], password)
    assert gate.accounts.get(name) is None


def test_account_names_roles_and_kinds_are_checked(gate):
    with pytest.raises(AccountError, match="--oidc"):
        gate.accounts.add_local("ana@example.com", [ANALYST], PASSWORD)
    with pytest.raises(AccountError, match="not an email"):
        gate.accounts.add_oidc("ana", [ANALYST])
    with pytest.raises(RoleError):
        gate.accounts.set_roles(gate.accounts.add_oidc("a@b.no", []).name, ["root"])
    gate.accounts.add_oidc("max@example.com", [MANAGER])
    with pytest.raises(AccountError, match="already"):
        gate.accounts.add_oidc("MAX@example.com", [ANALYST])
    with pytest.raises(AccountError, match="OpenID Connect"):
        gate.accounts.reset_password("max@example.com", PASSWORD)
    # An OpenID Connect account has no password to sign in with.
    assert gate.sign_in("max@example.com", PASSWORD, None).token is None


def test_a_session_lasts_while_active_and_ends_when_idle(gate):
    account = gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    sessions = Sessions(gate.accounts_path, idle_seconds=60)
    token = sessions.open(account, now=1000.0)
    assert sessions.lookup(token, now=1050.0).account.name == "ana"
    assert sessions.lookup(token, now=1100.0).account is not None  # 50 s after the last use
    lookup = sessions.lookup(token, now=1200.0)
    assert lookup.account is None and lookup.expired and lookup.expired_for == "ana"
    assert sessions.lookup(token, now=1201.0) == sessions.lookup(None)  # gone for good
    assert sessions.lookup("a guessed token").account is None


def test_removing_or_disabling_an_account_ends_its_sessions(gate):
    ana = gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    max_ = gate.accounts.add_local("max", [MANAGER], PASSWORD)
    ana_token, max_token = gate.sessions.open(ana), gate.sessions.open(max_)
    gate.accounts.set_roles("max", [ANALYST])
    assert gate.sessions.lookup(max_token).account.roles == {ANALYST}  # read afresh each time
    gate.accounts.remove("ana")
    gate.accounts.set_disabled("max", True)
    assert gate.sessions.lookup(ana_token).account is None
    assert gate.sessions.lookup(max_token).account is None
    gate.accounts.set_disabled("max", False)
    assert gate.sessions.lookup(max_token).account is None  # a new sign-in is needed
    assert gate.sign_in("max", PASSWORD, None).token


def test_five_failures_make_the_account_wait_longer_each_time(tmp_path):
    throttle = Throttle(tmp_path / "accounts.sqlite")
    for attempt in range(ACCOUNT_LIMIT):
        assert throttle.wait("ana", "10.0.0.1", now=100.0 + attempt) == 0
        throttle.failed("ana", "10.0.0.1", now=100.0 + attempt)
    last = 100.0 + ACCOUNT_LIMIT - 1
    assert throttle.wait("ANA", "10.0.0.2", now=last + 1) == pytest.approx(FIRST_WAIT - 1)
    assert throttle.wait("bob", "10.0.0.2", now=last + 1) == 0  # other names go on
    throttle.failed("ana", "10.0.0.2", now=last + FIRST_WAIT)
    assert throttle.wait("ana", None, now=last + FIRST_WAIT) == pytest.approx(2 * FIRST_WAIT)
    assert throttle.wait("ana", None, now=last + FIRST_WAIT + WINDOW + 1) == 0  # the window


def test_one_address_trying_many_names_is_slowed_down_not_refused(tmp_path):
    throttle = Throttle(tmp_path / "accounts.sqlite")
    for attempt in range(ADDRESS_LIMIT):
        throttle.failed(f"name{attempt}", "10.0.0.9", now=100.0)
    assert throttle.wait("someone-new", "10.0.0.9", now=101.0) == 0  # shared addresses
    assert throttle.delay("10.0.0.9", now=101.0) == ADDRESS_DELAY
    assert throttle.delay("10.0.0.8", now=101.0) == 0


def test_sign_in_says_only_that_the_name_or_password_is_wrong_and_logs_no_password(gate):
    gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    assert gate.sign_in("ana", "wrong password!", "10.0.0.1").message == WRONG
    assert gate.sign_in("nobody", "wrong password!", "10.0.0.1").message == WRONG
    for _ in range(ACCOUNT_LIMIT):
        gate.sign_in("ana", "wrong password!", "10.0.0.1")
    refused = gate.sign_in("ana", PASSWORD, "10.0.0.1")  # right, but the account waits
    assert refused.token is None and "Try again in" in refused.message
    text = gate.log_path.read_text(encoding="utf-8")
    assert "wrong password!" not in text and PASSWORD not in text
    failed = log.entries(gate.log_path, action=log.SIGN_IN_FAILED)
    assert {entry["who"] for entry in failed} == {"ana", "nobody"}


def test_the_first_admin_needs_the_one_time_code(gate, tmp_path):
    code, made = setup.setup_code(tmp_path)
    assert made and setup.setup_code(tmp_path) == (code, False)
    assert stat.S_IMODE(setup.code_path(tmp_path).stat().st_mode) == 0o600
    assert gate.create_first_admin("AAAA-BBBB-CCCC", "ada", PASSWORD, None).token is None
    assert gate.create_first_admin(code, "ada", "short", None).token is None
    outcome = gate.create_first_admin(code.lower(), "ada", PASSWORD, None)
    assert outcome.token and gate.sessions.lookup(outcome.token).account.roles == {ADMIN}
    assert not setup.code_path(tmp_path).exists()
    assert gate.create_first_admin(code, "eve", PASSWORD, None).token is None


SECRET = "s" * oidc.MIN_COOKIE_SECRET
GOOGLE = {
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}


def test_oidc_providers_are_read_from_auth_and_a_weak_cookie_secret_stops_start_up():
    redirect = "http://localhost:8501/oauth2callback"
    assert oidc.providers(None) == []
    named = {"redirect_uri": redirect, "cookie_secret": SECRET, "google": GOOGLE}
    assert oidc.providers(named) == [oidc.Provider("google", "Google")]
    unnamed = {"redirect_uri": redirect, "cookie_secret": SECRET, **GOOGLE}
    assert oidc.providers(unnamed, "Fjordlys") == [oidc.Provider(None, "Fjordlys")]
    with pytest.raises(oidc.OidcConfigError, match="cookie_secret"):
        oidc.providers({**named, "cookie_secret": "short"})
    with pytest.raises(oidc.OidcConfigError, match="cookie_secret"):
        oidc.providers({key: value for key, value in named.items() if key != "cookie_secret"})
    with pytest.raises(oidc.OidcConfigError, match="redirect_uri"):
        oidc.providers({**named, "redirect_uri": "http://localhost:8501/"})
    with pytest.raises(oidc.OidcConfigError, match="client_secret"):
        oidc.providers({**named, "google": {**GOOGLE, "client_secret": ""}})


def test_oidc_users_need_a_verified_email_in_the_allowed_domain():
    ok = {"is_logged_in": True, "email": "ana@fjordlys.no", "email_verified": True}
    assert oidc.refusal(ok, None) is None
    assert oidc.refusal(ok, "fjordlys.no") is None
    assert "only" in oidc.refusal(ok, "example.com").lower()
    assert "verified" in oidc.refusal({**ok, "email_verified": False}, None)
    assert "verified" in oidc.refusal({**ok, "email_verified": "true"}, None)
    assert "email" in oidc.refusal({"is_logged_in": True}, None)
