"""Charts ready to draw, built once per query and shared by every session.

Building a Plotly figure (validating every trace) costs more than drawing it: `bench_pages.py`
measured a breakdown page at several times its floor while it rebuilt its figures on every
rerun. They are cached with `st.cache_resource`, which hands every caller the same object
instead of a copy, so nothing may change a figure after it is built (`st.plotly_chart` only
reads it; `sections.shown_table` caches tables the same way). Keys are the same small values as
`kanon.ui.data`'s, so a new release never shows an old figure.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kanon.ui import alternatives, data
from reports import charts
from reports.notes import Note

VIEW_TTL = data.VIEW_TTL
ENGAGEMENT_LEADERS = 15  # the most viewed pages, ranked by engagement on the Engagement page


@st.cache_resource(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def site_trend(query: data.Query, metric: str, notes: tuple[Note, ...] = ()) -> go.Figure:
    shown = (query.first, query.last)
    return charts.site_trend_chart(data.site_trend(query), metric, query.grain, notes, shown)


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def site_trend_summary(query: data.Query, metric: str) -> str:
    """The site trend's text alternative (`kanon.ui.alternatives`)."""
    return alternatives.trend_summary(data.site_trend(query), metric, query.grain)


@st.cache_resource(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def category_bars(query: data.Query, name: str, metric: str) -> go.Figure:
    return charts.category_bar_chart(by_category(data.breakdown_table(query, name)), metric)


@st.cache_resource(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def category_trends(
    query: data.Query, name: str, metric: str, notes: tuple[Note, ...] = ()
) -> go.Figure:
    cells = by_category(data.series(query, name))
    shown = (query.first, query.last)
    return charts.category_trend_chart(cells, metric, query.grain, notes=notes, shown=shown)


@st.cache_resource(ttl=VIEW_TTL, max_entries=128, show_spinner=False)
def engagement_bars(query: data.Query) -> go.Figure:
    """The most viewed pages, by engagement time per visit."""
    leading = charts.listed(data.breakdown_table(query, "pages"))
    leading = leading[leading["views"].notna()].nlargest(ENGAGEMENT_LEADERS, "views")
    return charts.category_bar_chart(by_category(leading), "engagement_per_session")


def by_category(frame: pd.DataFrame) -> pd.DataFrame:
    """Charts name categories by their key: page titles repeat ("(not set)"), paths do not."""
    return frame.assign(label=frame["category"])
