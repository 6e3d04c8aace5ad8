"""Text for the dashboard: ranges, figures and statuses. Formatting only, no arithmetic on data."""

from __future__ import annotations

import math
import re
from datetime import date

from connectors.figures import FIGURE, Kind
from reports.grid import Selection, period_end
from reports.status import PUBLISHED, SHOWN_WITHHELD
from reports.views import withheld_text

MAX_TABLE_LABEL = 80

# The Other row's status: its visitors read "—" (distinct counts do not add up across rows).
OTHER_STATUS = "not listed: the total minus the listed rows; visitors do not add up"
NOT_A_SUM = "—"

GRAIN_NOUN = {"day": ("day", "days"), "week": ("week", "weeks"), "month": ("month", "months")}


def day(value: date, with_year: bool = True) -> str:
    """`Mon 3 Nov 2026`, or `Mon 3 Nov` when the year is shown elsewhere."""
    text = f"{value:%a} {value.day} {value:%b}"
    return f"{text} {value.year}" if with_year else text


def span(first: date, last: date) -> str:
    """`Mon 3 Nov – Sun 23 Nov 2026`; the year once when both ends share it."""
    if first == last:
        return day(first)
    return f"{day(first, with_year=first.year != last.year)} – {day(last)}"


def periods(count: int, grain: str) -> str:
    one, many = GRAIN_NOUN[grain]
    return f"{count} whole {one if count == 1 else many}"


def showing(selection: Selection) -> str:
    """The exact snapped range, e.g. `Showing Mon 3 Nov – Sun 23 Nov 2026: 3 whole weeks`."""
    if not selection.periods:
        return "No whole published periods in this range."
    first, last = selection.days
    return f"Showing {span(first, last)}: {periods(len(selection.periods), selection.grain)}"


def compared_with(selection: Selection) -> str:
    """The previous run of periods the changes are measured against."""
    if not selection.previous:
        return "No earlier published periods to compare with (outside the retention window)."
    first = selection.previous[0]
    last = period_end(selection.previous[-1], selection.grain)
    count = len(selection.previous)
    one, many = GRAIN_NOUN[selection.grain]
    return f"Compared with {span(first, last)}: the {count} {one if count == 1 else many} before"


def figure(value: float | None, name: str) -> str:
    """A published figure as text, at its decimals (connectors.figures); `withheld` when there is
    none. Rates and ratios stay small, so only counts group their thousands; a name that is no
    figure (an admin panel's "count") is a whole count."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "withheld"
    known = FIGURE.get(name)
    kind, places = (known.kind, known.decimals) if known else (Kind.COUNT, 0)
    if kind is Kind.PERCENT:
        return f"{value:.{places}f} %"
    if kind is Kind.SECONDS:
        return duration(value, places)
    if kind is Kind.RATIO:
        return f"{value:.{places}f}"
    return f"{value:,.{places}f}"


def duration(seconds: float, places: int) -> str:
    """`1 min 23 s`, or `42.5 s` under a minute (at `places` decimals)."""
    if seconds < 60:
        return f"{seconds:.{places}f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def card_label(label: str) -> str:
    """`Visit duration (s)` becomes `Visit duration`: the card's value carries its unit."""
    return label.removesuffix(" (s)").removesuffix(" (%)")


def change(percent: float | None) -> str | None:
    """The delta under a KPI card; None hides it (no previous figure to compare with)."""
    if percent is None:
        return None
    return f"{percent:+.1f} %"


def status(
    value: str, k: int, periods_withheld: int, periods_total: int, grain: str, other: bool = False
) -> str:
    """The status column of a breakdown table, in words."""
    if other and value != SHOWN_WITHHELD:
        text = OTHER_STATUS
        if value == "partial":
            noun = GRAIN_NOUN[grain][1]
            text += f"; partly withheld: {periods_withheld} of {periods_total} {noun}"
        return text
    if value == PUBLISHED:
        return ""
    if value == "partial":
        noun = GRAIN_NOUN[grain][1]
        return f"partly withheld: {periods_withheld} of {periods_total} {noun}"
    return withheld_text(k)


def plain(text: object) -> str:
    """Outside text (an email, an error from GA4) shown literally inside Markdown widgets."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", str(text))


def clip(text: str, limit: int = MAX_TABLE_LABEL) -> str:
    """Long category names (2,000-character URLs) cut for tables; the CSV keeps them whole."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
