"""Notes on the dashboard: read for every page's trend charts, listed and written on the Overview.

Anyone who sees the dashboard may add a note; its author may edit or delete it, an admin any.
Buttons act in callbacks, before the page runs again: each asks the server who the sign-in
belongs to now (`context.identity_at_click`), and the store checks the author in the same
transaction as the change (`kanon.store.notes`). A note's text is written with `st.text`, never
as Markdown or HTML, and in charts escaped (`reports.charts.mark_notes`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from kanon.access import log
from kanon.access.roles import ADMIN, VIEW, Identity, may
from kanon.errors import KanonError
from kanon.i18n import _
from kanon.settings import Settings
from kanon.store import notes
from kanon.store.duckdb_store import Store, StoreError
from kanon.ui import context, data, format, language
from kanon.ui.page_view import PageView
from reports.grid import Selection, Window
from reports.notes import Note

MESSAGE = "_kanon_note_message"  # (kind, text) left by a click for the page's next run
DAYS, TEXT = "note-days", "note-text"  # the add form's widgets


@st.cache_data(ttl=data.STATUS_TTL, max_entries=64, show_spinner=False)
def _listed(store: str, first: date, last: date) -> tuple[Note, ...]:
    return notes.listed(Store(Path(store)), first, last)


def shown(settings: Settings, selection: Selection) -> tuple[Note, ...]:
    """The notes with a day in the selection (a note added from a shell shows within seconds)."""
    if not selection.periods:
        return ()
    try:
        return _listed(str(settings.store_path), *selection.days)
    except StoreError as error:
        data.store_problem(error)


def may_change(identity: Identity, note: Note) -> bool:
    """Whether to offer Edit and Delete (the store checks it again at the click)."""
    return note.author == identity.email or ADMIN in identity.roles


def notes_section(view: PageView) -> None:
    """The selection's notes, with Edit and Delete where allowed, then the form to add one."""
    st.header(_("Notes"))  # a section of the page: h2 under its h1 (heading order)
    _show_message()
    handle = context.session_handle()
    for note in view.notes:
        _note_row(view, note, handle)
    if not view.notes:
        st.text(_("No note on these days."))
    _add_form(view, handle)


def _show_message() -> None:
    message = st.session_state.pop(MESSAGE, None)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)(text, icon=None)


def _note_row(view: PageView, note: Note, handle: context.Handle) -> None:
    with st.container(border=True, key=f"note-{note.note_id}"):
        text, actions = st.columns([6, 1], vertical_alignment="center")
        text.text(f"{days(note)} · {note.author}")
        text.text(note.text)
        if not may_change(view.identity, note):
            return
        with actions.popover(_("Edit"), key=f"note-{note.note_id}-edit"):
            _edit_form(view, note, handle)


def days(note: Note) -> str:
    """A note's day, or its first and last day, as the page writes dates."""
    if note.first_day == note.last_day:
        return format.day(note.first_day)
    return _("{first} to {last}").format(
        first=format.day(note.first_day), last=format.day(note.last_day)
    )


def _edit_form(view: PageView, note: Note, handle: context.Handle) -> None:
    prefix = f"note-{note.note_id}"
    earliest, latest = _bounds(view)
    with st.form(f"{prefix}-form", border=False):
        st.date_input(
            _("Day, or first and last day"),
            value=(note.first_day, note.last_day),
            min_value=min(earliest, note.first_day),
            max_value=max(latest, note.last_day),
            format=format.date_input(),
            key=f"{prefix}-days",
        )
        st.text_input(_("Note"), value=note.text, max_chars=notes.MAX_TEXT, key=f"{prefix}-text")
        st.form_submit_button(
            _("Save"), on_click=_edit_clicked, args=(view.settings, handle, earliest, note.note_id)
        )
    st.button(
        _("Delete note"),
        key=f"{prefix}-delete",
        on_click=_remove_clicked,
        args=(view.settings, handle, note.note_id),
        icon=":material/delete:",
    )


def _add_form(view: PageView, handle: context.Handle) -> None:
    earliest, latest = _bounds(view)
    last = view.selection.last_day or date.today()
    with st.form("note-add"):
        st.info(_(notes.REMINDER), icon=":material/info:")
        st.date_input(
            _("Day, or first and last day"),
            value=(min(max(last, earliest), latest),),
            min_value=earliest,
            max_value=latest,
            format=format.date_input(),
            key=DAYS,
        )
        st.text_input(
            _("Note"),
            max_chars=notes.MAX_TEXT,
            placeholder=_("e.g. Spring campaign started; site down 02:00 to 04:00"),
            key=TEXT,
        )
        st.form_submit_button(
            _("Add note"), on_click=_add_clicked, args=(view.settings, handle, earliest)
        )


def _bounds(view: PageView) -> tuple[date, date]:
    """The first day a note may have (the release's, see `notes.first_allowed_day`) and the
    last."""
    today, first = date.today(), view.release.info.get("first_day")
    settings = view.settings
    window = Window.on(today, settings.retention_months, settings.settle_days).first_day
    earliest = window if first is None else pd.Timestamp(first).date()
    return earliest, today + timedelta(days=notes.MAX_AHEAD_DAYS)


# --- clicks: run before the page, as whoever the server says the sign-in is now ------------


def _add_clicked(settings: Settings, handle: context.Handle, earliest: date) -> None:
    who = _who_at_click(handle)
    if who is None:
        return
    try:
        first, last = _days(earliest, st.session_state.get(DAYS))
        note = notes.add(
            Store(settings.store_path), first, last, st.session_state.get(TEXT, ""), who.email
        )
    except (notes.NoteError, StoreError) as error:
        _tell("error", _not_saved(error))
        return
    log.note_changed(settings.access_log_path, who.email, log.NOTE_ADD, note.note_id, first, last)
    st.session_state[TEXT] = ""
    _changed(_("Note {number} added.").format(number=note.note_id))


def _edit_clicked(settings: Settings, handle: context.Handle, earliest: date, note_id: int) -> None:
    who = _who_at_click(handle)
    if who is None:
        return
    prefix = f"note-{note_id}"
    try:
        first, last = _days(earliest, st.session_state.get(f"{prefix}-days"))
        text = st.session_state.get(f"{prefix}-text", "")
        store = Store(settings.store_path)
        notes.edit(store, note_id, first, last, text, who.email, ADMIN in who.roles)
    except (notes.NoteError, notes.NoteRefused, StoreError) as error:
        _tell("error", _not_saved(error))
        return
    log.note_changed(settings.access_log_path, who.email, log.NOTE_EDIT, note_id, first, last)
    _changed(_("Note {number} saved.").format(number=note_id))


def _remove_clicked(settings: Settings, handle: context.Handle, note_id: int) -> None:
    who = _who_at_click(handle)
    if who is None:
        return
    store = Store(settings.store_path)
    try:
        note = notes.remove(store, note_id, who.email, ADMIN in who.roles)
    except (notes.NoteRefused, StoreError) as error:
        _tell("error", _("The note was not deleted: {error}").format(error=error.in_words(_)))
        return
    path = settings.access_log_path
    log.note_changed(path, who.email, log.NOTE_REMOVE, note_id, note.first_day, note.last_day)
    _changed(_("Note {number} deleted.").format(number=note_id))


def _who_at_click(handle: context.Handle) -> Identity | None:
    language.resume()  # a callback: the messages it leaves are read on the page
    who, reason = context.identity_at_click(handle)
    if who is None or not may(who, VIEW):
        _tell("error", context.change_refused(reason))
        return None
    return who


def _days(earliest: date, picked: object) -> tuple[date, date]:
    """The date input's one or two days, checked against the first day a note may have."""
    given = picked if isinstance(picked, tuple | list) else [picked]
    days = [day for day in given if isinstance(day, date)]
    if not days:
        raise notes.NoteError(_("Pick the note's day (or its first and last day)."))
    return notes.checked_days(days[0], days[-1], earliest, date.today())


def _not_saved(error: KanonError) -> str:
    if isinstance(error, StoreError):
        return _(
            "The note was not saved: {error} Your text is kept below; try again in a moment."
        ).format(error=error)
    return _("The note was not saved: {error}").format(error=error.in_words(_))


def _tell(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def _changed(text: str) -> None:
    _listed.clear()  # every session sees the change at its next run, not in a few seconds
    _tell("ok", text)
