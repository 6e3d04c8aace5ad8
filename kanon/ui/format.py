"""Text for the dashboard: ranges, figures and statuses, in the reader's language and locale.

Numbers and dates go through Babel with the current language's locale (`kanon.i18n.locale`):
"12 843", "2,11", "67,9 %" and "man. 7. des. 2026" in Norwegian, "12,843" and "Mon 7 Dec 2026"
in English. No separator is written here by hand. Formatting only, no arithmetic on data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime

from babel.dates import format_date, format_datetime

from connectors.figures import FIGURE, Kind
from kanon import i18n
from kanon.i18n import N_, _, ngettext
from reports import charts
from reports.grid import Selection, period_end
from reports.status import PUBLISHED, SHOWN_WITHHELD

MAX_TABLE_LABEL = 80

# The Other row's status: its visitors read "—" (distinct counts do not add up across rows).
OTHER_STATUS = N_("not listed: the total minus the listed rows; visitors do not add up")
NOT_A_SUM = "—"
WITHHELD = N_("withheld")
OTHER_ROW = N_("Other (not listed)")  # reports.views.OTHER, the row of every unlisted category
CHART_WORDS = charts.Wording(gettext=_)  # per-grain phrases, shared with the charts

# Babel date patterns per language: the weekday, the day, the month's short name (and year).
DAY_PATTERN = {"nb": ("EEE d. MMM", "EEE d. MMM y"), "en": ("EEE d MMM", "EEE d MMM y")}
SHORT_DAY = {"nb": "d. MMM", "en": "d MMM"}
MONTH_PATTERN = "MMM y"
MOMENT_PATTERN = {"nb": "d. MMM y 'kl.' HH:mm", "en": "d MMM y, HH:mm"}
# Streamlit's date inputs and date columns (its own pattern language, not Babel's).
DATE_INPUT = {"nb": "DD.MM.YYYY", "en": "YYYY-MM-DD"}


def grain_count(count: int, grain: str) -> str:
    """`3 weeks`, in words of the current language."""
    if grain == "day":
        text = ngettext("{count} day", "{count} days", count)
    elif grain == "week":
        text = ngettext("{count} week", "{count} weeks", count)
    else:
        text = ngettext("{count} month", "{count} months", count)
    return text.format(count=count)


GRAIN_NAMES = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month")}


def grain_namer() -> Callable[[str], str]:
    """The grain picker's names (Day, Week, Month) in the current language, fixed now."""
    words = i18n.bound()
    return lambda grain: words(GRAIN_NAMES[grain])


def per_grain(label: str, grain: str) -> str:
    """`Visitors per week`, with the figure's label already translated (the charts' wording)."""
    return charts.per_grain(CHART_WORDS, label, grain)


def kpi_label(name: str, grain: str) -> str:
    """A KPI card's label: `Visitors per week (average)`, `Visit duration` (the value carries
    its unit)."""
    label = FIGURE[name].label
    if name != "users":
        return card_label(label)
    if grain == "day":
        text = _("{figure} per day (average)")
    elif grain == "week":
        text = _("{figure} per week (average)")
    else:
        text = _("{figure} per month (average)")
    return text.format(figure=_(label))


def day(value: date, with_year: bool = True) -> str:
    """`Mon 3 Nov 2026` / `man. 3. nov. 2026`, or without the year when it is shown elsewhere."""
    short, full = DAY_PATTERN[i18n.language()]
    return format_date(value, full if with_year else short, locale=i18n.locale())


def date_input() -> str:
    """The format of a date input (and a table's date column) in the current language."""
    return DATE_INPUT[i18n.language()]


def short_day(value: date) -> str:
    """`3 Nov` / `3. nov.`: a chart's tick."""
    return format_date(value, SHORT_DAY[i18n.language()], locale=i18n.locale())


def week(value: date) -> str:
    """`week 49` / `uke 49`: the ISO week a day is in (nb_NO and en_GB count ISO weeks)."""
    number = format_date(value, "w", locale=i18n.locale())
    return _("week {number}").format(number=number)


def month(value: date) -> str:
    """`Dec 2026` / `des. 2026`."""
    return format_date(value, MONTH_PATTERN, locale=i18n.locale())


def period(value: date, grain: str) -> str:
    """A period by its first day, as a chart's axis names it."""
    if grain == "week":
        return week(value)
    if grain == "month":
        return month(value)
    return short_day(value)


def moment(value: datetime) -> str:
    """`7 Dec 2026, 06:30` / `7. des. 2026 kl. 06:30`: when something happened."""
    return format_datetime(value, MOMENT_PATTERN[i18n.language()], locale=i18n.locale())


def span(first: date, last: date) -> str:
    """`Mon 3 Nov – Sun 23 Nov 2026`; the year once when both ends share it."""
    if first == last:
        return day(first)
    return f"{day(first, with_year=first.year != last.year)} – {day(last)}"


def periods(count: int, grain: str) -> str:
    if grain == "day":
        text = ngettext("{count} whole day", "{count} whole days", count)
    elif grain == "week":
        text = ngettext("{count} whole week", "{count} whole weeks", count)
    else:
        text = ngettext("{count} whole month", "{count} whole months", count)
    return text.format(count=count)


def showing(selection: Selection) -> str:
    """The exact snapped range, e.g. `Showing Mon 3 Nov – Sun 23 Nov 2026: 3 whole weeks`."""
    if not selection.periods:
        return _("No whole published periods in this range.")
    first, last = selection.days
    return _("Showing {range}: {periods}").format(
        range=span(first, last), periods=periods(len(selection.periods), selection.grain)
    )


def compared_with(selection: Selection) -> str:
    """The previous run of periods the changes are measured against."""
    if not selection.previous:
        return _("No earlier published periods to compare with (outside the retention window).")
    first = selection.previous[0]
    last = period_end(selection.previous[-1], selection.grain)
    count = len(selection.previous)
    return _("Compared with {range}: the {periods} before").format(
        range=span(first, last), periods=grain_count(count, selection.grain)
    )


number = i18n.number  # `12 843` / `12,843`: the locale's marks, as the e-mails write them


def percent(value: float, places: int = 1, signed: bool = False) -> str:
    """`67,9 %` / `67.9 %`: a percentage already multiplied by 100, a no-break space before %."""
    text = number(abs(value) if signed else value, places, grouped=False)
    if signed:
        text = ("-" if value < 0 else "+") + text
    return f"{text}\u00a0%"


def figure(value: float | None, name: str) -> str:
    """A published figure as text, at its decimals (connectors.figures); `withheld` when there is
    none. Rates and ratios stay small, so only counts group their thousands; a name that is no
    figure (an admin panel's "count") is a whole count."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _(WITHHELD)
    known = FIGURE.get(name)
    kind, places = (known.kind, known.decimals) if known else (Kind.COUNT, 0)
    if kind is Kind.PERCENT:
        return percent(value, places)
    if kind is Kind.SECONDS:
        return duration(value, places)
    if kind is Kind.RATIO:
        return number(value, places, grouped=False)
    return number(value, places)


def duration(seconds: float, places: int) -> str:
    """`1 min 23 s`, or `42.5 s` under a minute (at `places` decimals)."""
    if seconds < 60:
        return _("{seconds} s").format(seconds=number(seconds, places, grouped=False))
    minutes, rest = divmod(round(seconds), 60)
    return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{rest:02d}")


def card_label(label: str) -> str:
    """`Visit duration (s)` becomes `Visit duration`: the card's value carries its unit."""
    return _(label).removesuffix(" (s)").removesuffix(" (%)")


def change(value: float | None) -> str | None:
    """The delta under a KPI card; None hides it (no previous figure to compare with)."""
    if value is None:
        return None
    return percent(value, 1, signed=True)


def withheld_status(k: int) -> str:
    """One wording for every withheld cell, whichever the reason (see `reports.status`)."""
    return _("withheld: fewer than {k} visitors (none, possibly), or protects such a cell").format(
        k=k
    )


def partly(periods_withheld: int, periods_total: int, grain: str) -> str:
    if grain == "day":
        text = _("partly withheld: {withheld} of {total} days")
    elif grain == "week":
        text = _("partly withheld: {withheld} of {total} weeks")
    else:
        text = _("partly withheld: {withheld} of {total} months")
    return text.format(withheld=periods_withheld, total=periods_total)


def status(
    value: str, k: int, periods_withheld: int, periods_total: int, grain: str, other: bool = False
) -> str:
    """The status column of a breakdown table, in words."""
    if other and value != SHOWN_WITHHELD:
        text = _(OTHER_STATUS)
        if value == "partial":
            text += "; " + partly(periods_withheld, periods_total, grain)
        return text
    if value == PUBLISHED:
        return ""
    if value == "partial":
        return partly(periods_withheld, periods_total, grain)
    return withheld_status(k)


def plain(text: object) -> str:
    """Outside text (an email, an error from GA4) shown literally inside Markdown widgets."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", str(text))


def clip(text: str, limit: int = MAX_TABLE_LABEL) -> str:
    """Long category names (2,000-character URLs) cut for tables; the CSV keeps them whole."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
