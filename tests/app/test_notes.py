"""Notes on the Overview: the form, the list, the markers on the trend, who may change a note,
the access log, and the workbook's About sheet. Each test has its own copy of the release, so
its notes never reach another test's charts."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from kanon.access import log
from kanon.access.accounts import Accounts
from kanon.access.roles import ADMIN, ANALYST, MANAGER, Identity
from kanon.store import notes
from kanon.store.duckdb_store import Store
from kanon.ui import context, downloads
from kanon.ui import notes as note_widgets
from reports import charts
from tests.app import support

HOSTILE = "<b>x</b> *y* [l](javascript:z)"
ANA = support.ANALYST_ID
BOB = Identity("bob@example.com", frozenset({ANALYST}))
ADA = Identity("ada@example.com", frozenset({ADMIN, ANALYST}))  # the dashboard needs a view role


@pytest.fixture
def own_home(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = support.published_home(request.config, tmp_path / "home")
    for name in ("KANON_SETTINGS", "KANON_K", "KANON_DEVELOPER_MODE", "KANON_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def become(own_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Run the app as `identity`, with a real sign-in on the server for clicks to find."""
    note_widgets._listed.clear()  # notes are cached per store path; each test has its own

    def switch(identity: Identity) -> None:
        monkeypatch.setattr("kanon.ui.context.identity", lambda settings: identity)
        handle = support.handle_for(own_home, identity)
        monkeypatch.setattr("kanon.ui.context.session_handle", lambda: handle)

    yield switch
    note_widgets._listed.clear()


def a_shown_day(home: Path) -> date:
    """A day inside the Overview's default range."""
    selection = support.default_selection(support.release_of(home))
    return selection.days[1] - timedelta(days=3)


def add_on_the_page(at: AppTest, days: tuple[date, ...], text: str) -> AppTest:
    at.date_input(key=note_widgets.DAYS).set_value(days)
    at.text_input(key=note_widgets.TEXT).input(text)
    return next(b for b in at.button if b.label == "Add note").click().run()


def notes_trace(at: AppTest) -> dict:
    figure = support.figure_keyed(at, "trend-overview")
    return next(t for t in figure["data"] if t.get("name") == charts.NOTES_TRACE)


def log_entries(home: Path, action: str) -> list[dict]:
    return log.entries(home / "access.log", action=action)


def test_an_analyst_adds_a_note_shown_as_text_in_the_list_and_on_the_trend(become, own_home):
    become(ANA)
    day = a_shown_day(own_home)
    at = support.open_page()
    assert notes.REMINDER in [i.value for i in at.info]

    at = add_on_the_page(at, (day,), HOSTILE)

    assert not at.exception, [e.value for e in at.exception]
    (note,) = notes.listed(Store(own_home / "kanon.duckdb"))
    assert (note.first_day, note.last_day, note.text, note.author) == (day, day, HOSTILE, ANA.email)
    assert [s.value for s in at.success] == [f"Note {note.note_id} added."]
    # Listed as text, never as Markdown or HTML.
    assert HOSTILE in [t.value for t in at.text]
    assert not any("javascript" in m.value or "<b>" in m.value for m in at.markdown)
    assert at.text_input(key=note_widgets.TEXT).value == ""  # cleared for the next note
    # Marked on the trend, its text escaped for Plotly.
    trace = notes_trace(at)
    assert support.days(trace["x"]) == [day]
    (hover,) = trace["customdata"]
    assert "&lt;b&gt;x&lt;/b&gt;" in hover and "<b>" not in hover
    shapes = support.figure_keyed(at, "trend-overview")["layout"]["shapes"]
    assert [(s["type"], s["x0"][:10]) for s in shapes] == [("line", day.isoformat())]
    # Logged: who, what, which note; never its text.
    (entry,) = log_entries(own_home, log.NOTE_ADD)
    assert (entry["who"], entry["note"], entry["start"]) == (ANA.email, note.note_id, str(day))
    assert "javascript" not in (own_home / "access.log").read_text()


def test_a_run_of_days_is_shaded_and_a_bad_text_is_refused_and_kept(become, own_home):
    become(ANA)
    day = a_shown_day(own_home)
    at = add_on_the_page(support.open_page(), (day - timedelta(days=4), day), "Spring campaign")
    shapes = support.figure_keyed(at, "trend-overview")["layout"]["shapes"]
    assert [s["type"] for s in shapes] == ["rect"]

    at = add_on_the_page(at, (day,), "red \x1b[31m text")
    assert "control character U+001B" in at.error[0].value
    assert at.text_input(key=note_widgets.TEXT).value == "red \x1b[31m text"  # not lost
    assert len(notes.listed(Store(own_home / "kanon.duckdb"))) == 1


def test_another_analyst_cannot_change_a_note_its_author_and_an_admin_can(become, own_home):
    store = Store(own_home / "kanon.duckdb")
    day = a_shown_day(own_home)
    note = notes.add(store, day, day, "Redesign went live", ANA.email)
    key = f"note-{note.note_id}"

    become(BOB)
    at = support.open_page()
    assert "Redesign went live" in [t.value for t in at.text]  # every viewer sees it
    assert not [b for b in at.button if b.key == f"{key}-delete"]  # but may not change it

    become(ANA)
    at = support.open_page()
    at.text_input(key=f"{key}-text").input("Redesign went live (all pages)")
    at = next(b for b in at.button if b.label == "Save").click().run()
    assert notes.listed(store)[0].text == "Redesign went live (all pages)"
    assert [e["note"] for e in log_entries(own_home, log.NOTE_EDIT)] == [note.note_id]

    become(ADA)
    at = support.open_page()
    at = at.button(key=f"{key}-delete").click().run()
    assert notes.listed(store) == ()
    assert [s.value for s in at.success] == [f"Note {note.note_id} deleted."]
    (entry,) = log_entries(own_home, log.NOTE_REMOVE)
    assert (entry["who"], entry["note"]) == (ADA.email, note.note_id)


def test_roles_and_ownership_are_checked_at_the_click(become, own_home):
    """The page was drawn for the author; by the click, her role was taken away."""
    store = Store(own_home / "kanon.duckdb")
    day = a_shown_day(own_home)
    note = notes.add(store, day, day, "Outage 02:00-04:00", ANA.email)
    become(ANA)
    at = support.open_page()
    Accounts(own_home / "accounts.sqlite").set_roles(ANA.email, [])

    at = at.button(key=f"note-{note.note_id}-delete").click().run()

    assert notes.listed(store) == (note,)
    assert log_entries(own_home, log.NOTE_REMOVE) == []


def test_the_workbook_about_sheet_lists_the_notes_of_its_range(become, own_home):
    store = Store(own_home / "kanon.duckdb")
    day = a_shown_day(own_home)
    inside = notes.add(store, day, day + timedelta(days=1), '=HYPERLINK("x") launch', ANA.email)
    notes.add(store, day - timedelta(days=200), day - timedelta(days=199), "Long ago", ANA.email)
    manager = Identity("max@example.com", frozenset({MANAGER}))
    become(manager)
    release = support.release_of(own_home)
    build = downloads.workbook_builder(
        context.current_settings(),
        manager,
        release,
        support.default_selection(release),
        handle=context.session_handle(),
    )

    about = openpyxl.load_workbook(io.BytesIO(build()))["About"]

    rows = [r for r in about.iter_rows() if str(r[0].value or "").startswith("note ")]
    listed = [(r[0].value, r[1].value) for r in rows]
    assert listed == [(f"note {inside.note_id}", inside.text)]
    (row,) = rows
    assert row[1].data_type == "s"  # a string, never a formula
    assert (row[2].value.date(), row[3].value.date(), row[4].value) == (
        day,
        day + timedelta(days=1),
        ANA.email,
    )
