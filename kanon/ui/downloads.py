"""Downloads: shown only to roles that may download, built and logged only on click.

One menu per report: the report as CSV (plain, for tools, or `excel-nb` for a spreadsheet with
a Norwegian locale), or the workbook of every report over the same range and grain. Each is
exactly the page's selection.

A click on a download button does not run the page again: Streamlit calls the button's data
function on its own thread. So the button carries only a `context.Handle` (the sign-in's token
or key, captured when it was drawn), and the function first asks the server who that sign-in
belongs to now and what the allow-list lets them do (`check_at_click`): an idle, too old,
signed-out, removed or disabled session, or a role taken away, gets no file, a `refused` entry in
the access log, and a message on the page.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from kanon import i18n
from kanon.access import log
from kanon.access.roles import DOWNLOAD, Identity, may
from kanon.errors import KanonError
from kanon.i18n import N_, _
from kanon.settings import Settings
from kanon.sources import summary_book, summary_facts
from kanon.ui import context
from kanon.ui.page_view import PageView
from reports import export
from reports.grid import Selection
from reports.protect import Release

XLSX = "xlsx"
# choice -> (menu text, button text, MIME type, file extension)
FORMATS = {
    "plain": (N_("CSV"), N_("Download CSV"), "text/csv", "csv"),
    "excel-nb": (N_("CSV for Excel, Norwegian (; and ,)"), N_("Download CSV"), "text/csv", "csv"),
    XLSX: (
        N_("Workbook of every report (XLSX)"),
        N_("Download workbook"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
}
WORKBOOK_REPORT = "summary"  # what the access log calls the workbook
REFUSED = "refused"  # access-log action: a click that got no file


class DownloadRefused(KanonError, PermissionError):
    """The sign-in behind a click may not have the file now; the message says why."""


def download_button(view: PageView, report: str) -> None:
    """The page's selection as a file, for roles that may download (checked again on build)."""
    if not may(view.identity, DOWNLOAD):
        return
    selection = view.selection
    words = i18n.bound()
    choice = st.selectbox(
        _("Download as"),
        list(FORMATS),
        format_func=lambda name: words(FORMATS[name][0]),
        key=f"download-format-{report}",
    )
    _menu, label, mime, extension = FORMATS[choice or "plain"]
    handle = context.session_handle()
    if choice == XLSX:
        build = workbook_builder(
            view.settings, view.identity, view.release, selection, handle=handle
        )
        stem = f"kanon-summary-{selection.grain}"
    else:
        build = csv_builder(
            view.settings,
            view.identity,
            view.release,
            report,
            selection,
            choice or "plain",
            handle=handle,
        )
        stem = f"kanon-{report}-{selection.grain}"
    st.download_button(
        _(label),
        data=build,
        file_name=f"{stem}-{selection.first_day}-{selection.last_day}.{extension}",
        mime=mime,
        key=f"download-{report}",
        on_click="ignore",
        icon=":material/download:",
    )


def csv_builder(
    settings: Settings,
    identity: Identity,
    release: Release,
    report: str,
    selection: Selection,
    dialect: str = "plain",
    *,
    handle: context.Handle | None = None,
) -> Callable[[], bytes]:
    """The report's CSV, with its provenance: made on click, after the session and role are
    checked again (`handle`: the sign-in when the button was drawn), and logged."""
    handle = handle or context.session_handle()

    def build() -> bytes:
        who = check_at_click(settings, handle, DOWNLOAD, report, selection)
        facts = summary_facts(settings, release.info)
        header = export.provenance(release, selection, facts, report=report)
        payload = export.to_csv(export.summary(release, report, selection), header, dialect)
        _log(settings, who, report, selection)
        return payload

    return build


def workbook_builder(
    settings: Settings,
    identity: Identity,
    release: Release,
    selection: Selection,
    *,
    handle: context.Handle | None = None,
) -> Callable[[], bytes]:
    """The workbook of every report over the page's range and grain, like `csv_builder`."""
    handle = handle or context.session_handle()
    # The click runs on another thread, which has no reader: the language is the drawing run's.
    words = i18n.translations(i18n.language()).gettext

    def build() -> bytes:
        who = check_at_click(settings, handle, DOWNLOAD, WORKBOOK_REPORT, selection)
        first, last = selection.days  # the notes as they are at the click
        payload = summary_book(settings, release, selection.grain, first, last, words)
        _log(settings, who, WORKBOOK_REPORT, selection)
        return payload

    return build


def check_at_click(
    settings: Settings,
    handle: context.Handle,
    action: str,
    report: str,
    selection: Selection | None = None,
) -> Identity:
    """Who may have the file now, read again from the server; else log the refusal, tell the
    page why, and raise `DownloadRefused` (Streamlit then sends no file)."""
    now, reason = context.identity_at_click(handle)
    if now is not None and may(now, action):
        return now
    reason = reason or "role"
    log.event(
        settings.access_log_path,
        handle.who or "(not signed in)",
        REFUSED,
        report=report,
        grain=selection.grain if selection else None,
        start=selection.first_day.isoformat() if selection and selection.first_day else None,
        end=selection.last_day.isoformat() if selection and selection.last_day else None,
        reason=reason,
    )
    # English here (a worker thread has no reader); the page translates it when it shows it
    message = context.REASONS.get(reason) or f"No file: {reason}."
    context.tell(handle, message)
    raise DownloadRefused(message)


def _log(settings: Settings, identity: Identity, report: str, selection: Selection) -> None:
    log.record(
        settings.access_log_path,
        identity.email,
        "download",
        report,
        selection.first_day,
        selection.last_day,
        selection.grain,
    )
