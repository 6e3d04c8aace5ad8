"""Who can receive: `kanon users set-email` for local accounts, and the subscriptions' CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kanon.access.accounts import Accounts
from kanon.cli import main
from tests.summaries.conftest import PASSWORD


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("KANON_SETTINGS", "KANON_DEVELOPER_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    accounts = Accounts(tmp_path / "home" / "accounts.sqlite")
    accounts.add_local("ana", ["analyst"], PASSWORD)
    accounts.add_oidc("max@example.com", ["manager"])
    return tmp_path / "home"


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_local_account_gets_an_address_and_the_list_shows_it(home, capsys):
    assert main(["users", "set-email", "ana", "Ana@Example.com"]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--json"]) == 0
    emails = {row["name"]: row["email"] for row in lines(capsys)}
    assert emails == {"ana": "ana@example.com", "max@example.com": "max@example.com"}


@pytest.mark.parametrize(
    ("name", "email", "says"),
    [
        ("ana", "not an address", "is not an e-mail address"),
        ("ana", "a@" + "b" * 260 + ".no", "is not an e-mail address"),
        ("max@example.com", "other@example.com", "its name is its e-mail"),
        ("nobody", "n@example.com", "There is no account"),
    ],
)
def test_set_email_refuses_what_cannot_be_an_address_saying_why(home, capsys, name, email, says):
    assert main(["users", "set-email", name, email]) != 0
    assert says in capsys.readouterr().err


def test_subscribe_list_and_unsubscribe(home, capsys):
    assert main(["summaries", "subscribe", "ana", "--weekly"]) == 0
    assert "stopped: the account has no e-mail address" in capsys.readouterr().out
    assert main(["summaries", "subscribe", "max@example.com", "--monthly"]) == 0
    assert main(["summaries", "subscribe", "nobody", "--monthly"]) != 0
    capsys.readouterr()
    assert main(["summaries", "list", "--json"]) == 0
    assert {(row["account"], row["cadence"], row["state"]) for row in lines(capsys)} == {
        ("ana", "weekly", "stopped: the account has no e-mail address (`kanon users set-email`)"),
        ("max@example.com", "monthly", "active"),
    }
    assert main(["summaries", "unsubscribe", "max@example.com"]) == 0
    assert "ended: monthly" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse: a cadence is required to subscribe
        main(["summaries", "subscribe", "ana"])
    assert main(["summaries", "send"]) == 2  # only what is due is ever sent
    assert "--due" in capsys.readouterr().err


def test_purge_forgets_sends_of_periods_before_the_retention_window(home, capsys):
    from datetime import date

    from kanon.summaries import records

    path = home / "accounts.sqlite"
    for period in (date(2020, 1, 6), date.today().replace(day=1)):
        records.mark_sending(path, "ana", "weekly", period)
        records.mark_sent(path, "ana", "weekly", period)
    assert main(["purge"]) == 0
    assert "summaries: forgot 1 sends" in capsys.readouterr().out
    assert [send.period for send in records.sends(path)] == [date.today().replace(day=1)]
