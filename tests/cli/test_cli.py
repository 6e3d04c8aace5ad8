"""The `kanon` command as other tools script it: exit codes, files, messages."""

import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.sync import sync

ROOT = Path(__file__).resolve().parents[2]
TODAY = date.today()


def kanon(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "KANON_HOME": str(home), **env}
    environment.pop("KANON_K", None) if "KANON_K" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("synced")
    result = kanon(home, "sample", "--scale", "0.5")
    assert result.returncode == 0, result.stderr
    result = kanon(home, "sync", "--source", "sample")
    assert result.returncode == 0, result.stderr
    assert "release:" in result.stdout
    return home


def raw_users(home: Path) -> dict:
    with duckdb.connect(str(home / "kanon.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT breakdown, grain, period, category, users FROM raw_cells"
        ).fetchall()
    return {(b, g, str(p), c): u for b, g, p, c, u in rows}


def test_export_writes_no_number_for_a_small_cell(synced, tmp_path):
    out = tmp_path / "x.csv"
    start, end = (TODAY - timedelta(days=120)).isoformat(), TODAY.isoformat()
    result = kanon(
        synced,
        "export",
        "--report",
        "browsers",
        "--grain",
        "week",
        "--start",
        start,
        "--end",
        end,
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) > 20
    truth = raw_users(synced)
    small = [r for r in rows if truth[("browsers", "week", r["period_start"], r["category"])] < 10]
    assert small, "the sample property has rare browsers, so some weekly cells are small"
    for row in small:
        assert row["visitors"] == row["visits"] == row["page_views"] == "withheld"
    for row in rows:
        if row["visitors"] != "withheld":
            assert int(row["visitors"]) >= 10


def test_hostile_sources_are_inert_in_the_csv(synced, tmp_path):
    out = tmp_path / "sources.csv"
    result = kanon(
        synced,
        "export",
        "--report",
        "sources",
        "--grain",
        "month",
        "--start",
        (TODAY - timedelta(days=400)).isoformat(),
        "--end",
        TODAY.isoformat(),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    categories = {
        r["category"] for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    }
    assert any(c.startswith("'=HYPERLINK(") for c in categories)
    assert any(c.startswith("'+cmd") for c in categories)
    assert any(c.startswith("'@SUM(1)") for c in categories)
    assert not any(c[:1] in "=+-@" for c in categories)


def test_export_before_any_sync_says_what_to_do(tmp_path):
    result = kanon(
        tmp_path,
        "export",
        "--report",
        "overview",
        "--grain",
        "day",
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-31",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 1
    assert "kanon sync" in result.stderr


def test_unknown_report_is_a_usage_error(synced, tmp_path):
    result = kanon(
        synced,
        "export",
        "--report",
        "cities",
        "--grain",
        "day",
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-31",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 2 and "cities" in result.stderr


def test_bad_setting_stops_with_its_name(tmp_path):
    result = kanon(tmp_path, "purge", KANON_K="1")
    assert result.returncode == 2
    assert "'k'" in result.stderr and "KANON_K" in result.stderr


def test_bad_date_is_explained(synced, tmp_path):
    result = kanon(
        synced,
        "export",
        "--report",
        "overview",
        "--grain",
        "day",
        "--start",
        "1 March",
        "--end",
        "2026-01-31",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


def test_purge_deletes_what_left_the_window(synced, tmp_path):
    home = tmp_path / "copy"
    shutil.copytree(synced, home)
    old = date(2020, 1, 6)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        con.execute(
            "INSERT INTO raw_cells VALUES ('overview','day',?,'(all visits)',50,60,70,80,90,30)",
            [old],
        )
    (home / "access.log").write_text('{"at": "2020-01-06T10:00:00+00:00", "who": "a"}\n')
    result = kanon(home, "purge")
    assert result.returncode == 0, result.stderr
    assert "deleted 1 rows" in result.stdout and "dropped 1 entries" in result.stdout
    with duckdb.connect(str(home / "kanon.duckdb"), read_only=True) as con:
        assert (
            con.execute("SELECT count(*) FROM raw_cells WHERE period < '2025-01-01'").fetchone()[0]
            == 0
        )


class FailingConnector(SampleConnector):
    """Answers one batch, then fails like a network error mid-sync."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches = 0

    def run_many(self, requests):
        self.batches += 1
        if self.batches > 1:
            raise ConnectionError("network went away")
        return super().run_many(requests)


def test_a_failed_sync_keeps_the_last_good_release(synced, tmp_path):
    home = tmp_path / "copy"
    shutil.copytree(synced, home)
    before = (home / "kanon.duckdb").read_bytes()
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        # Forget the months, so the sync must fetch two batches of them again.
        con.execute("DELETE FROM period_flags WHERE grain = 'month'")
        release = con.execute("SELECT * FROM release_cells ORDER BY ALL").fetchall()
    assert before
    settings = load_settings(home=home)
    with pytest.raises(ConnectionError):
        sync(settings, FailingConnector(data_dir=home / "sample"))
    with duckdb.connect(str(home / "kanon.duckdb"), read_only=True) as con:
        assert con.execute("SELECT * FROM release_cells ORDER BY ALL").fetchall() == release
        status = con.execute("SELECT status, message FROM syncs ORDER BY sync_id DESC").fetchone()
    assert status == ("failed", "network went away")


def test_audit_passes_on_the_published_release_and_fails_on_a_leaky_one(synced, tmp_path):
    result = kanon(synced, "audit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exposed" in result.stdout
    assert "proven by the last audit" in result.stdout  # the sync stored its audit's proofs
    result = kanon(synced, "audit", "--full")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "proven by the last audit" not in result.stdout

    # Publish every complementary browser cell: small ones become totals minus the others.
    home = tmp_path / "leaky"
    shutil.copytree(synced, home)
    names = ["users", "sessions", "views", "engagement_seconds", "session_seconds"]
    names.append("engaged_sessions")
    copied = ", ".join(f"{n} = w.{n}" for n in names)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        leaked = con.execute(
            f"UPDATE release_cells r SET status = 'published', {copied} FROM raw_cells w "
            "WHERE w.breakdown = r.breakdown AND w.grain = r.grain AND w.period = r.period "
            "AND w.category = r.category AND r.status = 'secondary' "
            "AND r.breakdown = 'browsers' RETURNING 1"
        ).fetchall()
    assert leaked
    for full in ((), ("--full",)):
        result = kanon(home, "audit", *full)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "browsers" in result.stdout


def test_a_release_failing_the_audit_is_refused_with_a_message(
    synced, tmp_path, monkeypatch, capsys
):
    from types import SimpleNamespace

    import pandas as pd

    from kanon.cli import main

    home = tmp_path / "copy"
    shutil.copytree(synced, home)
    with duckdb.connect(str(home / "kanon.duckdb")) as con:
        con.execute("DELETE FROM period_flags WHERE grain = 'month'")  # something to publish
        before = con.execute("SELECT * FROM release_cells ORDER BY ALL").fetchall()
    exposed = SimpleNamespace(ok=False, exposed=pd.DataFrame({"figure": ["sessions"]}))
    monkeypatch.setattr("reports.audit.audit", lambda cells, k, **options: exposed)
    monkeypatch.setenv("KANON_HOME", str(home))
    assert main(["sync", "--source", "sample"]) == 1
    error = capsys.readouterr().err
    assert "failed the attacker check" in error and "Traceback" not in error
    with duckdb.connect(str(home / "kanon.duckdb"), read_only=True) as con:
        assert con.execute("SELECT * FROM release_cells ORDER BY ALL").fetchall() == before
