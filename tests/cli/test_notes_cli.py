"""`kanon notes` as a script runs it: add, list (text and JSON), remove, their exit codes and
access-log entries, and the notes in `kanon export --summary`'s About sheet."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest

from kanon.access import log
from kanon.access.accounts import Accounts
from tests.app.support import default_selection, published_home, release_of
from tests.cli.test_cli import kanon

HOSTILE = "<b>x</b> *y* [l](javascript:z)"


@pytest.fixture
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return published_home(request.config, tmp_path / "home")


def shown_days(home: Path) -> tuple[date, date]:
    return default_selection(release_of(home)).days


def test_notes_are_added_listed_and_removed_from_a_shell(home):
    first, last = shown_days(home)
    Accounts(home / "accounts.sqlite").add_oidc("ana@example.com", ["analyst"])

    added = kanon(home, "notes", "add", "--date", str(first), "--text", HOSTILE)
    credited = kanon(
        home, "notes", "add", "--date", str(last - timedelta(days=2)), "--to", str(last),
        "--text", "Outage", "--by", "ANA@example.com",
    )  # fmt: skip
    assert (added.returncode, credited.returncode) == (0, 0), added.stderr + credited.stderr
    assert added.stdout.startswith("added note 1: ") and HOSTILE in added.stdout

    listing = kanon(home, "notes", "list", "--since", str(last - timedelta(days=1)), "--json")
    assert listing.returncode == 0, listing.stderr
    (record,) = [json.loads(line) for line in listing.stdout.splitlines()]
    assert record["id"] == 2 and record["author"] == "ana@example.com"
    assert (record["first_day"], record["last_day"], record["text"]) == (
        str(last - timedelta(days=2)),
        str(last),
        "Outage",
    )

    removed = kanon(home, "notes", "remove", "1")
    assert removed.returncode == 0 and "removed note 1" in removed.stdout
    assert kanon(home, "notes", "list").stdout.splitlines() == [
        f"2  {last - timedelta(days=2)} to {last}  by ana@example.com  Outage"
    ]
    entries = log.read(home / "access.log")
    assert [(e["action"], e["note"]) for e in entries] == [
        (log.NOTE_ADD, 1),
        (log.NOTE_ADD, 2),
        (log.NOTE_REMOVE, 1),
    ]
    assert all(e["who"].startswith("cli:") for e in entries)
    assert "javascript" not in (home / "access.log").read_text()


def test_a_bad_note_is_refused_with_what_to_do(home):
    first, _ = shown_days(home)
    before = (first - timedelta(days=800)).isoformat()
    cases = {
        ("--date", str(first), "--text", "x" * 201): (2, "at most 200 characters"),
        ("--date", str(first), "--text", "two\nlines"): (2, "U+000A"),
        ("--date", before, "--text", "Old"): (2, "pick a later day"),
        ("--date", str(first), "--text", "x", "--by", "nobody"): (1, "No account 'nobody'"),
    }
    for args, (code, message) in cases.items():
        result = kanon(home, "notes", "add", *args)
        assert (result.returncode, message in result.stderr) == (code, True), result.stderr
    missing = kanon(home, "notes", "remove", "7")
    assert missing.returncode == 1 and "There is no note 7" in missing.stderr


def test_the_summary_workbook_lists_the_notes_of_its_range(home, tmp_path):
    first, last = shown_days(home)
    kanon(home, "notes", "add", "--date", str(first), "--text", "Campaign")
    kanon(home, "notes", "add", "--date", str(first - timedelta(days=60)), "--text", "Earlier")
    out = tmp_path / "summary.xlsx"
    result = kanon(
        home, "export", "--summary", "--grain", "day", "--start", str(first), "--end", str(last),
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = openpyxl.load_workbook(out)["About"].iter_rows(values_only=True)
    notes = [row[:3] for row in rows if str(row[0] or "").startswith("note ")]
    assert [(name, text, day.date()) for name, text, day in notes] == [
        ("note 1", "Campaign", first)
    ]
