"""Engagement: how long and how deeply people engage, for the site and per page."""

import streamlit as st

from connectors.catalog import BREAKDOWNS
from kanon.i18n import N_, _
from kanon.ui import downloads, page, sections

TRENDS = ["avg_session_duration", "engagement_rate", "bounce_rate", "views_per_session"]

view = page.start(N_("Engagement"), "engagement")
grain = view.selection.grain
for row in (TRENDS[:2], TRENDS[2:]):
    for column, metric in zip(st.columns(2), row, strict=True):
        with column:
            sections.site_trend(view, metric, key=f"site-{metric}")
st.caption(_("Dashed: the previous run of periods. Withheld periods are gaps."))
downloads.download_button(view, "overview")

st.header(_("Engagement per page"))
if grain in BREAKDOWNS["pages"].grains:
    sections.engagement_section(view)
else:
    st.info(
        _(
            "Pages are published by week and month only (a day's long tail would be almost "
            "all withheld). Switch the grain to Week or Month to see engagement per page."
        )
    )
