"""Sending what is due against a real SMTP server on loopback: retries after an unreachable
server or a crash, who stops receiving, and the settings that must be right first."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kanon import doctor
from kanon.access.accounts import Accounts
from kanon.cli import main
from kanon.settings import SettingsError, load_settings
from kanon.store.duckdb_store import Store
from kanon.store.releases import current
from kanon.summaries import records
from kanon.summaries.delivery import failed_sends, plan, send_due, standings
from kanon.summaries.schedule import first_eligible
from tests.summaries.conftest import PASSWORD
from tests.summaries.mail_server import HOST, Server, free_port


def use(monkeypatch: pytest.MonkeyPatch, home: Path, env: dict[str, str]) -> None:
    for name in ("KANON_SETTINGS", "KANON_K", "KANON_SMTP_PASSWORD", "KANON_DEVELOPER_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(home.parent)  # no kanon.toml or secrets.toml from elsewhere
    for name, value in {"KANON_HOME": str(home), **env}.items():
        monkeypatch.setenv(name, value)


def analyst(home: Path, name: str = "ana") -> None:
    accounts = Accounts(home / "accounts.sqlite")
    accounts.add_local(name, ["analyst"], PASSWORD)
    accounts.set_email(name, f"{name}@example.com")
    records.subscribe(home / "accounts.sqlite", name, "weekly")


def test_an_unreachable_server_leaves_the_summary_due_and_a_later_run_sends_it(
    own_home: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst(own_home)
    use(monkeypatch, own_home, {**server.settings(), "KANON_SMTP_PORT": str(free_port())})
    outcome = send_due(load_settings(), say=lambda line: None)
    assert [item.account for item, _ in outcome.failed] == ["ana"] and not outcome.sent
    (failed,) = failed_sends(load_settings())
    assert failed.state == records.FAILED and "Connection refused" in (failed.error or "")
    (finding,) = [f for f in doctor.examine() if f.check == "summaries"]
    assert finding.level == doctor.WARNING and "ana" in finding.what and "1 summar" in finding.what

    use(monkeypatch, own_home, server.settings())
    outcome = send_due(load_settings(), say=lambda line: None)
    assert [(item.account, item.retry) for item in outcome.sent] == [("ana", True)]
    assert server.inbox.recipients() == ["ana@example.com"]
    assert failed_sends(load_settings()) == []
    assert [f.level for f in doctor.examine() if f.check == "summaries"] == [doctor.OK]
    assert not send_due(load_settings(), say=lambda line: None).sent


def test_a_crash_between_the_server_accepting_and_the_record_sends_it_again(
    own_home: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst(own_home)
    use(monkeypatch, own_home, server.settings())

    def killed(*args: object) -> None:
        raise KeyboardInterrupt  # the process dies after the server took the message

    with monkeypatch.context() as crash:
        crash.setattr(records, "mark_sent", killed)
        with pytest.raises(KeyboardInterrupt):
            send_due(load_settings(), say=lambda line: None)
    (cut_short,) = failed_sends(load_settings())
    assert cut_short.state == records.SENDING

    outcome = send_due(load_settings(), say=lambda line: None)
    assert [item.retry for item in outcome.sent] == [True]
    first, second = server.inbox.to("ana@example.com")  # a duplicate, never a loss
    assert first["Message-ID"] == second["Message-ID"]  # a mail client can tell
    assert not send_due(load_settings(), say=lambda line: None).sent


def test_removing_and_adding_an_account_again_stops_its_summaries(
    own_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst(own_home)
    use(monkeypatch, own_home, {})
    settings = load_settings()
    release = current(Store(settings.store_path))
    assert release is not None
    assert [item.account for item in plan(settings, release)] == ["ana"]
    accounts = Accounts(settings.accounts_path)
    accounts.remove("ana")
    accounts.add_local("ana", ["analyst"], PASSWORD)
    accounts.set_email("ana", "ana@example.com")
    assert plan(settings, release) == []
    [(_, state)] = standings(settings)
    assert state == "stopped: the account was removed"


def test_a_subscription_brings_no_period_older_than_the_last_one_when_it_was_made(
    own_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst(own_home)
    use(monkeypatch, own_home, {})
    settings = load_settings()
    release = current(Store(settings.store_path))
    assert release is not None
    later = datetime.now(UTC) + timedelta(days=8)  # the release's last week is older by then
    with sqlite3.connect(settings.accounts_path) as con:
        con.execute("UPDATE summary_subscriptions SET subscribed_at = ?", (later.timestamp(),))
    assert plan(settings, release) == []


def test_the_first_period_a_subscription_brings() -> None:
    # With three days for GA4 to settle, a subscription made on Thursday 10 December 2026 sees
    # Monday the 7th settled: the last whole week is 30 November to 6 December. On Tuesday the
    # 8th, Saturday the 5th is the last settled day: that week is not whole yet.
    assert first_eligible("weekly", date(2026, 12, 10), 3) == date(2026, 11, 30)
    assert first_eligible("weekly", date(2026, 12, 9), 3) == date(2026, 11, 30)
    assert first_eligible("weekly", date(2026, 12, 8), 3) == date(2026, 11, 23)
    assert first_eligible("monthly", date(2026, 12, 3), 3) == date(2026, 11, 1)
    assert first_eligible("monthly", date(2026, 12, 2), 3) == date(2026, 10, 1)


def test_without_smtp_settings_send_says_so_and_exits_2(
    own_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, own_home, {})
    assert main(["summaries", "send", "--due"]) == 2
    assert "No SMTP settings: set smtp_host and smtp_from" in capsys.readouterr().err


def test_unencrypted_mail_only_to_a_loopback_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(smtp_host=HOST, smtp_security="none").smtp_port_or_default == 25
    assert load_settings(smtp_host="::1", smtp_security="none")
    with pytest.raises(SettingsError, match="smtp_security.*only to a loopback"):
        load_settings(smtp_host="mail.example.com", smtp_security="none")


def test_the_password_may_come_from_streamlit_secrets(
    own_home: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst(own_home)
    env = server.settings()
    password = env.pop("KANON_SMTP_PASSWORD")
    use(monkeypatch, own_home, env)
    secrets = own_home.parent / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(f'[smtp]\npassword = "{password}"\n')
    assert [item.account for item in send_due(load_settings(), say=lambda line: None).sent] == [
        "ana"
    ]


def test_a_server_whose_certificate_is_not_trusted_gets_nothing(
    own_home: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst(own_home)
    env = server.settings()
    del env["SSL_CERT_FILE"]
    use(monkeypatch, own_home, env)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    outcome = send_due(load_settings(), say=lambda line: None)
    [(_, reason)] = outcome.failed
    assert "SSLCertVerificationError" in reason and server.inbox.received == []
