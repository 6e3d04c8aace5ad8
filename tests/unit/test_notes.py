"""Notes in the store: bounds on their text and days, who may change them, retention, and
writing one while a sync runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.sample import SampleConnector
from kanon.retention import purge
from kanon.settings import load_settings
from kanon.store import notes
from kanon.store.duckdb_store import Store
from kanon.sync import sync
from reports import protect
from reports.grid import Window

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 3, 10)
EARLIEST = date(2025, 1, 1)
HOSTILE = "<b>x</b> *y* [l](javascript:z)"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kanon.duckdb")


def test_a_note_is_added_listed_edited_and_removed_with_ids_never_given_twice(store):
    first = notes.add(store, DAY, DAY, f"  {HOSTILE}  ", "ana")
    second = notes.add(store, DAY - timedelta(days=5), DAY + timedelta(days=2), "Outage", "bob")
    assert (first.text, first.author, first.note_id) == (HOSTILE, "ana", 1)
    assert notes.listed(store) == (second, first)  # earliest first
    assert notes.listed(store, DAY + timedelta(days=1), DAY + timedelta(days=9)) == (second,)
    assert notes.listed(store, DAY - timedelta(days=9), DAY - timedelta(days=6)) == ()

    edited = notes.edit(store, first.note_id, DAY, DAY + timedelta(1), "Campaign", "ana", False)
    assert (edited.text, edited.last_day, edited.created_at) == (
        "Campaign",
        DAY + timedelta(1),
        first.created_at,
    )
    assert notes.remove(store, second.note_id, "bob", admin=False) == second
    assert notes.add(store, DAY, DAY, "Third", "ana").note_id == 3  # 2 is not given again


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "needs a text"),
        ("   ", "needs a text"),
        ("x" * 201, "at most 200 characters; this one has 201"),
        ("two\nlines", "U+000A"),
        ("red \x1b[31m", "U+001B"),
        ("reversed \u202etxt", "U+202E"),
        ("line\u2028separator", "U+2028"),
    ],
)
def test_a_text_that_is_not_one_short_plain_line_is_refused(store, text, problem):
    with pytest.raises(notes.NoteError, match=problem.replace("+", r"\+")):
        notes.add(store, DAY, DAY, text, "ana")
    assert notes.listed(store) == ()


def test_two_hundred_characters_and_an_emoji_sequence_are_a_note():
    assert notes.checked_text("x" * 200) == "x" * 200
    family = "Launch 👩\u200d👩\u200d👧 – æøå"
    assert notes.checked_text(family) == family


@pytest.mark.parametrize(
    ("first", "last", "problem"),
    [
        (DAY, DAY - timedelta(days=1), "before its first"),
        (DAY, DAY + timedelta(days=366), "at most 366 days"),
        (EARLIEST - timedelta(days=9), EARLIEST - timedelta(days=1), "retention window"),
        (DAY + timedelta(days=367), None, "ahead of today"),
    ],
)
def test_days_out_of_bounds_are_refused(first, last, problem):
    with pytest.raises(notes.NoteError, match=problem):
        notes.checked_days(first, last, EARLIEST, DAY)


def test_a_run_of_days_reaching_into_the_window_is_kept():
    first = EARLIEST - timedelta(days=3)
    assert notes.checked_days(first, EARLIEST, EARLIEST, DAY) == (first, EARLIEST)
    assert notes.checked_days(DAY, None, EARLIEST, DAY) == (DAY, DAY)


def test_only_the_author_or_an_admin_changes_a_note(store):
    note = notes.add(store, DAY, DAY, "Campaign", "ana")
    with pytest.raises(notes.NoteRefused, match="someone else's"):
        notes.edit(store, note.note_id, DAY, DAY, "Mine now", "bob", admin=False)
    with pytest.raises(notes.NoteRefused, match="someone else's"):
        notes.remove(store, note.note_id, "bob", admin=False)
    assert notes.listed(store) == (note,)
    assert notes.edit(store, note.note_id, DAY, DAY, "Fixed", "ada", admin=True).text == "Fixed"
    notes.remove(store, note.note_id, "ada", admin=True)
    with pytest.raises(notes.NoteRefused, match="no note 1"):
        notes.remove(store, note.note_id, "ada", admin=True)


def test_the_store_keeps_a_bounded_number_of_notes(store, monkeypatch):
    monkeypatch.setattr(notes, "MAX_NOTES", 2)
    notes.add(store, DAY, DAY, "one", "ana")
    notes.add(store, DAY, DAY, "two", "ana")
    with pytest.raises(notes.NoteError, match="holds 2 notes"):
        notes.add(store, DAY, DAY, "three", "ana")


def test_retention_deletes_notes_whose_last_day_left_the_window(tmp_path):
    settings = load_settings(home=tmp_path, developer_mode=False)
    first_day = Window.on(DAY, settings.retention_months, settings.settle_days).first_day
    store = Store(settings.store_path)
    gone = notes.add(store, first_day - timedelta(days=9), first_day - timedelta(days=1), "a", "x")
    straddling = notes.add(store, first_day - timedelta(days=9), first_day, "b", "x")
    inside = notes.add(store, DAY, DAY, "c", "x")

    lines = purge(settings, today=DAY)

    assert notes.listed(store) == (straddling, inside)
    assert gone not in notes.listed(store)
    assert "deleted 1 rows" in lines[0]


# Adds notes as the dashboard does, in its own process (DuckDB locks the file per process),
# until told to stop; prints how many it added and the longest wait.
WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path
    from kanon.store import notes
    from kanon.store.duckdb_store import Store
    store, day, ready, stop = Store(Path(sys.argv[1])), date.fromisoformat(sys.argv[2]), \\
        Path(sys.argv[3]), Path(sys.argv[4])
    added, longest = 0, 0.0
    while not stop.exists():
        started = time.monotonic()
        notes.add(store, day, day, f"note {added}", "ana")
        longest = max(longest, time.monotonic() - started)
        added += 1
        ready.touch()
        time.sleep(1.0)  # a busy dashboard: people adding notes while the sync runs
    print(added, longest)
    """
)


@pytest.mark.slow
@pytest.mark.alone  # a write waits for the sync within a bound
def test_notes_are_written_while_a_sync_runs_and_neither_fails(tmp_path, monkeypatch):
    day = date(2025, 6, 1)
    settings = load_settings(home=tmp_path, retention_months=1)  # a small release, quickly
    real_protect = protect.protect_with_points

    def slow_protect(*args, **kwargs):
        time.sleep(3.0)  # as a large property's would take longer
        return real_protect(*args, **kwargs)

    monkeypatch.setattr(protect, "protect_with_points", slow_protect)
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(settings.store_path), str(day), str(ready), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the writer could not add a note"
        report = sync(settings, SampleConnector(scale=0.1, today=day))
        assert report.release["release_id"] == report.sync_id
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    added, longest = out.split()
    assert int(added) > 2  # it kept writing while the sync worked
    assert float(longest) < notes.WRITE_WAIT_SECONDS
    assert len(notes.listed(Store(settings.store_path))) == int(added)
