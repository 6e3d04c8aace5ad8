"""Charts read well at 1280 px and on a phone: short names with the whole one on hover, legends
one entry per row, thousands separators, one colour per category in every chart."""

from __future__ import annotations

import html
import subprocess
import sys
from datetime import date, timedelta
from itertools import combinations

import pandas as pd
import pytest

from reports import charts
from reports.status import PUBLISHED, SHOWN_WITHHELD

LONG_PATH = "/blog/2026/11/how-we-moved-our-whole-warehouse-to-the-fjord/part-two"
HOSTILE = "<script>alert(1)</script>" + "/x" * 40
NAMES = ["Chrome", "Safari", LONG_PATH, LONG_PATH.replace("two", "three"), HOSTILE, "Edge"]
WEEKS = [date(2026, 9, 7) + timedelta(weeks=n) for n in range(6)]


def cells(names: list[str] = NAMES) -> pd.DataFrame:
    """One row per category and week; the third week of every category is withheld."""
    rows = []
    for rank, name in enumerate(names):
        for n, week in enumerate(WEEKS):
            withheld = n == 2
            rows.append(
                {
                    "period": week,
                    "label": name,
                    "category": name,
                    "status": SHOWN_WITHHELD if withheld else PUBLISHED,
                    "views": None if withheld else 12_000.0 - 1_000 * rank + n,
                    "other": False,
                }
            )
    return pd.DataFrame(rows)


def table(names: list[str] = NAMES) -> pd.DataFrame:
    frame = cells(names)
    return frame.groupby("label", as_index=False).agg(
        views=("views", "sum"), other=("other", "any")
    )


def test_short_labels_keep_start_and_end_and_stay_inert():
    short = charts.short_label(LONG_PATH, charts.LEGEND_LABEL)
    assert len(short) == charts.LEGEND_LABEL
    assert short.startswith("/blog/2026/") and short.endswith("part-two") and "…" in short
    assert charts.short_label("Chrome", charts.AXIS_LABEL) == "Chrome"
    hostile = charts.short_label(HOSTILE, charts.AXIS_LABEL)
    assert "<" not in hostile and hostile.startswith("&lt;script&gt;")


def test_the_hover_holds_the_whole_name_in_lines_and_inert():
    hover = charts.hover_label(LONG_PATH)
    assert hover.replace("<br>", "") == LONG_PATH
    assert all(len(line) <= charts.MAX_LABEL for line in hover.split("<br>"))
    hostile = charts.hover_label(HOSTILE)
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert len(charts.hover_label("x" * 2000).replace("<br>", "")) == charts.MAX_HOVER


def test_bars_show_short_names_on_the_axis_and_whole_names_on_hover():
    figure = charts.category_bar_chart(table(), "views")
    (bar,) = figure.data
    assert list(bar.meta) == [charts.display_label(x) for x in reversed(NAMES)]
    assert list(bar.y) == list(range(len(NAMES)))  # paths alike for 60 characters: two bars
    assert list(figure.layout.yaxis.tickvals) == list(bar.y)
    ticks = figure.layout.yaxis.ticktext
    assert list(ticks) == [charts.short_label(x, charts.AXIS_LABEL) for x in reversed(NAMES)]
    assert all(len(html.unescape(t)) <= charts.AXIS_LABEL for t in ticks)
    assert list(bar.customdata) == [charts.hover_label(x) for x in reversed(NAMES)]
    assert "%{customdata}" in bar.hovertemplate and "%{x:,.0f}" in bar.hovertemplate


def test_a_trend_legend_has_one_short_entry_per_row_below_the_plot():
    figure = charts.category_trend_chart(cells(), "views", "week")
    assert [t.meta for t in figure.data] == [charts.display_label(x) for x in NAMES]
    assert all(len(html.unescape(t.name)) <= charts.LEGEND_LABEL for t in figure.data)
    legend = figure.layout.legend
    assert (legend.orientation, legend.entrywidth, legend.entrywidthmode) == ("h", 1, "fraction")
    assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom")
    assert figure.layout.height == charts.HEIGHT + charts.LEGEND_ROW * len(NAMES)
    assert figure.layout.margin.b >= charts.LEGEND_ROW * len(NAMES)
    whole = {charts.display_label(x): x for x in NAMES}
    for trace in figure.data:
        assert trace.customdata[0] == charts.hover_label(whole[trace.meta])
        assert "%{customdata}" in trace.hovertemplate


def test_site_trend_legend_holds_two_entries_a_row():
    trend = pd.DataFrame(
        {
            "period": WEEKS,
            "status": [PUBLISHED] * len(WEEKS),
            "sessions": [1000.0] * len(WEEKS),
            "sessions_previous": [900.0] * len(WEEKS),
        }
    )
    figure = charts.site_trend_chart(trend, "sessions", "week")
    assert figure.layout.legend.entrywidth == 0.5
    assert figure.layout.height == charts.HEIGHT + charts.LEGEND_ROW


@pytest.mark.parametrize(
    ("metric", "hover", "suffix"),
    [("views", ",.0f", ""), ("bounce_rate", ".1f", " %"), ("avg_session_duration", ",.1f", " s")],
)
def test_numbers_carry_thousands_separators_and_units(metric, hover, suffix):
    frame = cells().rename(columns={"views": metric})
    trend = charts.category_trend_chart(frame, metric, "week")
    assert trend.layout.separators == ".,"  # decimal point, comma between thousands
    assert (trend.layout.yaxis.tickformat, trend.layout.yaxis.ticksuffix) == (",~f", suffix)
    assert f"%{{y:{hover}}}{suffix}<extra></extra>" in trend.data[0].hovertemplate
    bars = charts.category_bar_chart(table().rename(columns={"views": metric}), metric)
    assert (bars.layout.xaxis.tickformat, bars.layout.xaxis.ticksuffix) == (",~f", suffix)


def test_a_category_has_one_colour_in_every_chart():
    bars = charts.category_bar_chart(table(), "views")
    bar_colours = dict(zip(bars.data[0].meta, bars.data[0].marker.color, strict=True))
    trend = charts.category_trend_chart(cells(), "views", "week")
    whole = {charts.display_label(x): x for x in NAMES}
    for trace in trend.data:
        assert trace.line.color == bar_colours[trace.meta] == charts.colour(whole[trace.meta])
    # Fewer categories, another chart: Chrome keeps its colour.
    alone = charts.category_trend_chart(cells(["Edge", "Chrome"]), "views", "week")
    assert alone.data[1].line.color == charts.colour("Chrome")
    assert {charts.colour(name) for name in NAMES} <= set(charts.PALETTE)


def test_colours_do_not_depend_on_the_process():
    script = "from reports.charts import colour; print(colour('Chrome'), colour('/pricing'))"
    seen = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
            cwd=charts.__file__.rsplit("/reports/", 1)[0],
        ).stdout
        for seed in ("1", "2")
    }
    assert seen == {f"{charts.colour('Chrome')} {charts.colour('/pricing')}\n"}


def test_two_lines_of_one_colour_differ_by_their_dash():
    names = [f"/page-{n}" for n in range(200)]
    first, second = next(
        (a, b) for a, b in combinations(names, 2) if charts.colour(a) == charts.colour(b)
    )
    trend = charts.category_trend_chart(cells([first, second]), "views", "week")
    assert trend.data[0].line.color == trend.data[1].line.color
    assert trend.data[0].line.dash != trend.data[1].line.dash


def test_withheld_weeks_are_gaps_in_every_line():
    trend = charts.category_trend_chart(cells(), "views", "week")
    for trace in trend.data:
        assert pd.isna(trace.y[2]) and not pd.isna(trace.y[1])
