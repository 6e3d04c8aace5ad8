"""Overview: the site's KPI cards against the previous period, and its trend."""

import streamlit as st

from reports import charts
from reports.views import HEADLINE_FIGURES, LABELS
from ui import components, data, downloads, page

TREND_METRICS = list(HEADLINE_FIGURES)

view = page.start("Overview", "overview")
components.kpi_cards(data.kpis(view.query), view.selection.grain, view.release.k)

metric = st.segmented_control(
    "Trend",
    TREND_METRICS,
    default="users",
    required=True,
    format_func=LABELS.get,
    key="overview_metric",
    persist_state="session",
)
trend = data.site_trend(view.query)
figure = charts.site_trend_chart(trend, metric or "users", view.selection.grain)
components.plot(figure, key="trend-overview", grain=view.selection.grain)
st.caption("The dashed line is the previous run of periods, aligned period by period.")
downloads.download_button(view, "overview")
