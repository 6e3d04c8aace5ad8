"""Plotly figures built from views. Withheld cells become gaps: no value, no hover number."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from reports.status import PUBLISHED
from reports.views import LABELS

MAX_LABEL = 60


def display_label(text: str) -> str:
    """Short, inert text for a chart: hostile names (`<script>`, 2,000-character URLs) included."""
    text = str(text)
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    return html.escape(text, quote=False)  # Plotly reads tags, not &quot; entities


def site_trend_chart(trend: pd.DataFrame, metric: str, grain: str) -> go.Figure:
    """The site's figure per period, the previous run of periods dashed beside it."""
    figure = go.Figure()
    current = trend[metric].where(trend["status"] == PUBLISHED)
    figure.add_trace(
        go.Scatter(
            x=trend["period"],
            y=current,
            name="Selected period",
            mode="lines+markers",
            connectgaps=False,
        )
    )
    previous_column = f"{metric}_previous"
    if previous_column in trend and trend[previous_column].notna().any():
        figure.add_trace(
            go.Scatter(
                x=trend["period"],
                y=trend[previous_column],
                name="Previous period",
                mode="lines",
                line={"dash": "dash"},
                connectgaps=False,
            )
        )
    return _layout(figure, f"{LABELS.get(metric, metric)} per {grain}")


def listed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that name a category: the "Other (not listed)" remainder is no leader."""
    return frame[~frame["other"].astype(bool)] if "other" in frame else frame


def category_trend_chart(cells: pd.DataFrame, metric: str, grain: str, top: int = 8) -> go.Figure:
    """One line per leading category; withheld periods are gaps in the line."""
    cells = listed(cells)
    published = cells[cells["status"] == PUBLISHED]
    leaders = (
        published.groupby("label")[metric]
        .sum()
        .sort_values(ascending=False)
        .head(top)
        .index.tolist()
    )
    figure = go.Figure()
    for label in leaders:
        rows = cells[cells["label"] == label].sort_values("period")
        values = rows[metric].where(rows["status"] == PUBLISHED)
        figure.add_trace(
            go.Scatter(
                x=rows["period"],
                y=values,
                name=display_label(label),
                mode="lines+markers",
                connectgaps=False,
            )
        )
    return _layout(figure, f"{LABELS.get(metric, metric)} per {grain}, top {len(leaders)}")


def category_bar_chart(table: pd.DataFrame, metric: str, top: int = 15) -> go.Figure:
    """Leading categories over the selection; only published figures have bars."""
    table = listed(table)
    rows = table[table[metric].notna()].nlargest(top, metric).iloc[::-1]
    figure = go.Figure(
        go.Bar(x=rows[metric], y=[display_label(x) for x in rows["label"]], orientation="h")
    )
    return _layout(figure, LABELS.get(metric, metric))


def _layout(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(
        title=title,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=380,
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    return figure
