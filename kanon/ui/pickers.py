"""The sidebar's range and grain: presets or custom dates, snapped to whole published periods,
carried from page to page and written to the address so a view can be bookmarked or shared.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from connectors.catalog import GRAINS
from kanon import i18n
from kanon.i18n import N_, _
from kanon.settings import Settings
from kanon.ui import data, format, links
from reports.grid import Selection
from reports.protect import Release

# The presets' names are also their values in links (`?range=Last+28+days`): kept in English
# there, shown in the reader's language.
PRESETS: dict[str, int | None] = {
    N_("Last 7 days"): 7,
    N_("Last 28 days"): 28,
    N_("Last 90 days"): 90,
    N_("Last 12 months"): 365,
    N_("Custom"): None,
}
DEFAULT_PRESET = "Last 28 days"
LINK_WRITTEN = "_kanon_link_written"  # the query string the range picker last wrote
SELECTION = "_kanon_selection"  # range and grain, carried from page to page


def last_settled(release: Release) -> date:
    """The newest day GA4 no longer revises: where every range ends."""
    value = release.info.get("last_settled")
    if value is not None and not pd.isna(value):
        return pd.Timestamp(value).date()
    return max(release.periods("day"))


def range_picker(
    settings: Settings, release: Release, grains: tuple[str, ...] = GRAINS
) -> Selection:
    """Sidebar: preset or custom range and the grain, snapped to whole published periods."""
    store, rid = str(settings.store_path), data.release_id(release)
    last = last_settled(release)
    link = _followed_link()
    remembered = st.session_state.get(SELECTION, {})
    sidebar = st.sidebar
    sidebar.subheader(_("Range"))
    preset = sidebar.selectbox(
        _("Range"),
        list(PRESETS),
        format_func=i18n.bound(),
        index=list(PRESETS).index(link.preset or remembered.get("preset", DEFAULT_PRESET)),
        key="range_preset",
        persist_state="session",
        label_visibility="collapsed",
    )
    first, chosen_last = _preset_range(preset, last)
    if preset == "Custom":
        wanted = (link.first, link.last) if link.first and link.last else remembered.get("custom")
        first, chosen_last = _custom_range(release, last, wanted)
    grain = _grain_picker(grains, link.grain or remembered.get("grain"))
    sidebar.caption(_("Data up to {day}, the last settled day.").format(day=format.day(last)))
    # The selection follows the person from page to page (pages keep their own grain).
    kept_grain = grain if grains == GRAINS else remembered.get("grain")
    st.session_state[SELECTION] = {"preset": preset, "grain": kept_grain}
    if preset == "Custom":
        st.session_state[SELECTION]["custom"] = (first, chosen_last)
    address = links.query(preset, first, chosen_last, grain)
    st.query_params.from_dict(address)  # the address can be bookmarked or shared as it is
    st.session_state[LINK_WRITTEN] = address
    return data.selection(store, rid, grain, first, chosen_last)


def _followed_link() -> links.Link:
    """The range and grain of an address someone opened (a bookmark, a shared link).

    Only a query string other than the one this page last wrote is a new link. It sets the
    pickers' starting values, so it counts when a browser session opens (a reload starts a
    new one), which is when a link is opened.
    """
    asked = st.query_params.to_dict()
    if not asked or asked == st.session_state.get(LINK_WRITTEN):
        return links.Link()
    link = links.parse(asked, list(PRESETS))
    if link.problems:
        st.warning(
            _(
                "This link asks for something Kanon cannot show: {problems}. Showing the "
                "default selection instead."
            ).format(problems=format.plain("; ".join(link.problems))),
            icon=":material/link_off:",
        )
    return link


def _preset_range(preset: str, last: date) -> tuple[date, date]:
    days = PRESETS.get(preset) or PRESETS[DEFAULT_PRESET]
    assert days is not None  # the default preset is a number of days
    if preset == "Last 12 months":
        first = (pd.Timestamp(last) - pd.DateOffset(months=12) + pd.Timedelta(days=1)).date()
        return first, last
    return last - timedelta(days=days - 1), last


def _custom_range(
    release: Release, last: date, wanted: tuple[date, date] | None
) -> tuple[date, date]:
    """Dates limited to the release's periods (inside the retention window, up to settled)."""
    earliest = min(release.periods("day") or [last])
    default = (max(earliest, last - timedelta(days=27)), last)
    if wanted and max(wanted[0], earliest) <= min(wanted[1], last):
        default = (max(wanted[0], earliest), min(wanted[1], last))
    picked = st.sidebar.date_input(
        _("From – to"),
        value=default,
        min_value=earliest,
        max_value=last,
        key="range_custom",
        persist_state="session",
        format=format.date_input(),
    )
    ends = tuple(picked) if isinstance(picked, tuple | list) else (picked,)
    if not ends or ends[0] is None:
        return default
    return ends[0], ends[-1]  # while picking, only the first date is set


def _grain_picker(grains: tuple[str, ...], chosen: str | None = None) -> str:
    # Pages publish weeks and months only: their switch has its own key, starting at the
    # grain chosen elsewhere when it is allowed here.
    key = "grain" if grains == GRAINS else "grain_" + "_".join(grains)
    grain = st.sidebar.radio(
        _("Grain"),
        grains,
        index=grains.index(chosen) if chosen in grains else 0,
        format_func=format.grain_namer(),
        key=key,
        horizontal=True,
        persist_state="session",
    )
    if grains != GRAINS:
        st.sidebar.caption(_("This report is published by week and month only."))
    return grain or grains[0]


def range_caption(selection: Selection) -> None:
    st.markdown(f"**{format.showing(selection)}**")
    st.caption(format.compared_with(selection))
