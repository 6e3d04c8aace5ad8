"""Overview: the site's KPI cards against the previous period, and its trend."""

import streamlit as st

from kanon import i18n
from kanon.i18n import N_, _
from kanon.ui import data, downloads, notes, page, sections
from reports.views import HEADLINE_FIGURES, LABELS

TREND_METRICS = list(HEADLINE_FIGURES)

view = page.start(N_("Overview"), "overview")
sections.kpi_cards(data.kpis(view.query), view.selection.grain, view.release.k)

words = i18n.bound()
metric = st.segmented_control(
    _("Trend"),
    TREND_METRICS,
    default="users",
    required=True,
    format_func=lambda name: words(LABELS[name]),
    key="overview_metric",
    persist_state="session",
)
sections.site_trend(view, metric or "users", key="trend-overview")
st.caption(
    _(
        "The dashed line is the previous run of periods, aligned period by period. "
        "Notes are marked on the chart (a dotted line, or a shaded run of days)."
    )
)
downloads.download_button(view, "overview")
notes.notes_section(view)
