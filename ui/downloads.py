"""CSV downloads: shown only to roles that may download, built and logged only on click."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from access import log
from access.roles import DOWNLOAD, Identity, may
from kanon.settings import Settings
from reports.grid import Selection
from reports.protect import Release
from ui import data

if TYPE_CHECKING:
    from ui.page import PageView


def download_button(view: PageView, report: str) -> None:
    """The CSV of what the page shows, for roles that may download (checked again on build)."""
    if not may(view.identity, DOWNLOAD):
        return
    selection = view.selection
    name = f"kanon-{report}-{selection.grain}-{selection.first_day}-{selection.last_day}.csv"
    st.download_button(
        "Download CSV",
        data=csv_builder(view.settings, view.identity, view.release, report, selection),
        file_name=name,
        mime="text/csv",
        key=f"download-{report}",
        on_click="ignore",
        icon=":material/download:",
    )


def csv_builder(
    settings: Settings, identity: Identity, release: Release, report: str, selection: Selection
) -> Callable[[], bytes]:
    """Bytes made on click, after the role check, and logged."""

    def build() -> bytes:
        if not may(identity, DOWNLOAD):
            raise PermissionError(f"{identity.email or 'This user'} may not download summaries.")
        payload = data.summary_csv(release, report, selection)
        log.record(
            settings.access_log_path,
            identity.email,
            "download",
            report,
            selection.first_day,
            selection.last_day,
            selection.grain,
        )
        return payload

    return build
