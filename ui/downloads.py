"""Downloads: shown only to roles that may download, built and logged only on click.

One menu per report: the report as CSV (plain, for tools, or `excel-nb` for a spreadsheet with
a Norwegian locale), or the workbook of every report over the same range and grain. Each is
exactly the page's selection, and the role is checked again when the bytes are built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from access import log
from access.roles import DOWNLOAD, Identity, may
from kanon.settings import Settings
from kanon.sources import summary_facts
from reports import export, workbook
from reports.grid import Selection
from reports.protect import Release

if TYPE_CHECKING:
    from ui.page import PageView

XLSX = "xlsx"
# choice -> (menu text, button text, MIME type, file extension)
FORMATS = {
    "plain": ("CSV", "Download CSV", "text/csv", "csv"),
    "excel-nb": ("CSV for Excel, Norwegian (; and ,)", "Download CSV", "text/csv", "csv"),
    XLSX: (
        "Workbook of every report (XLSX)",
        "Download workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
}
WORKBOOK_REPORT = "summary"  # what the access log calls the workbook


def download_button(view: PageView, report: str) -> None:
    """The page's selection as a file, for roles that may download (checked again on build)."""
    if not may(view.identity, DOWNLOAD):
        return
    selection = view.selection
    choice = st.selectbox(
        "Download as",
        list(FORMATS),
        format_func=lambda name: FORMATS[name][0],
        key=f"download-format-{report}",
    )
    _, label, mime, extension = FORMATS[choice or "plain"]
    if choice == XLSX:
        build = workbook_builder(view.settings, view.identity, view.release, selection)
        stem = f"kanon-summary-{selection.grain}"
    else:
        build = csv_builder(
            view.settings, view.identity, view.release, report, selection, choice or "plain"
        )
        stem = f"kanon-{report}-{selection.grain}"
    st.download_button(
        label,
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
) -> Callable[[], bytes]:
    """The report's CSV, with its provenance: made on click, after the role check, and logged."""

    def build() -> bytes:
        _check(identity)
        facts = summary_facts(settings, release.info)
        header = export.provenance(release, selection, facts, report=report)
        payload = export.to_csv(export.summary(release, report, selection), header, dialect)
        _log(settings, identity, report, selection)
        return payload

    return build


def workbook_builder(
    settings: Settings, identity: Identity, release: Release, selection: Selection
) -> Callable[[], bytes]:
    """The workbook of every report over the page's range and grain, like `csv_builder`."""

    def build() -> bytes:
        _check(identity)
        facts = summary_facts(settings, release.info)
        first, last = selection.first_day, selection.last_day
        payload = workbook.summary_workbook(release, selection.grain, first, last, facts)
        _log(settings, identity, WORKBOOK_REPORT, selection)
        return payload

    return build


def _check(identity: Identity) -> None:
    if not may(identity, DOWNLOAD):
        raise PermissionError(f"{identity.email or 'This user'} may not download summaries.")


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
