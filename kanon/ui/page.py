"""The start of every page: check the role, load the release, pick the range, log the view.

Each page calls `start` (or `guard`) itself, so the role is checked on the server by the page
that shows the figures, not only by the navigation that lists it.
"""

from __future__ import annotations

import streamlit as st

from connectors.catalog import GRAINS
from kanon.access import log
from kanon.access.roles import VIEW, Identity, may
from kanon.i18n import _
from kanon.settings import Settings
from kanon.ui import context, data, language, messages, notes, pickers
from kanon.ui.page_view import PageView
from reports.grid import Selection


def guard(title: str, action: str) -> tuple[Settings, Identity]:
    """The page title (marked with `N_`, translated here), then stop unless the identity may
    perform `action`."""
    settings = context.settings_or_stop()
    identity = context.identity(settings)
    language.apply(settings, identity)  # again: a page may run without dashboard.py
    st.title(_(title))
    if not may(identity, action):
        if identity.roles:
            messages.denied(action)
        else:
            messages.signed_out(identity, title=False)
        st.stop()
    return settings, identity


def start(
    title: str, report: str, *, action: str = VIEW, grains: tuple[str, ...] = GRAINS
) -> PageView:
    """Everything a report page needs before its first figure, or a stop with a message."""
    settings, identity = guard(title, action)
    release = data.current_release(settings)
    if release is None:
        messages.no_release()
        st.stop()
    selection = pickers.range_picker(settings, release, grains)
    pickers.range_caption(selection)
    if not selection.periods:
        st.info(_("Pick a range that covers at least one whole published period."))
        st.stop()
    log_once(settings, identity, report, selection)
    return PageView(settings, identity, release, selection, notes.shown(settings, selection))


def log_once(
    settings: Settings, identity: Identity, report: str, selection: Selection | None = None
) -> None:
    """One access-log entry per page and range a person looks at, not one per rerun."""
    first = selection.first_day if selection else None
    last = selection.last_day if selection else None
    grain = selection.grain if selection else None
    entry = (report, grain, first, last)
    if st.session_state.get("_kanon_last_view") == entry:
        return
    log.record(settings.access_log_path, identity.email, "view", report, first, last, grain)
    st.session_state["_kanon_last_view"] = entry
