"""CSV summaries, built from the same views the dashboard shows.

Withheld figures are written as the word "withheld", never as a number; GA4's own warnings ride
along on every row; text that a spreadsheet would run as a formula is defused.
"""

from __future__ import annotations

import io
from datetime import date

import defusedcsv.csv as csv
import pandas as pd

from connectors.catalog import breakdown as check_breakdown
from connectors.catalog import check_grain
from reports.grid import Selection
from reports.protect import Release
from reports.status import PUBLISHED, SHOWN_WITHHELD
from reports.views import select, series, withheld_text

FIGURE_COLUMNS = {
    "users": "visitors",
    "sessions": "visits",
    "views": "page_views",
    "views_per_session": "views_per_visit",
    "avg_session_duration": "visit_duration_seconds",
    "engagement_rate": "engagement_rate_percent",
    "bounce_rate": "bounce_rate_percent",
    "engagement_seconds": "engagement_seconds",
}


class ExportError(ValueError):
    """The export cannot be made as asked; the message says what to change."""


def summary_for_range(
    release: Release, report: str, grain: str, first: date, last: date
) -> pd.DataFrame:
    """The summary of `report` over the whole published periods overlapping [first, last]."""
    check_breakdown(report)
    check_grain(grain)
    if grain not in check_breakdown(report).grains:
        published = ", ".join(check_breakdown(report).grains)
        raise ExportError(f"The {report} report is published by {published} only.")
    if first > last:
        raise ExportError(f"--start {first} is after --end {last}.")
    return summary(release, report, select(release, grain, first, last))


def summary(release: Release, report: str, selection: Selection) -> pd.DataFrame:
    """One row per period and category: the same figures the page's chart and table show."""
    cells = series(release, report, selection)
    out = pd.DataFrame(
        {
            "report": report,
            "grain": selection.grain,
            "period_start": cells["period"].astype(str),
            "period_end": cells["period_end"].astype(str),
            "category": cells["category"],
        }
    )
    if report == "pages":
        out["title"] = cells["label"]
    published = cells["status"] == PUBLISHED
    for name, column in FIGURE_COLUMNS.items():
        values = cells[name].map(_number)
        out[column] = values.where(published, SHOWN_WITHHELD)
    out["status"] = cells["status"].where(published, withheld_text(release.k))
    out["k"] = release.k
    for flag in ("subject_to_thresholding", "data_loss_from_other_row", "sampled"):
        out[f"ga4_{flag}"] = _flag_column(release, report, selection, cells, flag)
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM so spreadsheets read æ, ø, å), formula-like text defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(frame.columns)
    writer.writerows(frame.itertuples(index=False, name=None))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _number(value: object) -> str:
    if value is None or pd.isna(value):
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _flag_column(
    release: Release, report: str, selection: Selection, cells: pd.DataFrame, flag: str
) -> list[bool]:
    flags = release.flags
    if flags is None or flags.empty or cells.empty:
        return [False] * len(cells)
    chosen = flags[(flags["breakdown"] == report) & (flags["grain"] == selection.grain)]
    by_period = {
        pd.Timestamp(p).date(): bool(v) for p, v in zip(chosen["period"], chosen[flag], strict=True)
    }
    return [by_period.get(p, False) for p in cells["period"]]
