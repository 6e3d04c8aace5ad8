"""The summary workbook: an About sheet, then one sheet per report, from the same summaries as
the CSV files (`reports.export.summary`), so every number is the one the dashboard shows.

Numbers are numbers with a format, dates are dates, withheld cells are the text `withheld`, and
every text is written as a string cell (never a formula, URL or number), so a hostile page title
stays inert text.

The workbook speaks its downloader's language through `gettext` (the dashboard passes its
catalog's; English by default): the sheets' names, headings and the About sheet's sentences.
The About sheet's keys and the report sheets' column names are the CSV's, a contract for
scripts, in every language.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Callable, Sequence
from datetime import date, datetime

import pandas as pd
import xlsxwriter

from connectors.catalog import BREAKDOWNS
from connectors.figures import FIGURES, Figure
from reports.export import (
    PROMISE,
    Facts,
    provenance,
    report_facts,
    selection_for,
    summary,
)
from reports.notes import Note, overlapping
from reports.protect import Release
from reports.views import select

OPTIONS = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def number_format(figure: Figure) -> str:
    """A figure's Excel format, at its decimals: thousands grouped in stored figures (counts
    and totals grow large), not in rates and averages."""
    places = "." + "0" * figure.decimals if figure.decimals else ""
    return ("0" if figure.derived else "#,##0") + places


NUMBER_FORMATS = {f.export_column: number_format(f) for f in FIGURES if f.export_column}
DATE_FORMAT = "yyyy-mm-dd"
MIN_WIDTH, MAX_WIDTH = 8, 60


def _same(text: str) -> str:
    return text


def summary_workbook(
    release: Release,
    grain: str,
    first: date,
    last: date,
    facts: Facts,
    generated: datetime | None = None,
    notes: Sequence[Note] = (),
    gettext: Callable[[str], str] = _same,
) -> bytes:
    """The XLSX summary of every report over the whole periods overlapping [first, last], in
    the language of `gettext`; the About sheet ends with the `notes` that have a day in those
    periods."""
    _ = gettext
    selection = select(release, grain, first, last)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, OPTIONS)
    formats = _Formats(book)
    about = provenance(release, selection, facts, generated=generated)
    about_sheet, row = _about_sheet(book, formats, about, release, grain, first, last, gettext)
    if selection.periods:
        _notes_table(about_sheet, formats, row + 2, notes, selection.days, gettext)
    for name, breakdown in BREAKDOWNS.items():
        sheet = book.add_worksheet(_(breakdown.title)[:31])  # Excel's longest sheet name
        if grain not in breakdown.grains:
            text = _("The {report} report is published by week and month only.")
            sheet.write_string(0, 0, text.format(report=_(breakdown.title)))
            sheet.set_column(0, 0, MAX_WIDTH)
            continue
        chosen = selection_for(release, name, grain, first, last)
        _table(sheet, formats, summary(release, name, chosen))
    book.close()
    return buffer.getvalue()


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "bottom": 1})
        self.date = book.add_format({"num_format": DATE_FORMAT})
        self.numbers = {c: book.add_format({"num_format": f}) for c, f in NUMBER_FORMATS.items()}
        self.plain = book.add_format({})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})


def _about_sheet(
    book, formats: _Formats, about: dict, release: Release, grain, first, last, gettext
):
    _ = gettext
    sheet = book.add_worksheet(_("About"))
    sheet.write_string(0, 0, _("What"), formats.header)
    sheet.write_string(0, 1, _("Value"), formats.header)
    row = 1
    for key, value in about.items():
        if key == "promise":
            value = _(PROMISE).format(k=release.k)
        elif isinstance(value, str):
            value = _(value)  # a catalog sentence, or data that has no translation
        sheet.write_string(row, 0, key)  # the CSV header's key: a name scripts may read
        _write(sheet, row, 1, value, formats.date if isinstance(value, date) else formats.plain)
        row += 1
    row += 1
    reports = [n for n, b in BREAKDOWNS.items() if grain in b.grains]
    details = [
        report_facts(release, n, selection_for(release, n, grain, first, last)) for n in reports
    ]
    columns = sorted({key for facts in details for key in facts}, key=_detail_order)
    sheet.write_string(row, 0, "report", formats.header)
    for column, key in enumerate(columns, start=1):
        sheet.write_string(row, column, key, formats.header)
    for name, facts in zip(reports, details, strict=True):
        row += 1
        sheet.write_string(row, 0, _(BREAKDOWNS[name].title))
        for column, key in enumerate(columns, start=1):
            _write(sheet, row, column, facts.get(key, "—"), formats.plain)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 90, formats.wrap)
    sheet.set_column(2, len(columns), 16)
    return sheet, row


def _notes_table(
    sheet, formats: _Formats, row: int, notes, days: tuple[date, date], gettext
) -> None:
    """The notes on the range, each text written as a string cell (never a formula); the
    column keys stay English, as the About sheet's other keys do."""
    shown = overlapping(notes, *days)
    sheet.write_string(row, 0, "notes", formats.header)
    if not shown:
        sheet.write_string(row + 1, 0, gettext("No note on these days."))
        return
    for column, name in enumerate(("text", "first day", "last day", "by"), start=1):
        sheet.write_string(row, column, name, formats.header)
    for note in shown:  # the text in the About sheet's wide, wrapping column
        row += 1
        sheet.write_string(row, 0, f"note {note.note_id}")
        sheet.write_string(row, 1, note.text)
        sheet.write_datetime(row, 2, note.first_day, formats.date)
        sheet.write_datetime(row, 3, note.last_day, formats.date)
        sheet.write_string(row, 4, note.author)


def _detail_order(key: str) -> tuple[int, str]:
    order = ("cells", "withheld_cells", "withheld_share", "ga4_")
    rank = next((i for i, prefix in enumerate(order) if key.startswith(prefix)), len(order))
    return rank, key


def _table(sheet, formats: _Formats, frame: pd.DataFrame) -> None:
    columns = list(frame.columns)
    for column, name in enumerate(columns):
        sheet.write_string(0, column, name, formats.header)
    widths = [len(name) for name in columns]
    for row, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        for column, value in enumerate(values):
            name = columns[column]
            style = formats.numbers.get(name, formats.plain)
            if isinstance(value, date):
                style = formats.date
            widths[column] = max(widths[column], _write(sheet, row, column, value, style))
    sheet.freeze_panes(1, 0)
    if len(frame):
        sheet.autofilter(0, 0, len(frame), len(columns) - 1)
    for column, width in enumerate(widths):
        sheet.set_column(column, column, min(max(width + 2, MIN_WIDTH), MAX_WIDTH))


def _write(sheet, row: int, column: int, value: object, style) -> int:
    """Write one cell as its type; returns the width its text needs."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        sheet.write_blank(row, column, None, style)
        return 0
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value, style)
        return 5
    if isinstance(value, datetime | date):
        sheet.write_datetime(row, column, value, style)
        return 10
    if isinstance(value, numbers.Real):
        sheet.write_number(row, column, float(value), style)
        return len(f"{float(value):,.2f}")
    text = str(value)
    sheet.write_string(row, column, text, style)
    return len(text)
