"""`kanon backup` and `kanon restore` as an operator runs them (real CLI subprocesses): back up,
wipe, restore; the same release cell for cell, `kanon audit` passes, an account signs in; a
backup finishes while a sync holds its lock; unsafe archives and a non-empty home are refused."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.sample import SampleConnector
from kanon.access import log
from kanon.access.accounts import Accounts
from kanon.access.gate import Gate
from kanon.settings import load_settings
from kanon.store.duckdb_store import Store
from kanon.store.releases import current
from kanon.sync import sync

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 6, 1)
PASSWORD = "correct horse battery"


def kanon(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}
    env.update(KANON_HOME=str(home), KANON_RETENTION_MONTHS="1")
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _settings(home: Path):
    return load_settings(home=home, retention_months=1, developer_mode=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home with a release, an admin, an access-log entry and a policy file."""
    home = tmp_path_factory.mktemp("home") / "kanon"
    settings = _settings(home)
    sync(settings, SampleConnector(scale=0.1, today=date.today()))
    Accounts(settings.accounts_path).add_local("ana", ["admin"], PASSWORD)
    log.event(settings.access_log_path, "ana", log.SIGN_IN_FAILED, address="127.0.0.1")
    settings.policy_folder.mkdir(mode=0o700)
    (settings.policy_folder / "last_check.json").write_text('{"property_id": "1"}')
    return home


def _release_cells(home: Path) -> pd.DataFrame:
    release = current(Store(home / "kanon.duckdb"))
    assert release is not None
    cells = release.cells.sort_values(["breakdown", "grain", "period", "category"])
    return cells.reset_index(drop=True)


def test_backup_wipe_restore_gives_the_same_release_and_the_accounts_sign_in(home, tmp_path):
    signed_in = Gate(home / "accounts.sqlite", home / "access.log", home, idle_seconds=600)
    old_session = signed_in.sign_in("ana", PASSWORD, "127.0.0.1").token
    assert signed_in.sessions.lookup(old_session).account is not None
    archive = tmp_path / "kanon-backup.tar.gz"
    made = kanon(home, "backup", "--out", str(archive))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "kanon.duckdb", "accounts.sqlite", "access.log"} <= names
    assert "policy/last_check.json" in names

    before = _release_cells(home)
    target = tmp_path / "wiped" / "kanon"  # the home, wiped: a new machine's empty folder
    restored = kanon(target, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "retention" in restored.stdout

    pd.testing.assert_frame_equal(_release_cells(target), before)
    audit = kanon(target, "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "1 open session(s) from the backup ended" in restored.stdout
    gate = Gate(target / "accounts.sqlite", target / "access.log", target, idle_seconds=600)
    assert gate.sessions.lookup(old_session).account is None  # everyone signs in again
    assert gate.sign_in("ana", PASSWORD, "127.0.0.1").token
    assert (target / "policy" / "last_check.json").read_text() == '{"property_id": "1"}'
    assert any(entry["who"] == "ana" for entry in log.read(target / "access.log"))
    for path in [target, *target.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert [p.name for p in target.parent.iterdir()] == ["kanon"]  # no staging left beside


def test_restore_refuses_a_home_that_is_not_empty_unless_forced(home, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert kanon(home, "backup", "--out", str(archive)).returncode == 0
    target = tmp_path / "busy"
    target.mkdir()
    (target / "kanon.duckdb").write_bytes(b"someone else's store")
    refused = kanon(target, "restore", str(archive))
    assert refused.returncode == 1 and "not empty" in refused.stderr and "--force" in refused.stderr
    assert (target / "kanon.duckdb").read_bytes() == b"someone else's store"
    forced = kanon(target, "restore", str(archive), "--force")
    assert forced.returncode == 0, forced.stderr
    assert Store(target / "kanon.duckdb").release_info()["release_id"] == 1


def test_restore_applies_retention_so_nothing_older_than_the_window_comes_back(tmp_path):
    """A backup from long ago: its statistics have left the window since; none comes back."""
    old = tmp_path / "old-home"
    sync(_settings(old), SampleConnector(scale=0.1, today=DAY))
    archive = tmp_path / "old.tar.gz"
    assert kanon(old, "backup", "--out", str(archive)).returncode == 0
    target = tmp_path / "restored"
    restored = kanon(target, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    window_start = date.today() - timedelta(days=62)
    with duckdb.connect(str(target / "kanon.duckdb"), read_only=True) as con:
        for table in ("raw_cells", "release_cells", "period_flags"):
            oldest = con.execute(f"SELECT min(period) FROM {table}").fetchall()[0][0]
            assert oldest is None or oldest >= window_start, table
    assert "store: deleted" in restored.stdout


@pytest.mark.alone  # times how long the store is held
def test_a_backup_finishes_while_a_sync_holds_its_lock(home, tmp_path):
    holder = (
        "import sys, time\n"
        "from kanon.store.duckdb_store import Store\n"
        "with Store(sys.argv[1]).sync_lock():\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(120)\n"
    )
    sync_running = subprocess.Popen(
        [sys.executable, "-c", holder, str(home / "kanon.duckdb")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sync_running.stdout.readline().strip() == "locked"
        started = time.monotonic()
        made = kanon(home, "backup", "--out", str(tmp_path / "during-sync.tar.gz"))
        assert made.returncode == 0, made.stderr
        assert time.monotonic() - started < 60
        assert sync_running.poll() is None  # the sync still holds its lock: nobody waited on it
    finally:
        sync_running.kill()
        sync_running.wait()
    held = float(made.stdout.split("held ")[1].split(" s")[0])
    assert held < 1.0  # how long a sync's next connection would have waited


def _archive(tmp_path: Path, member: tarfile.TarInfo, body: bytes = b"") -> Path:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(member, io.BytesIO(body) if member.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 0
    return info


@pytest.mark.parametrize(
    "member",
    [
        _member("/etc/kanon-owned"),
        _member("../outside"),
        _member("policy/../../outside"),
        _member("kanon.duckdb", tarfile.SYMTYPE, "/etc/passwd"),
        _member("accounts.sqlite", tarfile.LNKTYPE, "/etc/passwd"),
    ],
    ids=["absolute", "dotdot", "nested-dotdot", "symlink", "hardlink"],
)
def test_an_archive_with_paths_outside_or_links_is_refused_and_changes_nothing(tmp_path, member):
    from kanon.backup import BackupError, restore

    archive = _archive(tmp_path, member)
    target = tmp_path / "home"
    with pytest.raises(BackupError, match="refused"):
        restore(_settings(target), archive)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]  # no staging left


def test_the_cli_refuses_a_link_in_one_line(tmp_path):
    archive = _archive(tmp_path, _member("kanon.duckdb", tarfile.SYMTYPE, "/etc/passwd"))
    refused = kanon(tmp_path / "home", "restore", str(archive))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("kanon: error:") and "link" in refused.stderr


def test_a_file_that_is_not_a_backup_is_refused_with_a_message(tmp_path):
    fake = tmp_path / "notes.tar.gz"
    fake.write_bytes(b"not a tar at all")
    refused = kanon(tmp_path / "home", "restore", str(fake))
    assert refused.returncode == 1 and "not a Kanon backup" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_backup_without_a_store_says_what_to_check(tmp_path):
    refused = kanon(tmp_path / "empty", "backup", "--out", str(tmp_path / "b.tar.gz"))
    assert refused.returncode == 1 and "KANON_HOME" in refused.stderr
    assert not (tmp_path / "b.tar.gz").exists()


def test_the_restored_folder_replaces_a_forced_home_whole(home, tmp_path):
    """--force replaces: nothing of the old home survives beside the restored files."""
    archive = tmp_path / "b.tar.gz"
    assert kanon(home, "backup", "--out", str(archive)).returncode == 0
    target = tmp_path / "old"
    shutil.copytree(home, target)
    (target / "stray.txt").write_text("left from before")
    assert kanon(target, "restore", str(archive), "--force").returncode == 0
    assert not (target / "stray.txt").exists()
