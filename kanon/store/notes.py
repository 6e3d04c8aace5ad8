"""Notes on the charts, kept in the store's `notes` table beside the statistics they explain.

Where they live, and why there: in the DuckDB file itself, so they follow the retention window
in the same transaction that purges the statistics (`duckdb_store.purge_before`, run by every
sync and by `kanon purge`), and a backup of the store holds them. DuckDB lets one process hold
the file at a time, and the dashboard and a sync take turns on it through short connections
(see `duckdb_store`): a sync holds no connection while it fetches, protects and audits, only
for its short publish transaction. A note is one more short connection: it waits for a
publish to end (`WRITE_WAIT_SECONDS`, longer than a read's wait, because a person's typed text
is at stake) and holds the file for a few milliseconds, less than the sync's own wait for the
file, so neither breaks the other. A separate small file would avoid even that wait, but
would need its own retention, backup and locking; if the store stays busy past the wait, the
note is refused with a message saying to try again, and the form keeps the text.

Every change checks who may make it inside the transaction that makes it: the author may edit
or delete their note, an admin any (`edit`, `remove`).
"""

from __future__ import annotations

import unicodedata
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta

import duckdb

from kanon.errors import EXIT_USAGE, KanonError
from kanon.i18n import N_
from kanon.store.duckdb_store import Store, now
from reports.notes import Note, overlapping

MAX_TEXT = 200  # characters: a note names an event, it is not a report
MAX_SPAN_DAYS = 366  # a note covers at most a year of days
MAX_AHEAD_DAYS = 366  # a planned campaign may be noted ahead, up to a year
MAX_NOTES = 2000  # in the store at once: charts and the workbook stay quick to build
MAX_AUTHOR = 254  # an account name may be an e-mail address
WRITE_WAIT_SECONDS = 15.0  # how long a note waits for a sync's publish to release the file
REMINDER = N_("A note is about the site (a campaign, a redesign, an outage), never about a person.")
SWAPPED = N_("A note's last day ({last}) is before its first ({first}); swap them.")
REFUSALS = {
    "edit": N_("Note {number} is someone else's: only its author or an admin may edit it."),
    "delete": N_("Note {number} is someone else's: only its author or an admin may delete it."),
}
# Controls, separators and formatting characters (bidi overrides among them) could forge a
# line or make a text read otherwise than it is; the zero-width joiner is kept for emoji.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ALLOWED_FORMAT = frozenset({"\u200d"})
_COLUMNS = "note_id, first_day, last_day, text, author, created_at, changed_at"


class NoteError(KanonError, ValueError):
    """A note that cannot be written as given; the message says what to change."""

    exit_code = EXIT_USAGE


class NoteRefused(KanonError, PermissionError):
    """The note is someone else's (only its author or an admin may change it), or gone."""


def checked_text(text: str) -> str:
    """The note's text, trimmed, or NoteError saying what is wrong with it."""
    text = text.strip()
    if not text:
        raise NoteError.said(
            N_("A note needs a text: say what happened (a campaign, an outage, ...).")
        )
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _ALLOWED_FORMAT:
            raise NoteError.said(
                N_(
                    "A note is one line of plain text; it holds the control character "
                    "U+{code}. Remove it (and any line break) and try again."
                ),
                code=f"{ord(char):04X}",
            )
    if len(text) > MAX_TEXT:
        raise NoteError.said(
            N_("A note is at most {most} characters; this one has {count}. Shorten it."),
            most=MAX_TEXT,
            count=len(text),
        )
    return text


def checked_days(first: date, last: date | None, earliest: date, today: date) -> tuple[date, date]:
    """(first, last) of a note on one day (`last` None) or a run of days, or NoteError.

    `earliest` is the retention window's first day: a note wholly before it would be purged
    at the next sync, so it is refused instead."""
    last = first if last is None else last
    if last < first:
        raise NoteError.said(SWAPPED, first=first, last=last)
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise NoteError.said(
            N_("A note covers at most {most} days; split it or shorten it."), most=MAX_SPAN_DAYS
        )
    if last < earliest:
        raise NoteError.said(
            N_(
                "Statistics before {earliest} are deleted (the retention window), and so are "
                "notes about them: pick a later day."
            ),
            earliest=earliest,
        )
    if first > today + timedelta(days=MAX_AHEAD_DAYS):
        raise NoteError.said(
            N_("A note may be at most {most} days ahead of today."), most=MAX_AHEAD_DAYS
        )
    return first, last


def first_allowed_day(store: Store, window_first_day: date) -> date:
    """The first day a note may have: the release's first day (the charts show nothing
    earlier, and the next sync purges what ends before it), or before the first release, the
    first day of the retention window as of today."""
    info = store.release_info()
    if not info or info.get("first_day") is None:
        return window_first_day
    first = info["first_day"]
    return first.date() if isinstance(first, datetime) else first


def add(store: Store, first: date, last: date, text: str, author: str) -> Note:
    """Write a new note by `author` (an account name); returns it with its id.

    Check the days with `checked_days` first: the store does not know the window."""
    text = checked_text(text)
    if not author.strip() or len(author) > MAX_AUTHOR:
        raise NoteError.said(
            N_("A note needs its author's account name (at most {most} characters)."),
            most=MAX_AUTHOR,
        )
    if last < first:
        raise NoteError.said(SWAPPED, first=first, last=last)
    at = now()
    with _writing(store) as con:
        count = con.execute("SELECT count(*) FROM notes").fetchall()[0][0]
        if count >= MAX_NOTES:
            raise NoteError.said(
                N_(
                    "The store holds {most} notes, the most it keeps; remove old ones "
                    "(`kanon notes list`, `kanon notes remove ID`) before adding more."
                ),
                most=MAX_NOTES,
            )
        row = con.execute(
            f"INSERT INTO notes ({_COLUMNS}) VALUES (nextval('note_ids'), ?, ?, ?, ?, ?, ?) "
            f"RETURNING {_COLUMNS}",
            [first, last, text, author.strip(), at, at],
        ).fetchall()[0]
    return _note(row)


def edit(
    store: Store, note_id: int, first: date, last: date, text: str, by: str, admin: bool
) -> Note:
    """Change a note's days and text, if `by` wrote it or is an admin (checked in the same
    transaction as the change); NoteRefused otherwise."""
    text = checked_text(text)
    if last < first:
        raise NoteError.said(SWAPPED, first=first, last=last)
    with _writing(store) as con:
        rows = con.execute(
            "UPDATE notes SET first_day = ?, last_day = ?, text = ?, changed_at = ? "
            f"WHERE note_id = ? AND (author = ? OR ?) RETURNING {_COLUMNS}",
            [first, last, text, now(), note_id, by, admin],
        ).fetchall()
        if not rows:
            _refuse(con, note_id, "edit")
    return _note(rows[0])


def remove(store: Store, note_id: int, by: str, admin: bool) -> Note:
    """Delete a note, if `by` wrote it or is an admin (checked in the same transaction as the
    deletion); returns what was deleted, NoteRefused otherwise."""
    with _writing(store) as con:
        rows = con.execute(
            f"DELETE FROM notes WHERE note_id = ? AND (author = ? OR ?) RETURNING {_COLUMNS}",
            [note_id, by, admin],
        ).fetchall()
        if not rows:
            _refuse(con, note_id, "delete")
    return _note(rows[0])


def listed(store: Store, first: date | None = None, last: date | None = None) -> tuple[Note, ...]:
    """The notes with a day in [first, last] (either end open), earliest first; none before
    the first sync."""
    if not store.path.exists():
        return ()
    with store.connect() as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM notes").fetchall()
    return overlapping((_note(row) for row in rows), first or date.min, last or date.max)


def _writing(store: Store) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A write transaction that waits longer than a read for a sync to let go of the file."""
    return Store(store.path, wait_seconds=max(store.wait_seconds, WRITE_WAIT_SECONDS)).transaction()


def _refuse(con: duckdb.DuckDBPyConnection, note_id: int, verb: str) -> None:
    exists = con.execute("SELECT count(*) FROM notes WHERE note_id = ?", [note_id]).fetchall()
    if not exists[0][0]:
        raise NoteRefused.said(
            N_("There is no note {number} (it may have been deleted meanwhile)."), number=note_id
        )
    raise NoteRefused.said(REFUSALS[verb], number=note_id)


def _note(row: tuple) -> Note:
    note_id, first, last, text, author, created, changed = row
    return Note(int(note_id), first, last, text, author, created, changed)
