"""Charts ready to draw, built once per query and shared by every session.

Building a Plotly figure (validating every trace) costs more than drawing it: `bench_pages.py`
measured a breakdown page at several times its floor while it rebuilt its figures on every
rerun. They are cached with `st.cache_resource`, which hands every caller the same object
instead of a copy, so nothing may change a figure after it is built (`st.plotly_chart` only
reads it; `sections.shown_table` caches tables the same way). Keys are the same small values as
`kanon.ui.data`'s, so a new release never shows an old figure, and the language, whose words,
separators and period names a figure carries (`wording`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kanon import i18n
from kanon.ui import alternatives, data, format
from reports import charts
from reports.notes import Note

VIEW_TTL = data.VIEW_TTL
ENGAGEMENT_LEADERS = 15  # the most viewed pages, ranked by engagement on the Engagement page


# The hover's date (d3 format): numeric in Norwegian, whose month names Plotly does not know.
HOVER_DATE = {"nb": "%-d.%-m.%Y", "en": "%-d %b %Y"}


def wording(language: str) -> charts.Wording:
    """A chart's words, separators and period names in `language` (which must be current)."""
    marks = format.number(1234.5, 1)  # "1,234.5" or "1 234,5": the locale's own marks
    return charts.Wording(
        gettext=i18n._,
        separators=marks[-2] + marks[1],  # Plotly's order: decimal mark, then thousands
        period=format.period,
        hover_date=HOVER_DATE[language],
    )


@st.cache_resource(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def site_trend(
    query: data.Query, metric: str, language: str, notes: tuple[Note, ...] = ()
) -> go.Figure:
    trend, shown = data.site_trend(query), (query.first, query.last)
    words = wording(language)
    return charts.site_trend_chart(trend, metric, query.grain, notes, shown, words=words)


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def site_trend_summary(query: data.Query, metric: str, language: str) -> str:
    """The site trend's text alternative (`kanon.ui.alternatives`) in `language`."""
    return alternatives.trend_summary(data.site_trend(query), metric, query.grain)


@st.cache_resource(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def category_bars(query: data.Query, name: str, metric: str, language: str) -> go.Figure:
    table = by_category(data.breakdown_table(query, name))
    return charts.category_bar_chart(table, metric, words=wording(language))


@st.cache_resource(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def category_trends(
    query: data.Query, name: str, metric: str, language: str, notes: tuple[Note, ...] = ()
) -> go.Figure:
    cells, shown = by_category(data.series(query, name)), (query.first, query.last)
    return charts.category_trend_chart(
        cells, metric, query.grain, notes=notes, shown=shown, words=wording(language)
    )


@st.cache_resource(ttl=VIEW_TTL, max_entries=128, show_spinner=False)
def engagement_bars(query: data.Query, language: str) -> go.Figure:
    """The most viewed pages, by engagement time per visit."""
    leading = charts.listed(data.breakdown_table(query, "pages"))
    leading = leading[leading["views"].notna()].nlargest(ENGAGEMENT_LEADERS, "views")
    table = by_category(leading)
    return charts.category_bar_chart(table, "engagement_per_session", words=wording(language))


def by_category(frame: pd.DataFrame) -> pd.DataFrame:
    """Charts name categories by their key: page titles repeat ("(not set)"), paths do not."""
    return frame.assign(label=frame["category"])
