"""Raw cells: GA4 rows reshaped into one row per (breakdown, grain, period, category).

GA4 answers with rates and averages; Kanon stores the additive totals behind them (engaged
sessions, session seconds) so that sums over days, weeks and categories are exact relations.
These cells are aggregates but not yet safe to show: only `reports.protect` reads them.
"""

from __future__ import annotations

from datetime import date
from functools import reduce

import numpy as np
import pandas as pd

from connectors.base import ReportRequest, ReportResult
from connectors.catalog import METRICS, OVERVIEW, TIME_DIMENSIONS, Breakdown
from connectors.figures import FIGURE, STORED, Figure
from reports.grid import parse_ga4_period

KEY = ["breakdown", "grain", "period", "category"]
FIGURES = list(STORED)  # the figure columns of a cell, in the store's order
COLUMNS = KEY + FIGURES

SITE_TOTAL = "(all visits)"  # the category of the overview breakdown
SOURCE_SEPARATOR = " / "


def request_for(breakdown: Breakdown, grain: str, start: date, end: date) -> ReportRequest:
    """The GA4 request behind one breakdown at one grain over whole periods [start, end]."""
    return ReportRequest(
        dimensions=(TIME_DIMENSIONS[grain], *breakdown.dimensions),
        metrics=METRICS,
        start=start,
        end=end,
    )


def empty_cells() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="object") for column in KEY})
    for figure in FIGURES:
        frame[figure] = pd.Series(dtype="float64")
    return frame


def cells_from_result(breakdown: Breakdown, grain: str, result: ReportResult) -> pd.DataFrame:
    """One raw cell per GA4 row, with additive figures derived from GA4's rates."""
    rows = result.rows
    if rows.empty:
        return empty_cells()
    time_dimension = TIME_DIMENSIONS[grain]
    if breakdown.name == OVERVIEW:
        category = pd.Series(SITE_TOTAL, index=rows.index)
    else:
        parts = [rows[d].astype(str) for d in breakdown.dimensions]
        category = reduce(lambda left, right: left + SOURCE_SEPARATOR + right, parts)
    sessions = rows[FIGURE["sessions"].metric].astype("float64")
    # A report has few distinct periods: parse each once.
    periods = rows[time_dimension].astype(str)
    parsed = {value: parse_ga4_period(value, grain) for value in periods.unique()}
    cells = pd.DataFrame(
        {
            "breakdown": breakdown.name,
            "grain": grain,
            "period": periods.map(parsed).to_numpy(),
            "category": category.to_numpy(),
            **{name: _stored(rows, FIGURE[name], sessions) for name in FIGURES},
        }
    )
    return cells[COLUMNS]


def _stored(rows: pd.DataFrame, figure: Figure, sessions: pd.Series) -> np.ndarray:
    """One stored figure from GA4's rows."""
    values = rows[figure.metric]
    if figure.per_session:
        # GA4 reports the mean and the rate; their totals are what adds up.
        return (values * sessions).round(3).to_numpy()
    return values.astype("float64").to_numpy()
