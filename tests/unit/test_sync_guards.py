"""What no sync may do, tried as an attacker (or an unlucky admin) would: mix sources in one
store, let developer mode show real figures, fail after publishing, reuse a release id, or run
twice at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.sample import SampleConnector
from kanon import developer
from kanon.settings import load_settings
from kanon.store.duckdb_store import Store, SyncRunning
from kanon.sync import SyncError, sync

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 6, 1)


class FakeGA4(SampleConnector):
    """The sample property answering as GA4 would: what a sync records is the source name."""

    name = "ga4"


def _settings(home: Path):
    return load_settings(home=home, retention_months=1, developer_mode=False)


@pytest.fixture(scope="module")
def ga4_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("ga4-home")
    sync(_settings(home), FakeGA4(scale=0.1, today=DAY))
    return home


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("sample-home")
    sync(_settings(home), SampleConnector(scale=0.1, today=DAY))
    return home


@pytest.fixture
def copy_of(tmp_path):
    def copy(home: Path) -> Path:
        target = tmp_path / "home"
        shutil.copytree(home, target)
        return target

    return copy


def kanon(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "KANON_HOME": str(home), "KANON_RETENTION_MONTHS": "1", **env}
    for name in ("KANON_K", "KANON_SETTINGS", "KANON_DEVELOPER_MODE"):
        environment.pop(name, None) if name not in env else None
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- one source per store ---------------------------------------------------------------


def test_a_sample_sync_into_a_ga4_store_is_refused_and_changes_nothing(ga4_home, copy_of):
    home = copy_of(ga4_home)
    before = Store(home / "kanon.duckdb").syncs()
    result = kanon(home, "sync", "--source", "sample")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "fetched from ga4" in result.stderr and "KANON_HOME" in result.stderr
    store = Store(home / "kanon.duckdb")
    assert store.release_info()["source"] == "ga4"
    assert len(store.syncs()) == len(before)  # no release, no history row


def test_every_raw_period_records_its_source(ga4_home):
    with duckdb.connect(str(ga4_home / "kanon.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT source FROM period_flags").fetchall() == [("ga4",)]


def test_an_older_store_counts_its_periods_as_its_last_real_releases(ga4_home, copy_of):
    """A store from before sources were recorded; its last release even says "sample" (the
    bug: a sample sync republished GA4's figures), yet its periods count as GA4's."""
    home = copy_of(ga4_home)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        con.execute("ALTER TABLE period_flags DROP COLUMN source")
        con.execute("UPDATE schema_version SET version = 2")  # the version before sources
        con.execute(
            "INSERT INTO releases (release_id, created_at, source, k) "
            "VALUES (99, now(), 'sample', 10)"
        )
    store = Store(home / "kanon.duckdb")
    assert store.sources().raw == {"ga4"}
    with pytest.raises(SyncError, match="fetched from ga4"):
        sync(_settings(home), SampleConnector(scale=0.1, today=DAY))
    assert developer.refusal(_settings(home))


def test_an_older_sample_store_stays_the_samples(sample_home, copy_of):
    home = copy_of(sample_home)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        con.execute("ALTER TABLE period_flags DROP COLUMN source")
        con.execute("UPDATE schema_version SET version = 2")  # the version before sources
    assert Store(home / "kanon.duckdb").sources().raw == {"sample"}
    assert developer.refusal(_settings(home)) is None


def test_a_ga4_sync_into_a_sample_store_is_refused(sample_home, copy_of):
    home = copy_of(sample_home)
    with pytest.raises(SyncError, match="new, empty folder"):
        sync(_settings(home), FakeGA4(scale=0.1, today=DAY + timedelta(days=2)))


# --- developer mode ----------------------------------------------------------------------


def test_developer_mode_syncs_the_sample_only(tmp_path):
    settings = load_settings(home=tmp_path, retention_months=1, developer_mode=True)
    with pytest.raises(SyncError, match="Developer mode syncs the sample property only"):
        sync(settings, FakeGA4(scale=0.1, today=DAY))
    assert not (tmp_path / "kanon.duckdb").exists()
    result = kanon(
        tmp_path,
        "sync",
        "--source",
        "ga4",
        KANON_DEVELOPER_MODE="1",
        KANON_GA4_PROPERTY="123456",
        KANON_GA4_ENDPOINT="http://127.0.0.1:9",  # never reached
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Developer mode syncs the sample property only" in result.stderr


def test_developer_mode_refuses_a_home_whose_raw_periods_or_releases_are_real(ga4_home, copy_of):
    assert "came from ga4" in developer.refusal(_settings(ga4_home))
    home = copy_of(ga4_home)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:  # the release relabelled
        con.execute("UPDATE releases SET source = 'sample'")
    assert "came from ga4" in developer.refusal(_settings(home))
    with duckdb.connect(str(home / "kanon.duckdb")) as con:  # and the periods too: history
        con.execute("UPDATE period_flags SET source = 'sample'")
        con.execute(
            "INSERT INTO releases (release_id, created_at, source, k) VALUES (0, now(), 'ga4', 10)"
        )
    assert "came from ga4" in developer.refusal(_settings(home))


def test_developer_mode_refuses_a_home_with_accounts(sample_home, copy_of):
    from kanon.access.accounts import Accounts
    from kanon.access.roles import ADMIN

    home = copy_of(sample_home)
    assert developer.refusal(_settings(home)) is None
    Accounts(home / "accounts.sqlite").add_local("ada", [ADMIN], "a long enough password 1")
    assert "has accounts" in developer.refusal(_settings(home))


def test_developer_mode_refuses_a_damaged_store(tmp_path):
    tmp_path.joinpath("kanon.duckdb").write_bytes(os.urandom(4096))
    assert "damaged" in developer.refusal(_settings(tmp_path))


def test_the_dashboard_in_developer_mode_will_not_start_over_ga4_figures(
    ga4_home, copy_of, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    home = copy_of(ga4_home)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:  # as the reported attack left it
        con.execute("UPDATE releases SET source = 'sample'")
    for name in ("KANON_SETTINGS", "KANON_K"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(home))
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    monkeypatch.chdir(home.parent)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert "will not start in developer mode" in at.error[0].value
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe


def test_the_admin_page_in_developer_mode_changes_nothing_real(sample_home, copy_of, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home = copy_of(sample_home)
    for name in ("KANON_SETTINGS", "KANON_K"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(home))
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    monkeypatch.setenv("KANON_SOURCE", "ga4")
    monkeypatch.chdir(home.parent)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page("kanon/ui/pages/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="sync_source").options == ["sample"]
    assert not at.get("form") and not at.get("expander")  # no account forms
    keys = {getattr(d.proto, "id", "") for d in at.dataframe}
    assert not any("accounts" in key or "dsr" in key for key in keys)
    assert not [b for b in at.button if b.key == "check_property"]
    assert not (home / "accounts.sqlite").exists()


# --- nothing after the publish fails a sync; ids from the store --------------------------


def test_a_malformed_access_log_line_fails_no_sync_and_ids_move_on(
    sample_home, copy_of, monkeypatch
):
    home = copy_of(sample_home)
    settings = _settings(home)
    (home / "access.log").write_text('{"at": "2025-06-01T10:00:00+00:00"}\nnot json\n')
    first = sync(settings, SampleConnector(scale=0.1, today=DAY + timedelta(days=2)))
    assert not first.warnings  # the log skips (and counts) the line it cannot read
    # Whatever else goes wrong after the publish (a full disk, say) is a warning, not a failure.
    from kanon.access import log

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(log, "purge", full_disk)
    second = sync(settings, SampleConnector(scale=0.1, today=DAY + timedelta(days=3)))
    assert second.warnings and "access log" in second.warnings[0]
    assert second.release["release_id"] > first.release["release_id"]
    history = Store(home / "kanon.duckdb").syncs()
    assert history["status"].tolist()[:2] == ["ok", "ok"]
    assert history["sync_id"].is_unique and history["release_id"].dropna().is_unique
    assert "warning" in history["message"].iloc[0]


def test_the_cli_reports_success_and_the_warning(sample_home, copy_of):
    """A log the purge cannot rewrite (here a folder where the file should be) is a warning
    after the publish, not a failed sync. (A malformed line is not even that: it is skipped.)"""
    home = copy_of(sample_home)
    (home / "access.log").unlink(missing_ok=True)
    (home / "access.log").mkdir(mode=0o700)
    result = kanon(home, "sync", "--source", "sample")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "kanon: warning: the access log access.log could not be purged" in result.stderr


def test_a_store_from_before_sync_rows_were_kept_gets_fresh_ids(sample_home, copy_of):
    """The reported loop: release N was published but its sync row never written; the next
    sync took id N again and died on `Duplicate key "release_id: N"`."""
    home = copy_of(sample_home)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        con.execute("DELETE FROM syncs")
    report = sync(_settings(home), SampleConnector(scale=0.1, today=DAY + timedelta(days=2)))
    assert report.release["release_id"] == 2 and report.sync_id == 2


# --- one sync at a time --------------------------------------------------------------------


class Stalling(SampleConnector):
    """Fetches only once told to: a sync that is still running."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fetching, self.go = threading.Event(), threading.Event()

    def run_many(self, requests):
        self.fetching.set()
        assert self.go.wait(120)
        return super().run_many(requests)


def test_a_second_sync_while_one_runs_is_refused(sample_home, copy_of):
    home = copy_of(sample_home)
    settings = _settings(home)
    slow = Stalling(scale=0.1, today=DAY + timedelta(days=2))
    outcome: dict = {}
    first = threading.Thread(target=lambda: outcome.setdefault("report", sync(settings, slow)))
    first.start()
    try:
        assert slow.fetching.wait(60)
        running = Store(home / "kanon.duckdb").syncs()
        assert running["status"].iloc[0] == "running"
        with pytest.raises(SyncRunning, match="Another sync is running"):
            sync(settings, SampleConnector(scale=0.1, today=DAY + timedelta(days=2)))
        result = kanon(home, "sync", "--source", "sample")
        assert result.returncode == 1 and "Another sync is running" in result.stderr
    finally:
        slow.go.set()
        first.join(120)
    history = Store(home / "kanon.duckdb").syncs()
    assert outcome["report"].sync_id == history["sync_id"].iloc[0]
    assert history["status"].iloc[0] == "ok"  # its row, finished: not replaced by another


def test_a_crashed_sync_leaves_no_lock_and_its_row_is_finished_as_failed(sample_home, copy_of):
    home = copy_of(sample_home)
    crash = (
        "import os, sys\n"
        "from kanon.store.duckdb_store import Store, now\n"
        "store = Store(sys.argv[1])\n"
        "with store.sync_lock():\n"
        "    store.begin_sync('sample', now())\n"
        "    os._exit(9)\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", crash, str(home / "kanon.duckdb")], cwd=ROOT, timeout=120
    )
    assert died.returncode == 9
    stale = Store(home / "kanon.duckdb").syncs()
    assert stale["status"].iloc[0] == "running"
    started = time.monotonic()
    report = sync(_settings(home), SampleConnector(scale=0.1, today=DAY + timedelta(days=2)))
    assert time.monotonic() - started < 120
    history = Store(home / "kanon.duckdb").syncs().set_index("sync_id")
    assert history.loc[report.sync_id, "status"] == "ok"
    crashed = history.loc[report.sync_id - 1]
    assert crashed["status"] == "failed" and "interrupted" in crashed["message"]
