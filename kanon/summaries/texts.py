"""Every sentence of a summary e-mail, each a whole string with named fields, in one place.

English for now. A translation replaces these strings (gettext can take them as they are):
no sentence is put together from fragments, so a language may order its words its own way.
"""

from __future__ import annotations

from datetime import date

from connectors.figures import FIGURE, LABELS, Kind

LANGUAGE = "en"

SUBJECT = {
    "weekly": "Kanon weekly summary: {first} to {last}",
    "monthly": "Kanon monthly summary: {month}",
}
HEADING = {
    "weekly": "Your website, week {week} ({first} to {last})",
    "monthly": "Your website in {month}",
}
COMPARED = {
    "weekly": "Compared with the week before ({first} to {last}).",
    "monthly": "Compared with the month before ({month}).",
}
# A figure's name is the registry's (connectors/figures.py); visitors are a daily average here.
PER_DAY_AVERAGE = "{label} per day (average)"
PERCENT = "{value} %"
FIGURE_LINE = "{label}: {value} ({change})"
CHANGE_UP = "up {percent} %"
CHANGE_DOWN = "down {percent} %"
CHANGE_SAME = "unchanged"
CHANGE_NONE = "no comparison"
WITHHELD = "withheld"
WITHHELD_DAYS = (
    "{withheld} of {days} days are withheld (fewer than {k} visitors, or protecting such a "
    "day); the totals cover the other days."
)
TOP_HEADINGS = {"pages": "Top five pages, by page views", "sources": "Top five sources, by visits"}
TOP_LINE = "{rank}. {label}: {value}"
OTHER_LINE = "{label}: {value}"
NOTHING_LISTED = "Nothing to list for this period."
WITHHELD_NOTE = (
    "'withheld' marks a figure of fewer than {k} visitors, or one that protects such a figure. "
    "Sources and pages that are too rare to name are counted in 'Other (not listed)'."
)
FLAGS_HEADING = "Google Analytics' own warnings"
FLAGS = {
    "subject_to_thresholding": (
        "Google Analytics withheld some rows itself (thresholding): some figures may be low."
    ),
    "data_loss_from_other_row": (
        "Google Analytics folded some rows into its '(other)' row: some pages or sources may be "
        "missing from the lists."
    ),
    "sampled": "Google Analytics sampled some figures: they are estimates.",
}
NO_FLAGS = "Google Analytics raised no warning for these figures."
LINK = "See it on the dashboard: {url}"
LINK_HTML = "See it on the dashboard"
NO_LINK = "Open Kanon's dashboard for more."
ATTACHMENT = "The summary workbook of every report for this period is attached."
FOOTER = (
    "You receive this because an administrator subscribed your Kanon account ({account}) to "
    "the {cadence} summary. You can turn it off on the dashboard. Kanon shows aggregate "
    "statistics only: no figure here reveals fewer than {k} visitors."
)
CADENCE_NAMES = {"weekly": "weekly", "monthly": "monthly"}
ATTACHMENT_NAME = "kanon-summary-{first}-to-{last}.xlsx"


def day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def month(value: date) -> str:
    return f"{value:%B %Y}"


def number(value: float | None, name: str) -> str:
    """A figure as the summary writes it, to the registry's decimals; `WITHHELD` where there
    is none."""
    if value is None:
        return WITHHELD
    figure = FIGURE[name]
    shown = f"{value:,.{figure.decimals}f}"
    return PERCENT.format(value=shown) if figure.kind is Kind.PERCENT else shown


def change(percent: float | None) -> str:
    if percent is None:
        return CHANGE_NONE
    if percent > 0:
        return CHANGE_UP.format(percent=f"{percent:,.1f}")
    if percent < 0:
        return CHANGE_DOWN.format(percent=f"{-percent:,.1f}")
    return CHANGE_SAME


def figure_label(name: str) -> str:
    """The summary's name for a figure: the page's label, visitors as their daily average
    (distinct counts do not add up over days)."""
    label = LABELS[name].removesuffix(" (%)")  # the value carries its own "%"
    return PER_DAY_AVERAGE.format(label=label) if name == "users" else label
