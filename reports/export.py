"""CSV summaries and their provenance, built from the same views the dashboard shows.

Withheld figures are written as the word "withheld", never as a number; rare categories are
never named (their figures are in the "Other (not listed)" row, see `views.series`); text that
a spreadsheet would run as a formula is made inert (`inert`).

A CSV file starts with a provenance block: one `key,value` record per line, in the file's own
dialect, whose first record is `kanon_provenance_lines,N`: the block is the first N lines and
the table's header row is line N + 1. So `pandas.read_csv(path, skiprows=N)` (with `sep=";"`
and `decimal=","` for the excel-nb dialect) reads the table, and `read_summary` does both.
"""

from __future__ import annotations

import csv
import io
import numbers
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.catalog import BREAKDOWNS, check_grain
from connectors.catalog import breakdown as check_breakdown
from connectors.errors import KanonError
from connectors.figures import EXPORTED
from reports.grid import Selection
from reports.protect import Release
from reports.status import PUBLISHED, SHOWN_WITHHELD
from reports.views import ga4_flags, select, series, withheld, withheld_shares, withheld_text

FIGURE_COLUMNS = EXPORTED  # figure -> its CSV column (connectors.figures), in the CSV's order
GA4_FLAGS = ("subject_to_thresholding", "data_loss_from_other_row", "sampled")
NOT_A_SUM = "—"  # the Other row's visitors: distinct counts do not add up across rows
OTHER_STATUS = "not listed: the site total minus the listed rows"
PROMISE = (
    "No number shown or downloaded — nor any sum or difference of such numbers — reveals a "
    "count of fewer than {k} visitors."
)
PROVENANCE_KEY = "kanon_provenance_lines"

# What a spreadsheet would start a formula (or a DDE call) with, full-width forms included.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class ExportError(KanonError, ValueError):
    """The export cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class Dialect:
    """How numbers and fields are written: `plain` for tools, `excel-nb` for a Norwegian
    spreadsheet (whose list separator is ";" and decimal separator ",")."""

    name: str
    delimiter: str
    decimal: str


DIALECTS = {"plain": Dialect("plain", ",", "."), "excel-nb": Dialect("excel-nb", ";", ",")}


@dataclass(frozen=True)
class Facts:
    """What the provenance says about the property, which the release does not record."""

    source: str
    property_id: str | None
    time_zone: str


def summary_for_range(
    release: Release, report: str, grain: str, first: date, last: date
) -> pd.DataFrame:
    """The summary of `report` over the whole published periods overlapping [first, last]."""
    return summary(release, report, selection_for(release, report, grain, first, last))


def selection_for(release: Release, report: str, grain: str, first: date, last: date) -> Selection:
    """The selection a summary covers, or an ExportError saying what to change."""
    check_breakdown(report)
    check_grain(grain)
    if grain not in check_breakdown(report).grains:
        published = ", ".join(check_breakdown(report).grains)
        raise ExportError(f"The {report} report is published by {published} only.")
    if first > last:
        raise ExportError(f"--start {first} is after --end {last}.")
    return select(release, grain, first, last)


def summary(release: Release, report: str, selection: Selection) -> pd.DataFrame:
    """One row per period and listed category, and the period's "Other (not listed)" row: the
    same figures the page's chart and table show. Figures are numbers, or the text `withheld`
    (or `—` for the Other row's visitors); dates are dates."""
    cells = series(release, report, selection)
    out = pd.DataFrame(
        {
            "report": report,
            "grain": selection.grain,
            "period_start": cells["period"],
            "period_end": cells["period_end"],
            "category": cells["category"],
        }
    )
    if report == "pages":
        out["title"] = cells["label"]
    published = cells["status"] == PUBLISHED
    other = cells["other"].astype(bool)
    for name, column in FIGURE_COLUMNS.items():
        values = cells[name].astype("object").where(cells[name].notna(), None)
        values = values.where(~(other & values.isna()), NOT_A_SUM)
        out[column] = values.where(published, SHOWN_WITHHELD)
    status = cells["status"].where(published, withheld_text(release.k))
    out["status"] = status.where(~(published & other), OTHER_STATUS)
    out["k"] = release.k
    for flag in GA4_FLAGS:
        out[f"ga4_{flag}"] = _flag_column(release, report, selection, cells, flag)
    return out.reset_index(drop=True)


def provenance(
    release: Release,
    selection: Selection,
    facts: Facts,
    report: str | None = None,
    generated: datetime | None = None,
) -> dict[str, object]:
    """Where a summary comes from, as ordered key -> value pairs (the CSV header block, the
    workbook's About sheet). With a report: its cells, shares withheld and GA4's flags too."""
    built = release.info.get("created_at")
    facts_of_file: dict[str, object] = {
        "what": "Kanon summary: protected aggregate statistics of the website",
        "report": f"{report} ({BREAKDOWNS[report].title})" if report else "all reports",
        "first_day": selection.first_day,
        "last_day": selection.last_day,
        "grain": selection.grain,
        "periods": len(selection.periods),
        "time_zone": facts.time_zone,
        "k": release.k,
        "source": facts.source,
        "property_id": facts.property_id or "none (offline sample property)",
        "release_built": _moment(built) if built is not None else "unknown",
        "file_generated": _moment(generated or datetime.now()),
        "not_listed": "categories withheld in every period are folded into 'Other (not listed)'",
    }
    if report is not None:
        facts_of_file.update(report_facts(release, report, selection))
    facts_of_file["kanon_version"] = kanon_version()
    facts_of_file["promise"] = PROMISE.format(k=release.k)
    return facts_of_file


def report_facts(release: Release, report: str, selection: Selection) -> dict[str, object]:
    """Cells withheld, the share of each figure withheld, and GA4's flags, for one report."""
    counts = withheld(release, report, selection)
    shares = withheld_shares(release, report, selection)
    out: dict[str, object] = {"cells": counts.cells, "withheld_cells": counts.withheld_cells}
    for figure, share in shares.items():
        if figure in FIGURE_COLUMNS:
            out[f"withheld_share_{FIGURE_COLUMNS[figure]}_percent"] = share
    for flag, raised in ga4_flags(release, report, selection).items():
        out[f"ga4_{flag}"] = "yes" if raised else "no"
    return out


def kanon_version() -> str:
    try:
        return version("kanon")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def to_csv(
    frame: pd.DataFrame, header: dict[str, object] | None = None, dialect: str = "plain"
) -> bytes:
    """UTF-8 with BOM, CRLF lines and RFC 4180 quoting; the provenance block first, if given.

    Numbers are written with the dialect's decimal mark, dates as ISO dates, and text that a
    spreadsheet would run as a formula gets a leading apostrophe."""
    chosen = _dialect(dialect)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=chosen.delimiter, lineterminator="\r\n")
    if header:
        # One line per record: values never span lines, so the count of lines is exact.
        lines = [(PROVENANCE_KEY, len(header) + 1), *header.items()]
        for key, value in lines:
            text = " ".join(str(_cell(value, chosen)).splitlines())
            writer.writerow([key, text])
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_cell(value, chosen) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def read_summary(source: bytes | str | Path) -> tuple[dict[str, str], pd.DataFrame]:
    """A summary CSV parsed back: its provenance (as text) and its table (numbers as numbers,
    `withheld` and `—` as text, dates as ISO text). Works for both dialects."""
    raw = Path(source).read_bytes() if isinstance(source, str | Path) else source
    text = raw.decode("utf-8-sig")
    first = text.split("\r\n", 1)[0]
    delimiter = ";" if first.startswith(PROVENANCE_KEY + ";") else ","
    header: dict[str, str] = {}
    skip = 0
    if first.startswith(PROVENANCE_KEY):
        skip = int(first.split(delimiter)[1])
        lines = text.split("\r\n")[:skip]
        header = {key: value for key, value in csv.reader(lines, delimiter=delimiter)}
    decimal = "," if delimiter == ";" else "."
    frame = pd.read_csv(
        io.StringIO(text),
        skiprows=skip,
        sep=delimiter,
        decimal=decimal,
        keep_default_na=False,
        na_values=[""],
        dtype=str,
    )
    for column in FIGURE_COLUMNS.values():
        if column in frame:
            frame[column] = frame[column].map(lambda v: _parsed(v, decimal)).astype("object")
    return header, frame


def _parsed(value: object, decimal: str) -> object:
    """A figure read back: a float, a mark (`withheld`, `—`) as text, or None when blank."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if value in (SHOWN_WITHHELD, NOT_A_SUM):
        return value
    return float(str(value).replace(decimal, "."))


def inert(text: str) -> str:
    """Text a spreadsheet shows as text: a leading apostrophe where it would start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: object, dialect: Dialect) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, numbers.Real):
        return _number(float(value), dialect.decimal)
    return inert(str(value))


def _number(number: float, decimal: str) -> str:
    text = str(int(number)) if number.is_integer() else f"{number:.15g}"
    return text.replace(".", decimal)


def _moment(value: Any) -> str:
    """An ISO date and time with its offset from UTC (a naive time is this machine's)."""
    moment = pd.Timestamp(value).to_pydatetime()
    return moment.astimezone().isoformat(timespec="seconds")


def _dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        known = ", ".join(DIALECTS)
        raise ExportError(f"Unknown CSV dialect {name!r}. Choose one of: {known}.") from None


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
