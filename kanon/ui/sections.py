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
from kanon import i18n
from kanon.i18n import N_, _
from kanon.ui import data, downloads, figures, format
from kanon.ui.page_view import PageView
from reports.notes import Note
from reports.views import HEADLINE_FIGURES, Kpi

TITLE, STATUS = N_("Title"), N_("Status")  # a table's columns beside the category's
CATEGORY_TITLES = {
    "pages": N_("Page"),
    "sources": N_("Source / medium"),
    "channels": N_("Channel"),
    "browsers": N_("Browser"),
    "devices": N_("Device"),
    "operating_systems": N_("Operating system"),
    "countries": N_("Country"),
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
                format.kpi_label(card.name, grain),
                format.figure(card.value, card.name),
                delta=format.change(card.change),
                # A falling bounce rate is good news.
                delta_color="inverse" if card.name == "bounce_rate" else "normal",
                help=_kpi_help(card, grain),
                border=True,
            )
    withheld_periods = cards[0].withheld_periods if cards else 0
    if withheld_periods:
        st.caption(
            _(
                "{periods} in this range are withheld (fewer than {k} visitors, or protecting "
                "such a figure) and left out of these figures."
            ).format(periods=format.grain_count(withheld_periods, grain), k=k)
        )


def _kpi_help(card: Kpi, grain: str) -> str:
    previous = format.figure(card.previous, card.name) if card.previous is not None else _("none")
    text = _("Previous period: {figure}.").format(figure=previous)
    if card.name == "users":
        text += " " + VISITORS_HELP[grain]()
    return text


# Whole sentences per grain: a translator needs the sentence, not "{grain}ly" glued together.
VISITORS_HELP = {
    "day": lambda: _(
        "Visitors are counted per day and averaged: the same person on two days is two daily "
        "visitors, so they are never added up."
    ),
    "week": lambda: _(
        "Visitors are counted per week and averaged: the same person in two weeks is two "
        "weekly visitors, so they are never added up."
    ),
    "month": lambda: _(
        "Visitors are counted per month and averaged: the same person in two months is two "
        "monthly visitors, so they are never added up."
    ),
}


def plot(figure: go.Figure, key: str) -> None:
    """Draw a chart (often a shared, cached one: `st.plotly_chart` only reads it)."""
    st.plotly_chart(figure, key=key, config=CHART_CONFIG, theme="streamlit")


def site_trend(view: PageView, metric: str, key: str) -> None:
    """The site's trend of `metric`, and right below it the sentence a screen reader reads."""
    language = i18n.language()
    plot(figures.site_trend(view.query, metric, language, view.notes), key=key)
    st.caption(figures.site_trend_summary(view.query, metric, language))


class SectionParts(NamedTuple):
    """What a breakdown section draws: built once per query and shared, never changed."""

    shown: pd.DataFrame
    texts: tuple[str, ...]
    bars: go.Figure | None
    trends: go.Figure | None
    withheld: str


@st.cache_resource(ttl=data.VIEW_TTL, max_entries=256, show_spinner=False)
def section_parts(
    query: data.Query,
    name: str,
    metric: str,
    k: int,
    language: str,
    notes: tuple[Note, ...] = (),
) -> SectionParts:
    """One cached call per section and language: a rerun that changes nothing pays for one
    lookup, not six."""
    shown, texts = shown_table(query, name, k, language)
    if shown.empty:
        return SectionParts(shown, texts, None, None, "")
    bars = figures.category_bars(query, name, metric, language)
    trends = figures.category_trends(query, name, metric, language, notes)
    return SectionParts(shown, texts, bars, trends, withheld_text(query, name))


def breakdown_section(view: PageView, name: str, metric: str | None = None) -> None:
    """One breakdown: leading categories, their trend, the table, what is withheld, the CSV."""
    breakdown = BREAKDOWNS[name]
    metric = metric or ("views" if breakdown.scope == "page" else "sessions")
    language = i18n.language()
    parts = section_parts(view.query, name, metric, view.release.k, language, view.notes)
    if parts.shown.empty:
        st.info(_("No figures for this range."))
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
        placeholder=_(format.WITHHELD),
        key=f"table-{name}",
    )
    downloads.download_button(view, name)


@st.cache_resource(ttl=data.VIEW_TTL, max_entries=256, show_spinner=False)
def shown_table(
    query: data.Query, name: str, k: int, language: str, columns: tuple[str, ...] = TABLE_FIGURES
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The breakdown table as drawn, and its figure columns written as text (`with_marks`);
    built once per query and language and shared: `st.dataframe` only reads it."""
    table = data.breakdown_table(query, name)
    return with_marks(display_table(table, name, k, query.grain, columns), table)


def display_table(
    table: pd.DataFrame, name: str, k: int, grain: str, figures: tuple[str, ...] = TABLE_FIGURES
) -> pd.DataFrame:
    """The breakdown table as shown: clipped names, figures, and the status in words."""
    names = table["category"].where(~table["other"].astype(bool), _(format.OTHER_ROW))
    shown = pd.DataFrame({_(CATEGORY_TITLES[name]): names.map(format.clip)})
    if name == "pages":
        shown[_(TITLE)] = table["label"].map(format.clip)
    # The status sits next to the name, so a withheld or partial row is never read as complete.
    shown[_(STATUS)] = [
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
            (format.NOT_A_SUM if is_other else None) if pd.isna(v) else format.number(v, digits)
            for v, is_other in zip(shown[column], other, strict=True)
        ]
    return shown, texts


def table_columns(name: str, grain: str, texts: tuple[str, ...] = ()) -> dict:
    """Column titles and formats; `texts` are figure columns written as text (see `with_marks`)."""
    config = {
        _(CATEGORY_TITLES[name]): st.column_config.TextColumn(width="medium"),
        **{f: _figure_column(FIGURE[f]) for f in (*TABLE_FIGURES, *ENGAGEMENT_FIGURES)},
        "users": st.column_config.NumberColumn(
            format.per_grain(_(LABELS["users"]), grain),
            help=_("Average of the published counts per period; visitors never add up."),
            format="localized",
        ),
        _(STATUS): st.column_config.TextColumn(
            width="medium",
            help=_("Partly withheld rows add up the published periods only."),
        ),
    }
    if name == "pages":
        config[_(TITLE)] = st.column_config.TextColumn(width="medium")
    for column in texts:
        label = config[column]["label"]
        config[column] = st.column_config.TextColumn(
            label, help=config[column].get("help"), alignment="right"
        )
    return config


def _figure_column(figure: Figure) -> Any:
    """A figure's column, written with the browser's own marks ("12 843", "2,11" in Norwegian):
    a printf format would hard-code the decimal point. The views round derived figures to their
    decimals already, so "localized" shows no more than those (a trailing zero it drops)."""
    if figure.kind is Kind.COUNT and not figure.decimals:
        return st.column_config.NumberColumn(_(figure.label), width="small", format="localized")
    return st.column_config.NumberColumn(_(figure.label), format="localized")


def engagement_section(view: PageView) -> None:
    """Engagement per page: the most viewed pages, how long and how deeply they hold visits."""
    language = i18n.language()
    shown, texts = shown_table(view.query, "pages", view.release.k, language, ENGAGEMENT_FIGURES)
    if shown.empty:
        st.info(_("No figures for this range."))
        return
    plot(figures.engagement_bars(view.query, language), key="bar-pages-engagement")
    st.caption(
        _("The {count} most viewed pages, by engagement time per visit.").format(
            count=figures.ENGAGEMENT_LEADERS
        )
    )
    withheld_line(view, "pages")
    st.dataframe(
        shown,
        hide_index=True,
        column_config=table_columns("pages", view.selection.grain, texts),
        height=420,
        placeholder=_(format.WITHHELD),
        key="table-pages-engagement",
    )
    downloads.download_button(view, "pages")


def withheld_line(view: PageView, name: str) -> None:
    """How much of this breakdown the selection withholds, in one line."""
    st.caption(withheld_text(view.query, name))


def withheld_text(query: data.Query, name: str) -> str:
    summary = data.withheld(query, name)
    text = CELLS_WITHHELD[query.grain]().format(
        withheld=format.number(summary.withheld_cells), cells=format.number(summary.cells)
    )
    if summary.withheld_share is not None:
        text += "; " + _("{share} of {figure} are not in a published row").format(
            share=format.percent(summary.withheld_share, 1),
            figure=_(LABELS[summary.figure]).lower(),
        )
    flags = ga4_notes(data.ga4_flags(query, name))
    if flags:
        text += ". " + _("GA4: {notes}").format(notes=flags)
    return text + ". " + _("The Privacy page says why.")


CELLS_WITHHELD = {
    "day": lambda: _("Withheld: {withheld} of {cells} cells (one day of one category each)"),
    "week": lambda: _("Withheld: {withheld} of {cells} cells (one week of one category each)"),
    "month": lambda: _("Withheld: {withheld} of {cells} cells (one month of one category each)"),
}
GA4_NOTES = {
    "subject_to_thresholding": N_("GA4 applied its own thresholds"),
    "data_loss_from_other_row": N_("GA4 folded rows into (other)"),
    "sampled": N_("GA4 sampled the data"),
}


def ga4_notes(flags: dict[str, bool]) -> str:
    return "; ".join(_(text) for flag, text in GA4_NOTES.items() if flags.get(flag))
