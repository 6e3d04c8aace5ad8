"""What a summary says, built from the release through the views the dashboard's pages use.

The site's figures are the Overview's KPI cards over the period's days (`views.kpis` at day
grain: visitors per day, visits, page views, views per visit, bounce rate), each against the
period before (the previous ISO week, or the previous calendar month). The top five pages and
sources are the Pages and Sources tables (`views.breakdown_table`) over the period at its own
grain, with the period's "Other (not listed)" row; rare categories are never named there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

import pandas as pd

from connectors.catalog import OVERVIEW
from kanon.summaries.schedule import grain_of, period_days, previous_start
from reports.grid import Selection
from reports.protect import Release
from reports.status import PUBLISHED
from reports.views import Kpi, breakdown_table, ga4_flags, kpis, select

FIGURES = ("users", "sessions", "views", "views_per_session", "bounce_rate")
TOP = 5
RANKED_BY = {"pages": "views", "sources": "sessions"}  # what a row of each list shows
GA4_FLAG_NAMES = ("subject_to_thresholding", "data_loss_from_other_row", "sampled")
LINKED_PAGE = "overview"  # the dashboard page a summary links to (its url_path)


@dataclass(frozen=True)
class Row:
    """One line of a top-five list: a published figure, or None where it is withheld."""

    label: str
    figure: float | None
    other: bool = False

    @property
    def withheld(self) -> bool:
        return self.figure is None


@dataclass(frozen=True)
class Summary:
    cadence: str
    first: date
    last: date
    previous_first: date
    previous_last: date
    k: int
    kpis: tuple[Kpi, ...]
    withheld_days: int
    top: dict[str, tuple[Row, ...]]  # "pages" and "sources"
    flags: tuple[str, ...]  # GA4's flags raised for any figure of the summary
    link: str | None


def build(release: Release, cadence: str, start: date, public_url: str | None) -> Summary:
    """The summary of the period of `cadence` beginning on `start`, which the release holds."""
    first, last = period_days(cadence, start)
    before = previous_start(cadence, start)
    previous_first, previous_last = period_days(cadence, before)
    days = _days(release, first, last)
    selection = Selection("day", days, _days(release, previous_first, previous_last))
    cards = tuple(card for card in kpis(release, selection) if card.name in FIGURES)
    period = select(release, grain_of(cadence), first, last)
    return Summary(
        cadence=cadence,
        first=first,
        last=last,
        previous_first=previous_first,
        previous_last=previous_last,
        k=release.k,
        kpis=cards,
        withheld_days=cards[0].withheld_periods if cards else 0,
        top={name: top_rows(release, name, period) for name in RANKED_BY},
        flags=_raised_flags(release, selection, period),
        link=dashboard_link(public_url, first, last),
    )


def top_rows(release: Release, breakdown: str, period: Selection) -> tuple[Row, ...]:
    """The five listed rows with the most of the breakdown's figure, then the Other row."""
    table = breakdown_table(release, breakdown, period)
    figure = RANKED_BY[breakdown]
    listed = table[~table["other"].astype(bool)]
    listed = listed.sort_values(figure, ascending=False, na_position="last", kind="stable")
    rows = [_row(item, figure) for _, item in listed.head(TOP).iterrows()]
    rows += [_row(item, figure) for _, item in table[table["other"].astype(bool)].iterrows()]
    return tuple(rows)


def _row(item: pd.Series, figure: str) -> Row:
    """A row as the table shows it: its figure only where the cell is published."""
    value = item[figure]
    published = item["status"] == PUBLISHED and not pd.isna(value)
    return Row(str(item["label"]), float(value) if published else None, bool(item["other"]))


def _days(release: Release, first: date, last: date) -> tuple[date, ...]:
    return tuple(day for day in sorted(release.periods("day")) if first <= day <= last)


def _raised_flags(release: Release, days: Selection, period: Selection) -> tuple[str, ...]:
    raised = set()
    for breakdown, selection in ((OVERVIEW, days), ("pages", period), ("sources", period)):
        raised |= {name for name, on in ga4_flags(release, breakdown, selection).items() if on}
    return tuple(name for name in GA4_FLAG_NAMES if name in raised)


def dashboard_link(public_url: str | None, first: date, last: date) -> str | None:
    """The Overview over the same days, as the dashboard's range picker writes its address
    (`kanon.ui.links`); None without a `public_url`."""
    if not public_url:
        return None
    query = {"range": "custom", "grain": "day", "from": first.isoformat(), "to": last.isoformat()}
    return f"{public_url.rstrip('/')}/{LINKED_PAGE}?{urlencode(query)}"
