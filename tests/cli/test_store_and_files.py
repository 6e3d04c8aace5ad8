"""The CLI's files and its store, attacked: a link planted at `--out`, a damaged or locked
store. Each gives Kanon's message and exit code, never a traceback or a write elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.sync import sync

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 6, 1)
RANGE = ("--grain", "day", "--start", "2025-05-10", "--end", "2025-05-20")


def kanon(home: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "KANON_HOME": str(home), "KANON_RETENTION_MONTHS": "1"}
    for name in ("KANON_K", "KANON_SETTINGS", "KANON_DEVELOPER_MODE"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("files-home")
    sync(load_settings(home=home, retention_months=1), SampleConnector(scale=0.1, today=DAY))
    return home


def test_export_writes_the_file_whole_and_leaves_nothing_beside_it(home, tmp_path):
    out = tmp_path / "overview.csv"
    out.write_text("an older export\n")
    result = kanon(home, "export", "--report", "overview", *RANGE, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "an older export" not in out.read_text() and out.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["overview.csv"]


@pytest.mark.parametrize("what", ["--report", "--summary"])
def test_export_refuses_a_symbolic_link_at_the_target(home, tmp_path, what):
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    link = tmp_path / "report.csv"
    link.symlink_to(victim)
    args = ["--report", "overview"] if what == "--report" else ["--summary"]
    result = kanon(home, "export", *args, *RANGE, "--out", str(link))
    assert result.returncode == 1
    assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert victim.read_text() == "not yours\n" and link.is_symlink()


def test_export_refuses_a_dangling_link_too(home, tmp_path):
    link = tmp_path / "report.csv"
    link.symlink_to(tmp_path / "would-be-created")
    result = kanon(home, "export", "--report", "overview", *RANGE, "--out", str(link))
    assert result.returncode == 1 and "symbolic link" in result.stderr
    assert not (tmp_path / "would-be-created").exists()


def test_a_link_planted_after_the_check_is_replaced_not_followed(home, tmp_path):
    from kanon import cli

    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    out = tmp_path / "report.csv"
    checks = iter([None])  # the first check passes; then the link appears

    def racing(path):
        if next(checks, "late") is None:
            out.symlink_to(victim)

    original = cli._refuse_a_link
    cli._refuse_a_link = racing
    try:
        cli.write_file(out, b"figures\n")
    finally:
        cli._refuse_a_link = original
    assert victim.read_text() == "not yours\n"
    assert not out.is_symlink() and out.read_bytes() == b"figures\n"


def test_export_into_a_missing_folder_says_so(home, tmp_path):
    out = tmp_path / "missing" / "report.csv"
    result = kanon(home, "export", "--report", "overview", *RANGE, "--out", str(out))
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content", [os.urandom(20_000), b"", b"DUCK" * 1000], ids=["random", "empty", "text"]
)
@pytest.mark.parametrize("command", [["audit"], ["sync", "--source", "sample"], ["purge"]])
def test_a_damaged_store_gives_a_message_naming_the_file(tmp_path, content, command):
    home = tmp_path / "home"
    home.mkdir()
    store = home / "kanon.duckdb"
    store.write_bytes(content)
    result = kanon(home, *command)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(store) in result.stderr and "damaged" in result.stderr
    assert "kanon restore" in result.stderr and "new KANON_HOME" in result.stderr
    assert store.read_bytes() == content  # nothing was written over it


def test_a_store_damaged_inside_gives_the_message_too(home, tmp_path):
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    store = copy / "kanon.duckdb"
    data = bytearray(store.read_bytes())
    for start in range(16_384, len(data), 8_192):  # keep the headers, break the blocks
        data[start : start + 4_096] = os.urandom(4_096)
    store.write_bytes(bytes(data))
    result = kanon(copy, "audit")
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and str(store) in result.stderr


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.mark.alone  # times the wait
def test_a_locked_store_says_what_holds_it_after_a_short_wait(home, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home / "kanon.duckdb")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        result = kanon(home, "audit")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "in use by another program" in result.stderr and "wait" in result.stderr
    assert waited < 12  # a short wait (and the interpreter's start), not 15 s a connection
