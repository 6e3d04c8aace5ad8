"""Plotly figures built from views. Withheld cells become gaps: no value, no hover number.

Charts must read at 1280 px and on a 390 px phone: names are shortened on axes and in
legends (the whole name, escaped, is in the hover), a legend has one entry per row under the
plot so long names never run into each other, numbers carry thousands separators, and a
category has one colour in every chart (hashed from its name into a fixed palette).

Words and marks come from a `Wording` (the dashboard makes one per language in
`kanon/ui/figures.py`): its `gettext` translates the chart's texts, `separators` are Plotly's
decimal mark and thousands separator (the page's own, from Babel), and `period` names a period on
the axis ("uke 49", "des. 2026"): Plotly's own month names would need its locale scripts, which
Streamlit does not ship, so the dashboard writes the tick labels itself. The default is English
with Plotly's own date ticks.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from connectors.figures import FIGURE, LABELS, Kind
from reports.notes import Note
from reports.status import PUBLISHED

MAX_LABEL = 60  # a chart's longest name, hover included (wrapped at this width)
AXIS_LABEL = 24  # a bar's name on its axis
LEGEND_LABEL = 32  # a line's name in the legend: fits one row of a 390 px phone
MAX_HOVER = 240  # the hover shows long names whole, up to this; 2,000-character URLs are cut

HEIGHT = 380
LEGEND_ROW = 22  # pixels per legend entry
SEPARATORS = ".,"  # Plotly's decimal mark, then its thousands separator

# Tableau 10: ten colours made to tell categories apart, on light and dark backgrounds.
PALETTE = (
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F",
    "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC",
)  # fmt: skip
# Two lines of one chart that hash to the same colour stay apart by their dash.
DASHES = ("solid", "dot", "dash", "longdash", "dashdot")
SITE_COLOUR, PREVIOUS_COLOUR = "#4E79A7", "#9C9C9C"
NOTE_COLOUR = "#7F6A93"  # apart from the palette's lines: a note is no series
NOTES_TRACE = "Notes"

TICK_FORMAT = {"day": "%-d %b", "week": "%-d %b", "month": "%b %Y"}  # the range names the year
MAX_TICKS = 8  # named periods on a time axis: more would overlap at a phone's width
UNITS = {Kind.PERCENT: " %", Kind.SECONDS: " s"}
GROUPED = {Kind.COUNT, Kind.SECONDS}  # rates and ratios stay small: no thousands separator


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Wording:
    """A chart's language: texts through `gettext`, Plotly's `separators` (decimal mark, then
    thousands), a period's name on the axis (None: Plotly's English date ticks) and the hover's
    date format (d3)."""

    gettext: Callable[[str], str] = _same
    separators: str = SEPARATORS
    period: Callable[[date, str], str] | None = None
    hover_date: str = "%-d %b %Y"


ENGLISH = Wording()


def per_grain(words: Wording, label: str, grain: str) -> str:
    """`Visits per week`: whole phrases per grain, so a translation may order its words."""
    _ = words.gettext
    if grain == "day":
        return _("{figure} per day").format(figure=label)
    if grain == "week":
        return _("{figure} per week").format(figure=label)
    return _("{figure} per month").format(figure=label)


def display_label(text: str) -> str:
    """Short, inert text for a chart: hostile names (`<script>`, 2,000-character URLs) included."""
    return short_label(text, MAX_LABEL)


def short_label(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, inert: its start and its end, which tell page
    paths (`/blog/2026/…/part-two`) and sources apart better than the start alone."""
    text = str(text)
    if len(text) > limit:
        tail = (limit - 1) // 3
        text = text[: limit - 1 - tail] + "…" + text[len(text) - tail :]
    return _inert(text)


def hover_label(text: str) -> str:
    """The whole name for the hover, inert, broken into lines of `MAX_LABEL` characters."""
    text = str(text)
    if len(text) > MAX_HOVER:
        text = text[: MAX_HOVER - 1] + "…"
    lines = [text[i : i + MAX_LABEL] for i in range(0, len(text), MAX_LABEL)] or [""]
    return "<br>".join(_inert(line) for line in lines)  # each line escaped: the tags are ours


def _inert(text: str) -> str:
    return html.escape(text, quote=False)  # Plotly reads tags, not &quot; entities


def colour(category: str) -> str:
    """One colour per category name, the same in every chart, range and process."""
    digest = hashlib.blake2b(str(category).encode("utf-8"), digest_size=4).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def number_format(metric: str) -> tuple[str, str]:
    """(d3 format, unit suffix) of a metric's figures in hovers, at its decimals."""
    figure = FIGURE.get(metric)
    if figure is None:
        return ",.0f", ""
    grouping = "," if figure.kind in GROUPED else ""
    return f"{grouping}.{figure.decimals}f", UNITS.get(figure.kind, "")


def site_trend_chart(
    trend: pd.DataFrame,
    metric: str,
    grain: str,
    notes: Sequence[Note] = (),
    shown: tuple[date, date] | None = None,
    *,
    words: Wording = ENGLISH,
) -> go.Figure:
    """The site's figure per period, the previous run of periods dashed beside it; `notes`
    marked over the days `shown` (see `mark_notes`)."""
    _ = words.gettext
    figure = go.Figure()
    current = trend[metric].where(trend["status"] == PUBLISHED)
    figure.add_trace(
        go.Scatter(
            x=trend["period"],
            y=current,
            name=_("Selected period"),
            mode="lines+markers",
            line={"color": SITE_COLOUR},
            connectgaps=False,
            hovertemplate=_hover(_("Selected period"), "y", metric),
        )
    )
    previous_column = f"{metric}_previous"
    if previous_column in trend and trend[previous_column].notna().any():
        figure.add_trace(
            go.Scatter(
                x=trend["period"],
                y=trend[previous_column],
                name=_("Previous period"),
                mode="lines",
                line={"dash": "dash", "color": PREVIOUS_COLOUR},
                connectgaps=False,
                hovertemplate=_hover(_("Previous period"), "y", metric),
            )
        )
    title = per_grain(words, _(LABELS.get(metric, metric)), grain)
    _layout(figure, title, metric, value_axis="y", words=words)
    _time_axis(figure, trend["period"], grain, words)
    _legend_below(figure, per_row=2)
    mark_notes(figure, notes, shown, words)
    return figure


def listed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that name a category: the "Other (not listed)" remainder is no leader."""
    return frame[~frame["other"].astype(bool)] if "other" in frame else frame


def category_trend_chart(
    cells: pd.DataFrame,
    metric: str,
    grain: str,
    top: int = 8,
    notes: Sequence[Note] = (),
    shown: tuple[date, date] | None = None,
    *,
    words: Wording = ENGLISH,
) -> go.Figure:
    """One line per leading category; withheld periods are gaps in the line; `notes` marked
    over the days `shown` (see `mark_notes`).

    Each trace's `meta` is the category's `display_label`, naming it whatever its legend says.
    """
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
    used: dict[str, int] = {}
    for label in leaders:
        rows = cells[cells["label"] == label].sort_values("period")
        values = rows[metric].where(rows["status"] == PUBLISHED)
        line_colour = colour(label)
        dash = DASHES[used.get(line_colour, 0) % len(DASHES)]
        used[line_colour] = used.get(line_colour, 0) + 1
        figure.add_trace(
            go.Scatter(
                x=rows["period"],
                y=values,
                name=short_label(label, LEGEND_LABEL),
                meta=display_label(label),
                customdata=[hover_label(label)] * len(rows),
                mode="lines+markers",
                line={"color": line_colour, "dash": dash},
                connectgaps=False,
                hovertemplate=_hover("%{customdata}", "y", metric),
            )
        )
    _ = words.gettext
    title = _("{title}, top {count}").format(
        title=per_grain(words, _(LABELS.get(metric, metric)), grain), count=len(leaders)
    )
    _layout(figure, title, metric, value_axis="y", words=words)
    _time_axis(figure, cells["period"], grain, words)
    _legend_below(figure, per_row=1)
    mark_notes(figure, notes, shown, words)
    return figure


def category_bar_chart(
    table: pd.DataFrame, metric: str, top: int = 15, words: Wording = ENGLISH
) -> go.Figure:
    """Leading categories over the selection; only published figures have bars.

    Bars sit at numbered places, so two names alike for their first 60 characters stay two
    bars; the axis writes the short name, the hover the whole one, and the trace's `meta`
    lists each bar's `display_label`.
    """
    table = listed(table)
    rows = table[table[metric].notna()].nlargest(top, metric).iloc[::-1]
    places = list(range(len(rows)))
    figure = go.Figure(
        go.Bar(
            x=rows[metric],
            y=places,
            orientation="h",
            meta=[display_label(x) for x in rows["label"]],
            marker={"color": [colour(x) for x in rows["label"]]},
            customdata=[hover_label(x) for x in rows["label"]],
            hovertemplate=_hover("%{customdata}", "x", metric, separator="<br>"),
        )
    )
    _layout(figure, words.gettext(LABELS.get(metric, metric)), metric, value_axis="x", words=words)
    figure.update_yaxes(
        tickmode="array",
        tickvals=places,
        ticktext=[short_label(x, AXIS_LABEL) for x in rows["label"]],
        range=[-0.5, max(len(rows), 1) - 0.5],
    )
    figure.update_layout(hovermode="closest")
    return figure


def mark_notes(
    figure: go.Figure,
    notes: Sequence[Note],
    shown: tuple[date, date] | None = None,
    words: Wording = ENGLISH,
) -> None:
    """Each note with a day in `shown` (first, last) as a dotted line on its day or a shaded
    run of days, cut to `shown`, and a marker at the top whose hover gives its days and text.

    The text is escaped like a category name (Plotly reads tags in hovers); markers sit on a
    hidden axis of their own, so they never change the figures' axis, and out of the legend,
    so the legend's rows stay as `_legend_below` laid them out. Notes that begin on the same
    day share one marker (a hover shows one point per trace)."""
    first, last = shown or (date.min, date.max)
    texts: dict[date, list[str]] = {}
    for note in notes:
        start, end = max(note.first_day, first), min(note.last_day, last)
        if start > end:
            continue
        if start == end:
            figure.add_shape(type="line", x0=start, x1=start, y0=0, y1=1, yref="paper",
                             line={"color": NOTE_COLOUR, "width": 1, "dash": "dot"})  # fmt: skip
        else:
            figure.add_shape(type="rect", x0=start, x1=end, y0=0, y1=1, yref="paper",
                             fillcolor=NOTE_COLOUR, opacity=0.12, line={"width": 0},
                             layer="below")  # fmt: skip
        line = words.gettext("Note, {days}: {text}").format(
            days=note_days(note, words), text=note.text
        )
        texts.setdefault(start, []).append(hover_label(line))
    if not texts:
        return
    figure.add_trace(
        go.Scatter(
            x=list(texts),
            y=[0.97] * len(texts),
            yaxis="y2",
            name=NOTES_TRACE,
            mode="markers",
            marker={"symbol": "triangle-down", "size": 11, "color": NOTE_COLOUR},
            customdata=["<br>".join(lines) for lines in texts.values()],
            hovertemplate="%{customdata}<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_layout(
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}
    )


def note_days(note: Note, words: Wording = ENGLISH) -> str:
    """A note's day, or its first and last day, named as the chart names a day."""
    if words.period is None:
        return note.days
    first, last = (words.period(day, "day") for day in (note.first_day, note.last_day))
    if note.first_day == note.last_day:
        return first
    return words.gettext("{first} to {last}").format(first=first, last=last)


def _hover(name: str, axis: str, metric: str, separator: str = ": ") -> str:
    """A hover line: the name, then the figure with its separators and unit."""
    fmt, unit = number_format(metric)
    return f"{name}{separator}%{{{axis}:{fmt}}}{unit}<extra></extra>"


def _time_axis(figure: go.Figure, periods: pd.Series, grain: str, words: Wording) -> None:
    """Dates on the x axis: Plotly's English ticks, or each period named by `words.period`
    (at most `MAX_TICKS` of them, evenly spaced), and the hover's date in the same language."""
    if words.period is None:
        figure.update_xaxes(tickformat=TICK_FORMAT[grain])
        return
    days = sorted({pd.Timestamp(p).date() for p in periods.dropna()})
    shown = days[:: max(1, -(-len(days) // MAX_TICKS))]
    figure.update_xaxes(
        tickmode="array",
        tickvals=shown,
        ticktext=[words.period(d, grain) for d in shown],
        hoverformat=words.hover_date,
    )


def _layout(
    figure: go.Figure, title: str, metric: str, value_axis: str, words: Wording = ENGLISH
) -> None:
    figure.update_layout(
        title=title,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=HEIGHT,
        hovermode="x unified",
        separators=words.separators,
        showlegend=len(figure.data) > 1,
    )
    _, unit = number_format(metric)
    axis = {"tickformat": ",~f", "ticksuffix": unit}
    if value_axis == "x":
        figure.update_xaxes(**axis)
    else:
        figure.update_yaxes(**axis)


def _legend_below(figure: go.Figure, per_row: int) -> None:
    """The legend in fixed rows under the plot, the chart made taller to hold it: entries
    never share a row's space with more than `per_row - 1` others, nor cover the axis."""
    entries = len(figure.data)
    if entries < 2:
        return
    rows = -(-entries // per_row)
    figure.update_layout(
        height=HEIGHT + LEGEND_ROW * rows,
        margin={"b": 40 + LEGEND_ROW * rows},
        legend={
            "orientation": "h",
            "entrywidth": 1 / per_row,
            "entrywidthmode": "fraction",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
        },
    )
