"""Notes on trend charts: only those within the chart's days, cut to them, their text inert."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from reports import charts
from reports.notes import Note, overlapping
from reports.status import PUBLISHED

FIRST, LAST = date(2026, 3, 2), date(2026, 3, 15)
AT = datetime(2026, 3, 1, 12, 0)


def note(note_id: int, first: date, last: date, text: str = "Campaign") -> Note:
    return Note(note_id, first, last, text, "ana", AT, AT)


def trend() -> pd.DataFrame:
    periods = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    return pd.DataFrame({"period": periods, "users": 100.0, "status": PUBLISHED})


def notes_trace(figure) -> dict:
    (trace,) = [t for t in figure.data if t.name == charts.NOTES_TRACE]
    return trace


def test_a_day_is_a_line_a_run_is_shaded_and_cut_to_the_chart():
    notes = [
        note(1, FIRST + timedelta(days=3), FIRST + timedelta(days=3)),
        note(2, FIRST - timedelta(days=5), FIRST + timedelta(days=1), "Sale"),
        note(3, LAST + timedelta(days=1), LAST + timedelta(days=4), "Later"),
    ]
    figure = charts.site_trend_chart(trend(), "users", "day", notes, (FIRST, LAST))

    shapes = [(s.type, s.x0, s.x1) for s in figure.layout.shapes]
    assert shapes == [
        ("line", FIRST + timedelta(days=3), FIRST + timedelta(days=3)),
        ("rect", FIRST, FIRST + timedelta(days=1)),  # cut where the chart begins
    ]
    trace = notes_trace(figure)
    assert list(trace.x) == [FIRST + timedelta(days=3), FIRST]
    assert trace.yaxis == "y2" and trace.showlegend is False
    assert "Sale" in trace.customdata[1] and "Later" not in "".join(trace.customdata)
    assert figure.layout.showlegend is False  # one series: the notes add no legend


def test_the_text_is_escaped_and_notes_on_one_day_share_a_marker():
    notes = [note(1, FIRST, FIRST, "<b>x</b> *y* [l](javascript:z)"), note(2, FIRST, FIRST)]
    trace = notes_trace(charts.site_trend_chart(trend(), "users", "day", notes, (FIRST, LAST)))
    (hover,) = trace.customdata
    assert "&lt;b&gt;x&lt;/b&gt; *y* [l](javascript:z)" in hover and "<b>" not in hover
    assert "Campaign" in hover and hover.count("Note, 2026-03-02") == 2


def test_category_trends_carry_notes_and_no_notes_add_nothing():
    cells = trend().assign(label="google / organic", category="google / organic", other=False)
    marked = charts.category_trend_chart(
        cells, "users", "day", notes=[note(1, FIRST, FIRST)], shown=(FIRST, LAST)
    )
    assert notes_trace(marked).x == (FIRST,)
    plain = charts.category_trend_chart(cells, "users", "day")
    assert [t.name for t in plain.data] == ["google / organic"] and not plain.layout.shapes


def test_overlapping_keeps_notes_with_a_day_in_the_range_earliest_first():
    inside = note(1, LAST, LAST + timedelta(days=3))
    before = note(2, FIRST - timedelta(days=3), FIRST)
    outside = note(3, LAST + timedelta(days=1), LAST + timedelta(days=1))
    assert overlapping([inside, outside, before], FIRST, LAST) == (before, inside)
