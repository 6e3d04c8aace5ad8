"""`kanon check-property` and `kanon dsr` end to end, against the Admin API and Hotjar fakes."""

from __future__ import annotations

import json

import pytest

from kanon.access.accounts import Accounts
from kanon.cli import main
from kanon.policy import request_log
from kanon.policy.property_check import load_report


@pytest.fixture
def env(monkeypatch, tmp_path, emulator, key_path, hotjar):
    """Settings as an administrator would export them, aimed at the fakes."""
    values = {
        "KANON_HOME": str(tmp_path / "home"),
        "KANON_GA4_PROPERTY": emulator.property_id,
        "KANON_GA4_ENDPOINT": emulator.endpoint,
        "KANON_GA4_MAX_RETRIES": "2",
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_path),
        "KANON_HOTJAR_API_URL": hotjar.url,
        "KANON_HOTJAR_ORG_ID": hotjar.data.org_id,
        "KANON_HOTJAR_CLIENT_ID": hotjar.data.client_id,
        "KANON_HOTJAR_CLIENT_SECRET": hotjar.data.client_secret,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "home"


def ana_holds_a_kanon_role(home) -> None:
    """The person with access in GA4 is on Kanon's allow-list as an OpenID Connect analyst."""
    Accounts(home / "accounts.sqlite").add_oidc("ana@example.com", ["analyst"])


def test_check_property_passes_a_compliant_property(env, capsys):
    ana_holds_a_kanon_role(env)
    assert main(["check-property"]) == 0
    out = capsys.readouterr().out
    assert "Result: OK" in out and "FAIL" not in out
    saved = load_report(env / "policy" / "last_check.json")
    assert saved is not None and saved.exit_code == 0


def test_check_property_names_each_broken_promise(env, admin, capsys):
    ana_holds_a_kanon_role(env)
    admin.violate_everything()
    assert main(["check-property"]) == 1
    out = capsys.readouterr().out
    for check in ("retention", "google_signals", "data_sharing", "user_provided_data"):
        assert f"FAIL  {check}:" in out
    assert "FAIL  data_redaction:" in out and "Result: NOT OK" in out


def test_check_property_lists_a_ga4_user_without_a_kanon_role(env, capsys):
    assert main(["check-property", "--json"]) == 0  # a warning: the exit code stays 0
    report = json.loads(capsys.readouterr().out)
    [access] = [f for f in report["findings"] if f["check"] == "access"]
    assert access["status"] == "warn"
    assert access["details"] == [{"email": "ana@example.com", "ga4_roles": ["analyst"]}]
    assert report["exit_code"] == 0


def test_check_property_that_cannot_run_exits_3(env, monkeypatch, capsys):
    monkeypatch.delenv("KANON_GA4_PROPERTY")
    assert main(["check-property"]) == 3
    assert "KANON_GA4_PROPERTY" in capsys.readouterr().err


def test_dsr_delete_by_email_after_confirmation(env, admin, hotjar, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt: "delete")
    assert main(["dsr", "delete", "--email", "person@example.com"]) == 0
    out = capsys.readouterr().out
    assert "hotjar DONE" in out.replace("  ", " ") and "deletionRequestTime" in out
    assert hotjar.deleted and admin.deletions[0]["userProvidedData"] == "person@example.com"
    log = (env / "policy" / request_log.LOG_NAME).read_text(encoding="utf-8")
    assert log.count("\n") == 1 and "person@example.com" not in log
    assert main(["dsr", "log"]) == 0
    listed = capsys.readouterr().out
    assert "delete" in listed and "hmac-sha256:" in listed and "person@" not in listed


def test_dsr_delete_refused_at_the_prompt_deletes_nothing(env, admin, hotjar, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert main(["dsr", "delete", "--email", "person@example.com"]) == 2
    assert not hotjar.deleted and not admin.deletions
    assert "Nothing was deleted" in capsys.readouterr().err


def test_dsr_delete_with_yes_does_not_ask(env, admin, monkeypatch, capsys):
    def no_prompt(prompt: str) -> str:
        raise AssertionError("asked although --yes was given")

    monkeypatch.setattr("builtins.input", no_prompt)
    assert main(["dsr", "delete", "--client-id", "123.456", "--yes"]) == 0
    assert admin.deletions[0]["clientId"] == "123.456"


def test_dsr_uses_its_own_key_when_set(env, admin, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KANON_DSR_CREDENTIALS", str(tmp_path / "missing.json"))
    assert main(["dsr", "delete", "--client-id", "1.2", "--yes"]) == 1
    assert "missing.json" in capsys.readouterr().out and not admin.deletions


def test_dsr_lookup_without_hotjar_settings_says_so(env, monkeypatch, capsys):
    monkeypatch.delenv("KANON_HOTJAR_CLIENT_SECRET")
    assert main(["dsr", "lookup", "--email", "person@example.com"]) == 3
    assert "KANON_HOTJAR_CLIENT_SECRET" in capsys.readouterr().out


def test_hotjar_key_from_the_secrets_table(env, monkeypatch, tmp_path, hotjar, capsys):
    monkeypatch.delenv("KANON_HOTJAR_CLIENT_ID")
    monkeypatch.delenv("KANON_HOTJAR_CLIENT_SECRET")
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[hotjar]\nclient_id = "kanon-client"\nclient_secret = "kanon-secret"\n')
    assert main(["dsr", "lookup", "--email", "person@example.com"]) == 0
    assert hotjar.calls("/user-lookup")
