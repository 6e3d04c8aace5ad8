"""When a summary is due: weekly is the last whole ISO week, monthly the last whole calendar
month, each due once the release first holds that whole period.

A subscription never brings a summary of a period older than the last one that could be
published on the day it was made (the last whole period ending on or before that day's last
settled day), so subscribing does not mail out a backlog.
"""

from __future__ import annotations

from datetime import date, timedelta

from reports.grid import period_end, period_start
from reports.protect import Release

CADENCES = {"weekly": "week", "monthly": "month"}  # cadence -> the release's grain


def grain_of(cadence: str) -> str:
    return CADENCES[cadence]


def period_days(cadence: str, start: date) -> tuple[date, date]:
    """The first and last day of the period of `cadence` that begins on `start`."""
    return start, period_end(start, grain_of(cadence))


def previous_start(cadence: str, start: date) -> date:
    """The first day of the period before the one beginning on `start`."""
    return period_start(start - timedelta(days=1), grain_of(cadence))


def latest_period(release: Release, cadence: str) -> date | None:
    """The newest whole period of `cadence` the release holds (it publishes whole ones only)."""
    periods = release.periods(grain_of(cadence))
    return max(periods) if periods else None


def first_eligible(cadence: str, subscribed_on: date, settle_days: int) -> date:
    """The first period a subscription made on `subscribed_on` may bring: the last whole period
    ending on or before that day's last settled day."""
    settled = subscribed_on - timedelta(days=settle_days)
    grain = grain_of(cadence)
    start = period_start(settled, grain)
    if period_end(start, grain) > settled:  # the period holding `settled` is not whole yet
        start = period_start(start - timedelta(days=1), grain)
    return start
