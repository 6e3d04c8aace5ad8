"""The `kanon` command as other tools script it: exit codes, files, messages."""

import csv
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pytest

from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.sync import sync
from reports.export import FORMULA_STARTS, NOT_A_SUM, read_summary
from reports.status import SHOWN_WITHHELD
from reports.views import OTHER

MARKS = (SHOWN_WITHHELD, NOT_A_SUM)

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


def export(home: Path, out: Path, *args: str, days: int = 120) -> subprocess.CompletedProcess:
    start, end = (TODAY - timedelta(days=days)).isoformat(), TODAY.isoformat()
    result = kanon(home, "export", *args, "--start", start, "--end", end, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result


def release_statuses(home: Path) -> dict:
    with duckdb.connect(str(home / "kanon.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT breakdown, category, bool_or(status = 'published') FROM release_cells "
            "GROUP BY ALL"
        ).fetchall()
    return {(b, c): published for b, c, published in rows}


def test_export_writes_no_number_for_a_small_cell(synced, tmp_path):
    out = tmp_path / "x.csv"
    export(synced, out, "--report", "browsers", "--grain", "week")
    header, table = read_summary(out)
    assert header["report"] == "browsers (Browsers)" and header["k"] == "10"
    rows = table.to_dict("records")
    assert len(rows) > 20
    truth = raw_users(synced)
    listed = [r for r in rows if r["category"] != OTHER]
    small = [
        r for r in listed if truth[("browsers", "week", r["period_start"], r["category"])] < 10
    ]
    assert small, "the sample property has browsers that are small in some weeks"
    for row in small:
        assert row["visitors"] == row["visits"] == row["page_views"] == "withheld"
    for row in listed:
        if row["visitors"] != "withheld":
            assert int(row["visitors"]) >= 10
    # The 1-visitor browsers are withheld in every period, so they are never named.
    named = {r["category"] for r in rows}
    assert not named & {"Lynx", "Pale Moon", "SeaMonkey"}
    other = [r for r in rows if r["category"] == OTHER]
    assert other and all(r["visitors"] == "—" for r in other)


def test_referral_spam_is_never_named_and_no_text_is_a_formula(synced, tmp_path):
    out = tmp_path / "sources.csv"
    export(synced, out, "--report", "sources", "--grain", "month", days=400)
    statuses = release_statuses(synced)
    spam = [c for (b, c), published in statuses.items() if b == "sources" and "referral" in c]
    spam = [c for c in spam if c.startswith(("=", "+", "-", "@", "<", "http://spam"))]
    assert len(spam) == 6 and not any(statuses[("sources", c)] for c in spam)
    _, table = read_summary(out)
    named = set(table["category"])
    assert OTHER in named
    assert not named & set(spam) and not named & {"'" + c for c in spam}
    for text in named | set(table["status"]):
        assert not text.startswith(FORMULA_STARTS), text


def test_excel_nb_csv_splits_on_semicolons_with_decimal_commas(synced, tmp_path):
    out = tmp_path / "pages.csv"
    result = export(synced, out, "--report", "pages", "--grain", "month", "--dialect", "excel-nb")
    assert "rows" in result.stdout
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("kanon_provenance_lines;")
    skip = int(lines[0].split(";")[1])
    rows = list(csv.DictReader(lines[skip:], delimiter=";"))
    assert len(rows) > 10 and all(len(r) == len(rows[0]) for r in rows)
    assert any("," in r["views_per_visit"] for r in rows)
    assert not any("." in r["views_per_visit"] for r in rows)
    assert any(ch in r["title"] for r in rows for ch in "æøå")
    header, table = read_summary(out)
    assert header["time_zone"] == "Europe/Oslo"
    assert table["views_per_visit"].map(lambda v: isinstance(v, float) or v in MARKS).all()


def test_the_summary_workbook_holds_every_report_with_the_csv_numbers(synced, tmp_path):
    out = tmp_path / "summary.xlsx"
    result = export(synced, out, "--summary", "--grain", "month", days=400)
    assert "workbook" in result.stdout
    started = time.process_time()  # CPU time: other work on the machine does not count
    book = openpyxl.load_workbook(out)
    opened = time.process_time() - started
    assert opened < 2.0, f"a year at month grain took {opened:.2f} s to open"
    assert book.sheetnames[0] == "About" and len(book.sheetnames) == 9
    about = {r[0]: r[1] for r in book["About"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert about["k"] == 10 and about["source"] == "sample"
    statuses = release_statuses(synced)
    for sheet, report in (("Browsers", "browsers"), ("Sources", "sources"), ("Pages", "pages")):
        csv_out = tmp_path / f"{report}.csv"
        export(synced, csv_out, "--report", report, "--grain", "month", days=400)
        _, table = read_summary(csv_out)
        rows = list(book[sheet].iter_rows(values_only=True))
        columns = rows[0]
        assert len(rows) - 1 == len(table)
        for values, expected in zip(rows[1:], table.to_dict("records"), strict=True):
            row = dict(zip(columns, values, strict=True))
            assert row["period_start"].date().isoformat() == expected["period_start"]
            assert row["category"] == expected["category"]
            for column in ("visitors", "visits", "page_views", "engagement_rate_percent"):
                if isinstance(expected[column], str):
                    assert row[column] == expected[column]
                else:
                    assert row[column] == pytest.approx(float(expected[column]))
        never = {c for (b, c), published in statuses.items() if b == report and not published}
        assert never and not never & {r[columns.index("category")] for r in rows[1:]}


@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
def test_libreoffice_opens_both_files_with_split_cells_numbers_and_aeoeaa(synced, tmp_path):
    csv_out = tmp_path / "pages.csv"
    export(synced, csv_out, "--report", "pages", "--grain", "month", "--dialect", "excel-nb")
    book_out = tmp_path / "summary.xlsx"
    export(synced, book_out, "--summary", "--grain", "month")
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"
    # CSV filter: ';' between fields, '"' around text, UTF-8, from line 1, Norwegian (1044).
    for source, options in ((csv_out, ["--infilter=CSV:59,34,76,1,,1044"]), (book_out, [])):
        target = tmp_path / "converted" / source.stem
        result = subprocess.run(
            ["soffice", profile, "--headless", *options, "--convert-to", "xlsx",
             "--outdir", str(target), str(source)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        converted = openpyxl.load_workbook(target / f"{source.stem}.xlsx")
        sheet = converted["Pages"] if source.suffix == ".xlsx" else converted.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        start = next(i for i, r in enumerate(rows) if r[:2] == ("report", "grain"))
        columns = rows[start]
        data = [dict(zip(columns, r, strict=False)) for r in rows[start + 1 :]]
        assert len(data) > 10 and "views_per_visit" in columns
        published = [r for r in data if r["visits"] != "withheld"]
        not_numbers = [r for r in published if not isinstance(r["page_views"], int | float)]
        assert published and not not_numbers, (source.name, not_numbers[:3])
        ratios = [r["views_per_visit"] for r in published if r["category"] != OTHER]
        assert all(isinstance(v, int | float) for v in ratios), ratios[:5]
        assert any(not float(v).is_integer() for v in ratios)  # decimal commas were read
        assert any(ch in (r["title"] or "") for r in data for ch in "æøå")


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


@pytest.mark.slow
def test_audit_passes_on_the_published_release_and_fails_on_a_leaky_one(synced, tmp_path):
    result = kanon(synced, "audit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exposed" in result.stdout
    assert "proven by the last audit" in result.stdout  # the sync stored its audit's proofs

    # A full audit solves every block from the release alone, on three months of the sample:
    # seconds, where fourteen months take minutes (the path is the same; docs/benchmarks.md).
    short, months = tmp_path / "short", {"KANON_RETENTION_MONTHS": "3"}
    for command in (("sample", "--scale", "0.5"), ("sync", "--source", "sample"), ("audit",)):
        result = kanon(short, *command, **months)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "proven by the last audit" in result.stdout
    result = kanon(short, "audit", "--full", **months)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exposed" in result.stdout and "proven by the last audit" not in result.stdout

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
    # The stored proofs do not cover the changed blocks: they are solved again, and fail.
    # (A full audit finds the same leak: tests/unit/test_audit_proofs.py, on a smaller release.)
    result = kanon(home, "audit")
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


def test_a_dialect_for_the_workbook_is_refused_not_ignored(synced, tmp_path):
    out = tmp_path / "summary.xlsx"
    result = kanon(synced, "export", "--summary", "--grain", "month", "--start", "2026-01-01",
                   "--end", "2026-06-30", "--out", str(out), "--dialect", "excel-nb")  # fmt: skip
    assert result.returncode == 2 and "--dialect is for a CSV" in result.stderr
    assert not out.exists()
