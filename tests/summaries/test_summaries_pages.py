"""The dashboard's side of summaries (AppTest): an admin manages subscriptions on the Admin
page, each person turns their own off in the sidebar; both checked at the click."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanon.access import log
from kanon.access.accounts import Accounts
from kanon.access.roles import ADMIN, ANALYST, Identity
from kanon.summaries import records
from tests.app import support

ADA = Identity("ada@example.com", frozenset({ADMIN}))
ANA = Identity("ana@example.com", frozenset({ANALYST}))


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch, own_home: Path):
    """Run the dashboard over `own_home` as an identity with a real OpenID Connect sign-in."""
    for name in ("KANON_SETTINGS", "KANON_K", "KANON_DEVELOPER_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(own_home))
    monkeypatch.chdir(own_home.parent)

    def become(identity: Identity) -> None:
        handle = support.handle_for(own_home, identity)
        monkeypatch.setattr("kanon.ui.context.identity", lambda settings: identity)
        monkeypatch.setattr("kanon.ui.context.session_handle", lambda: handle)

    return become


def test_an_admin_subscribes_an_account_and_sees_failed_sends(signed_in, own_home: Path):
    signed_in(ADA)
    Accounts(own_home / "accounts.sqlite").add_oidc(ANA.email, [ANALYST])
    path = own_home / "accounts.sqlite"
    at = support.open_page("admin")
    at.selectbox(key="summary_account").set_value(ANA.email)
    at.selectbox(key="summary_cadence").set_value("monthly")
    at.radio(key="summary_action").set_value("subscribe")
    at.button(key="summary_apply").click().run()
    assert [(s.account, s.cadence) for s in records.subscriptions(path)] == [(ANA.email, "monthly")]
    table = next(frame.value for frame in at.dataframe if "Delivers" in frame.value.columns)
    assert list(table["Delivers"]) == ["active"]
    assert any(f"{ANA.email} gets the monthly summary" in s.value for s in at.success)
    (entry,) = log.entries(own_home / "access.log", action="summary-subscribe")
    assert (entry["who"], entry["account"]) == (ADA.email, ANA.email)

    records.mark_sending(path, ANA.email, "monthly", support.TODAY.replace(day=1))
    records.mark_failed(path, ANA.email, "monthly", support.TODAY.replace(day=1), "refused")
    at = support.open_page("admin")
    assert any("could not be sent" in w.value and "refused" in w.value for w in at.warning)


def test_a_role_taken_before_the_click_changes_nothing(signed_in, own_home: Path):
    signed_in(ADA)
    Accounts(own_home / "accounts.sqlite").add_oidc(ANA.email, [ANALYST])
    Accounts(own_home / "accounts.sqlite").add_oidc("root@example.com", [ADMIN])
    at = support.open_page("admin")
    at.selectbox(key="summary_account").set_value(ANA.email)
    signed_in(Identity(ADA.email, frozenset({ANALYST})))  # no longer an admin at the click
    at.button(key="summary_apply").click().run()
    assert records.subscriptions(own_home / "accounts.sqlite") == []
    assert "summary_apply" not in [button.key for button in at.button]  # the page is refused


def test_a_person_turns_their_own_summary_off(signed_in, own_home: Path):
    signed_in(ANA)
    path = own_home / "accounts.sqlite"
    records.subscribe(path, ANA.email, "weekly")
    at = support.open_page()
    at.button(key="stop_summary_weekly").click().run()
    assert records.subscriptions(path) == []
    (entry,) = log.entries(own_home / "access.log", action="summary-unsubscribe")
    assert entry["who"] == ANA.email
    assert "stop_summary_weekly" not in [b.key for b in at.button]


def test_a_signed_out_person_cannot_turn_it_off(signed_in, own_home: Path):
    signed_in(ANA)
    path = own_home / "accounts.sqlite"
    records.subscribe(path, ANA.email, "weekly")
    at = support.open_page()
    Accounts(path).set_disabled(ANA.email, True)  # ends the session on the server
    at.button(key="stop_summary_weekly").click().run()
    assert [s.account for s in records.subscriptions(path)] == [ANA.email]
