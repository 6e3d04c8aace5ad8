"""Every sentence of a summary e-mail, each a whole string with named fields, in one place.

Each is marked for the catalogs (`N_`) and translated where the message is built, in the
recipient's language (`kanon.i18n.speaking`); numbers and dates follow that language's locale.
No sentence is put together from fragments, so a language may order its words its own way.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from connectors.figures import FIGURE, LABELS, Kind
from kanon import i18n
from kanon.i18n import N_, _

SUBJECT = {
    "weekly": N_("Kanon weekly summary: {first} to {last}"),
    "monthly": N_("Kanon monthly summary: {month}"),
}
HEADING = {
    "weekly": N_("Your website, week {week} ({first} to {last})"),
    "monthly": N_("Your website in {month}"),
}
COMPARED = {
    "weekly": N_("Compared with the week before ({first} to {last})."),
    "monthly": N_("Compared with the month before ({month})."),
}
# A figure's name is the registry's (connectors/figures.py); visitors are a daily average here.
PER_DAY_AVERAGE = N_("{label} per day (average)")
PERCENT = "{value} %"
FIGURE_LINE = N_("{label}: {value} ({change})")
CHANGE_UP = N_("up {percent} %")
CHANGE_DOWN = N_("down {percent} %")
CHANGE_SAME = N_("unchanged")
CHANGE_NONE = N_("no comparison")
WITHHELD = N_("withheld")
WITHHELD_DAYS = N_(
    "{withheld} of {days} days are withheld (fewer than {k} visitors, or protecting such a "
    "day); the totals cover the other days."
)
TOP_HEADINGS = {
    "pages": N_("Top five pages, by page views"),
    "sources": N_("Top five sources, by visits"),
}
TOP_LINE = "{rank}. {label}: {value}"
OTHER_LINE = "{label}: {value}"
NOTHING_LISTED = N_("Nothing to list for this period.")
WITHHELD_NOTE = N_(
    "'withheld' marks a figure of fewer than {k} visitors, or one that protects such a figure. "
    "Sources and pages that are too rare to name are counted in 'Other (not listed)'."
)
FLAGS_HEADING = N_("Google Analytics' own warnings")
FLAGS = {
    "subject_to_thresholding": N_(
        "Google Analytics withheld some rows itself (thresholding): some figures may be low."
    ),
    "data_loss_from_other_row": N_(
        "Google Analytics folded some rows into its '(other)' row: some pages or sources may be "
        "missing from the lists."
    ),
    "sampled": N_("Google Analytics sampled some figures: they are estimates."),
}
NO_FLAGS = N_("Google Analytics raised no warning for these figures.")
LINK = N_("See it on the dashboard: {url}")
LINK_HTML = N_("See it on the dashboard")
NO_LINK = N_("Open Kanon's dashboard for more.")
ATTACHMENT = N_("The summary workbook of every report for this period is attached.")
FOOTER = N_(
    "You receive this because an administrator subscribed your Kanon account ({account}) to "
    "the {cadence} summary. You can turn it off on the dashboard. Kanon shows aggregate "
    "statistics only: no figure here reveals fewer than {k} visitors."
)
CADENCE_NAMES = {"weekly": N_("weekly"), "monthly": N_("monthly")}
ATTACHMENT_NAME = "kanon-summary-{first}-to-{last}.xlsx"


def day(value: date) -> str:
    """`7 December 2026`, `7. desember 2026`."""
    return format_date(value, "long", locale=i18n.locale())


def month(value: date) -> str:
    """`December 2026`, `desember 2026` (the stand-alone month name)."""
    return format_date(value, "LLLL y", locale=i18n.locale())


def number(value: float | None, name: str) -> str:
    """A figure as the summary writes it, to the registry's decimals; `WITHHELD` where there
    is none."""
    if value is None:
        return _(WITHHELD)
    figure = FIGURE[name]
    shown = i18n.number(value, figure.decimals)
    return PERCENT.format(value=shown) if figure.kind is Kind.PERCENT else shown


def change(percent: float | None) -> str:
    if percent is None:
        return _(CHANGE_NONE)
    if percent > 0:
        return _(CHANGE_UP).format(percent=i18n.number(percent, 1))
    if percent < 0:
        return _(CHANGE_DOWN).format(percent=i18n.number(-percent, 1))
    return _(CHANGE_SAME)


def figure_label(name: str) -> str:
    """The summary's name for a figure: the page's label, visitors as their daily average
    (distinct counts do not add up over days)."""
    label = _(LABELS[name]).removesuffix(" (%)")  # the value carries its own "%"
    return _(PER_DAY_AVERAGE).format(label=label) if name == "users" else label
