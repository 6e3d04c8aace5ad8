"""`kanon doctor`: a deliberately broken setting is named and exits 1; a ready home exits 0;
each problem is one line saying what to do; doctor reports and fixes nothing."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.sample import SampleConnector
from kanon import doctor
from kanon.access.accounts import Accounts
from kanon.private import make_private
from kanon.settings import load_settings
from kanon.sync import sync

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def kanon(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}
    environment.update(KANON_HOME=str(home), KANON_RETENTION_MONTHS="1", HOME=str(home.parent))
    environment.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    environment.pop("STREAMLIT_SERVER_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", "doctor", *args],
        cwd=ROOT,
        env={**environment, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def ready_home(tmp_path_factory) -> Path:
    """Synced today, with an admin: ready."""
    home = tmp_path_factory.mktemp("ready") / "kanon"
    settings = load_settings(home=home, retention_months=1, developer_mode=False)
    sync(settings, SampleConnector(scale=0.1, today=date.today()))
    Accounts(settings.accounts_path).add_local("ada", ["admin"], PASSWORD)
    umask = os.umask(0o077)
    make_private(home, again=True)  # as `kanon sync` from the shell leaves it
    os.umask(umask)  # make_private sets the process's: leave other tests theirs
    return home


@pytest.fixture
def home(ready_home, tmp_path) -> Path:
    copy = tmp_path / "kanon"
    shutil.copytree(ready_home, copy)
    return copy


@pytest.fixture
def in_process(monkeypatch, home):
    """doctor.examine over `home`, from a folder with no .streamlit of its own."""
    for name in list(os.environ):
        if name.startswith("KANON_") or name in ("GOOGLE_APPLICATION_CREDENTIALS",):
            monkeypatch.delenv(name)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    monkeypatch.setenv("KANON_HOME", str(home))
    monkeypatch.setenv("KANON_RETENTION_MONTHS", "1")
    monkeypatch.setenv("HOME", str(home.parent))
    monkeypatch.chdir(home.parent)

    def examine() -> dict[str, doctor.Finding]:
        return {finding.check: finding for finding in doctor.examine()}

    return examine


def test_a_deliberately_broken_setting_is_named_and_exits_1(tmp_path):
    result = kanon(tmp_path / "kanon", KANON_K="1")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("problem  settings:") and "'k'" in line and "KANON_K" in line


def test_a_ready_home_exits_0_and_says_so_in_text_and_json(ready_home):
    text = kanon(ready_home)
    assert text.returncode == 0, text.stdout + text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == len(doctor.CHECKS) + 1  # the settings, then one line per check
    assert all(line.split()[0] in doctor.LEVELS for line in lines)
    assert not any(line.startswith("problem") for line in lines)
    as_json = kanon(ready_home, "--json")
    assert as_json.returncode == 0
    found = json.loads(as_json.stdout)
    assert found["ready"] is True
    assert {f["check"] for f in found["findings"]} >= {"home", "admin", "last_sync", "address"}


def test_each_problem_is_one_line_saying_what_to_do_and_nothing_is_fixed(home, in_process):
    settings = load_settings(home=home, retention_months=1, developer_mode=False)
    (home / "access.log").write_text("")
    (home / "access.log").chmod(0o644)

    class Unreachable(SampleConnector):
        def run_many(self, requests):
            raise ConnectorError("GA4 did not answer (connection refused)")

    with pytest.raises(ConnectorError):
        sync(settings, Unreachable(scale=0.1, today=date.today() + timedelta(days=2)))
    os.environ["STREAMLIT_SERVER_ADDRESS"] = "0.0.0.0"
    try:
        found = in_process()
    finally:
        del os.environ["STREAMLIT_SERVER_ADDRESS"]
    assert found["home"].level == doctor.PROBLEM and "access.log (644)" in found["home"].what
    assert stat.S_IMODE((home / "access.log").stat().st_mode) == 0o644  # reported, not fixed
    assert found["last_sync"].level == doctor.PROBLEM
    assert "GA4 did not answer" in found["last_sync"].what
    assert found["address"].level == doctor.PROBLEM and "0.0.0.0" in found["address"].what
    for finding in found.values():
        if finding.level == doctor.PROBLEM:
            assert finding.todo, finding
            assert "\n" not in finding.line()
    assert not doctor.ready(list(found.values()))


def test_developer_mode_over_a_home_with_accounts_is_a_problem(home, in_process, monkeypatch):
    assert in_process()["admin"].level == doctor.OK
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    found = in_process()
    assert found["developer_mode"].level == doctor.PROBLEM
    assert "accounts" in found["developer_mode"].todo


def test_an_install_without_an_admin_is_not_ready(tmp_path, in_process, monkeypatch):
    empty = tmp_path / "fresh"
    monkeypatch.setenv("KANON_HOME", str(empty))
    found = in_process()
    assert found["admin"].level == doctor.PROBLEM and "set-up code" in found["admin"].todo
    assert found["last_sync"].level == doctor.PROBLEM
    assert not (empty / "accounts.sqlite").exists()  # doctor made no accounts file


def test_openid_connect_without_a_cookie_secret_is_a_problem(home, in_process):
    secrets = home.parent / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(
        '[auth]\nredirect_uri = "https://kanon.example.no/oauth2callback"\n'
        'cookie_secret = "short"\nclient_id = "x"\nclient_secret = "y"\n'
        'server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"\n'
    )
    found = in_process()["oidc"]
    assert found.level == doctor.PROBLEM and "cookie_secret" in found.todo


def test_ga4_without_a_recent_passing_property_check_or_a_readable_key(
    home, in_process, monkeypatch
):
    monkeypatch.setenv("KANON_SOURCE", "ga4")
    monkeypatch.setenv("KANON_GA4_PROPERTY", "123456789")
    found = in_process()
    assert found["check_property"].level == doctor.WARNING  # never run
    assert found["credentials"].level == doctor.WARNING  # no key: ADC, checked online only
    key = home.parent / "key.json"
    key.write_text('{"type": "authorized_user"}')
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    checked = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    (home / "policy").mkdir(exist_ok=True)
    (home / "policy" / "last_check.json").write_text(
        json.dumps({"property_id": "123456789", "checked_at": checked, "findings": []})
    )
    found = in_process()
    assert (
        found["check_property"].level == doctor.WARNING
        and "20 days" in found["check_property"].what
    )
    assert found["credentials"].level == doctor.PROBLEM
    assert "not a service-account key" in found["credentials"].what
