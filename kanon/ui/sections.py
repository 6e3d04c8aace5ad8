"""The figures a page draws: KPI cards, breakdown sections (chart, trend, table, what is
withheld, the download) and the engagement section.

Everything data-derived is written as plain text through Streamlit's escaping widgets
(never `unsafe_allow_html`), and charts label categories with `charts.display_label`, so a
category called `<script>alert(1)</script>` or `=HYPERLINK(...)` stays inert text.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from connectors.catalog import BREAKDOWNS
from connectors.figures import DECIMALS, FIGURE, LABELS, Figure, Kind
from kanon.ui import data, downloads, figures, format
from kanon.ui.page_view import PageView
from reports.notes import Note
from reports.views import HEADLINE_FIGURES, Kpi

CATEGORY_TITLES = {
    "pages": "Page",
    "sources": "Source / medium",
    "channels": "Channel",
    "browsers": "Browser",
    "devices": "Device",
    "operating_systems": "Operating system",
    "countries": "Country",
}
TABLE_FIGURES = HEADLINE_FIGURES
TABLE_DECIMALS = DECIMALS  # of each figure a table writes as text (see `with_marks`)
ENGAGEMENT_FIGURES = (
    "views",
    "engagement_per_session",
    "avg_session_duration",
    "engagement_rate",
    "bounce_rate",
)
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def kpi_cards(cards: list[Kpi], grain: str, k: int) -> None:
    """Site-wide figures with their change against the previous run of periods."""
    rows = [cards[:4], cards[4:]]
    for row in rows:
        for column, card in zip(st.columns(4), row, strict=False):
            column.metric(
                format.card_label(card.label),
                format.figure(card.value, card.name),
                delta=format.change(card.change),
                # A falling bounce rate is good news.
                delta_color="inverse" if card.name == "bounce_rate" else "normal",
                help=_kpi_help(card, grain),
                border=True,
            )
    withheld_periods = cards[0].withheld_periods if cards else 0
    if withheld_periods:
        noun = format.GRAIN_NOUN[grain][1]
        st.caption(
            f"{withheld_periods} {noun} in this range are withheld (fewer than {k} visitors, "
            "or protecting such a figure) and left out of these figures."
        )


def _kpi_help(card: Kpi, grain: str) -> str:
    previous = format.figure(card.previous, card.name) if card.previous is not None else "none"
    text = f"Previous period: {previous}."
    if card.name == "users":
        text += (
            f" Visitors are counted per {grain} and averaged: the same person on two "
            f"{grain}s is two {grain}ly visitors, so they are never added up."
        )
    return text


def plot(figure: go.Figure, key: str) -> None:
    """Draw a chart (often a shared, cached one: `st.plotly_chart` only reads it)."""
    st.plotly_chart(figure, key=key, config=CHART_CONFIG, theme="streamlit")


def site_trend(view: PageView, metric: str, key: str) -> None:
    """The site's trend of `metric`, and right below it the sentence a screen reader reads."""
    plot(figures.site_trend(view.query, metric, view.notes), key=key)
    st.caption(figures.site_trend_summary(view.query, metric))


class SectionParts(NamedTuple):
    """What a breakdown section draws: built once per query and shared, never changed."""

    shown: pd.DataFrame
    texts: tuple[str, ...]
    bars: go.Figure | None
    trends: go.Figure | None
    withheld: str


@st.cache_resource(ttl=data.VIEW_TTL, max_entries=256, show_spinner=False)
def section_parts(
    query: data.Query, name: str, metric: str, k: int, notes: tuple[Note, ...] = ()
) -> SectionParts:
    """One cached call per section: a rerun that changes nothing pays for one lookup, not six."""
    shown, texts = shown_table(query, name, k)
    if shown.empty:
        return SectionParts(shown, texts, None, None, "")
    bars = figures.category_bars(query, name, metric)
    trends = figures.category_trends(query, name, metric, notes)
    return SectionParts(shown, texts, bars, trends, withheld_text(query, name))


def breakdown_section(view: PageView, name: str, metric: str | None = None) -> None:
    """One breakdown: leading categories, their trend, the table, what is withheld, the CSV."""
    breakdown = BREAKDOWNS[name]
    metric = metric or ("views" if breakdown.scope == "page" else "sessions")
    parts = section_parts(view.query, name, metric, view.release.k, view.notes)
    if parts.shown.empty:
        st.info("No figures for this range.")
        return
    left, right = st.columns(2)
    with left:
        plot(parts.bars, key=f"bar-{name}")
    with right:
        plot(parts.trends, key=f"trend-{name}")
    st.caption(parts.withheld)
    st.dataframe(
        parts.shown,
        hide_index=True,
        column_config=table_columns(name, view.selection.grain, parts.texts),
        height=min(38 + 35 * len(parts.shown), 420),
        placeholder="withheld",
        key=f"table-{name}",
    )
    downloads.download_button(view, name)


@st.cache_resource(ttl=data.VIEW_TTL, max_entries=256, show_spinner=False)
def shown_table(
    query: data.Query, name: str, k: int, columns: tuple[str, ...] = TABLE_FIGURES
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The breakdown table as drawn, and its figure columns written as text (`with_marks`);
    built once per query and shared: `st.dataframe` only reads it."""
    table = data.breakdown_table(query, name)
    return with_marks(display_table(table, name, k, query.grain, columns), table)


def display_table(
    table: pd.DataFrame, name: str, k: int, grain: str, figures: tuple[str, ...] = TABLE_FIGURES
) -> pd.DataFrame:
    """The breakdown table as shown: clipped names, figures, and the status in words."""
    shown = pd.DataFrame({CATEGORY_TITLES[name]: table["category"].map(format.clip)})
    if name == "pages":
        shown["Title"] = table["label"].map(format.clip)
    # The status sits next to the name, so a withheld or partial row is never read as complete.
    shown["Status"] = [
        format.status(s, k, int(w), int(p), grain, bool(o))
        for s, w, p, o in zip(
            table["status"],
            table["withheld_periods"],
            table["periods"],
            table["other"],
            strict=True,
        )
    ]
    for column in figures:
        shown[column] = table[column]
    return shown


def with_marks(shown: pd.DataFrame, table: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The "Other (not listed)" row's visitors (and, for pages, figures that do not add up
    across pages) are no sums of rows: they read "—", where a withheld figure shows the table's
    placeholder, "withheld". A table has one placeholder, so those columns become text."""
    other = (table["other"].astype(bool) & (table["status"] != "withheld")).to_numpy()
    texts = tuple(
        c for c in shown.columns if c in TABLE_DECIMALS and shown[c].isna().to_numpy()[other].any()
    )
    shown = shown.copy()
    for column in texts:
        digits = TABLE_DECIMALS[column]
        shown[column] = [
            (format.NOT_A_SUM if is_other else None) if pd.isna(v) else f"{v:,.{digits}f}"
            for v, is_other in zip(shown[column], other, strict=True)
        ]
    return shown, texts


def table_columns(name: str, grain: str, texts: tuple[str, ...] = ()) -> dict:
    """Column titles and formats; `texts` are figure columns written as text (see `with_marks`)."""
    config = {
        CATEGORY_TITLES[name]: st.column_config.TextColumn(width="medium"),
        **{f: _figure_column(FIGURE[f]) for f in (*TABLE_FIGURES, *ENGAGEMENT_FIGURES)},
        "users": st.column_config.NumberColumn(
            f"{LABELS['users']} per {grain}",
            help=f"Average of the published {grain}ly counts; visitors never add up.",
            format="localized",
        ),
        "Status": st.column_config.TextColumn(
            width="medium",
            help="Partly withheld rows add up the published periods only.",
        ),
    }
    if name == "pages":
        config["Title"] = st.column_config.TextColumn(width="medium")
    for column in texts:
        label = config[column]["label"]
        config[column] = st.column_config.TextColumn(
            label, help=config[column].get("help"), alignment="right"
        )
    return config


def _figure_column(figure: Figure) -> Any:
    """A figure's column at its decimals; counts grouped as the reader's locale groups them."""
    if figure.kind is Kind.COUNT and not figure.decimals:
        return st.column_config.NumberColumn(figure.label, width="small", format="localized")
    return st.column_config.NumberColumn(figure.label, format=f"%.{figure.decimals}f")


def engagement_section(view: PageView) -> None:
    """Engagement per page: the most viewed pages, how long and how deeply they hold visits."""
    shown, texts = shown_table(view.query, "pages", view.release.k, ENGAGEMENT_FIGURES)
    if shown.empty:
        st.info("No figures for this range.")
        return
    plot(figures.engagement_bars(view.query), key="bar-pages-engagement")
    st.caption(f"The {figures.ENGAGEMENT_LEADERS} most viewed pages, by engagement time per visit.")
    withheld_line(view, "pages")
    st.dataframe(
        shown,
        hide_index=True,
        column_config=table_columns("pages", view.selection.grain, texts),
        height=420,
        placeholder="withheld",
        key="table-pages-engagement",
    )
    downloads.download_button(view, "pages")


def withheld_line(view: PageView, name: str) -> None:
    """How much of this breakdown the selection withholds, in one line."""
    st.caption(withheld_text(view.query, name))


def withheld_text(query: data.Query, name: str) -> str:
    summary = data.withheld(query, name)
    text = f"Withheld: {summary.withheld_cells} of {summary.cells} cells"
    text += f" (one {format.GRAIN_NOUN[query.grain][0]} of one category each)"
    if summary.withheld_share is not None:
        figure = LABELS[summary.figure].lower()
        text += f"; {summary.withheld_share:.1f} % of {figure} are not in a published row"
    flags = ga4_notes(data.ga4_flags(query, name))
    if flags:
        text += f". GA4: {flags}"
    return text + ". The Privacy page says why."


def ga4_notes(flags: dict[str, bool]) -> str:
    notes = {
        "subject_to_thresholding": "GA4 applied its own thresholds",
        "data_loss_from_other_row": "GA4 folded rows into (other)",
        "sampled": "GA4 sampled the data",
    }
    return "; ".join(text for flag, text in notes.items() if flags.get(flag))
