"""The fixed grid of periods: days, ISO weeks (Monday to Sunday) and calendar months.

Only whole periods are ever published, and any range picked in the UI snaps to a run of them,
so the set of figures Kanon can publish is finite and known in advance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from connectors.catalog import check_grain


def as_dates(periods: pd.Series) -> pd.Series:
    """Periods as `datetime.date` values, whatever they came as (dates, timestamps, text).

    Only the distinct values are parsed: a release holds a few hundred periods in hundreds of
    thousands of rows (far quicker than parsing every row: benchmarks/bench_sync.py)."""
    codes, uniques = pd.factorize(periods, use_na_sentinel=False)
    dates = pd.to_datetime(pd.Series(uniques)).dt.date.to_numpy()
    return pd.Series(dates[codes], index=periods.index, dtype=object, name=periods.name)


def period_start(day: date, grain: str) -> date:
    check_grain(grain)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_end(start: date, grain: str) -> date:
    """The last day of the period that begins on `start`."""
    check_grain(grain)
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        return (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    return start


def next_period(start: date, grain: str) -> date:
    return period_end(start, grain) + timedelta(days=1)


def periods_within(first: date, last: date, grain: str) -> list[date]:
    """Starts of the whole periods lying entirely inside [first, last]."""
    start = period_start(first, grain)
    if start < first:
        start = next_period(start, grain)
    starts = []
    while start <= last and period_end(start, grain) <= last:
        starts.append(start)
        start = next_period(start, grain)
    return starts


def periods_overlapping(first: date, last: date, grain: str) -> list[date]:
    """Starts of every period that shares at least one day with [first, last]."""
    start = period_start(first, grain)
    starts = []
    while start <= last:
        starts.append(start)
        start = next_period(start, grain)
    return starts


def days_of(start: date, grain: str) -> list[date]:
    end = period_end(start, grain)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def ga4_period(start: date, grain: str) -> str:
    """The period as GA4 writes it: date YYYYMMDD, isoYearIsoWeek YYYYWW, yearMonth YYYYMM."""
    check_grain(grain)
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}{week:02d}"
    if grain == "month":
        return f"{start.year:04d}{start.month:02d}"
    return start.strftime("%Y%m%d")


def parse_ga4_period(value: str, grain: str) -> date:
    """The first day of a period written in GA4's format."""
    check_grain(grain)
    value = str(value)
    if grain == "week":
        return date.fromisocalendar(int(value[:4]), int(value[4:6]), 1)
    if grain == "month":
        return date(int(value[:4]), int(value[4:6]), 1)
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


@dataclass(frozen=True)
class Window:
    """What may be kept (retention) and what may be published (settled) on a given day."""

    first_day: date  # oldest day still inside the retention window
    last_settled: date  # newest day GA4 will no longer revise

    @classmethod
    def on(cls, today: date, retention_months: int, settle_days: int) -> Window:
        first = (pd.Timestamp(today) - pd.DateOffset(months=retention_months)).date()
        return cls(first_day=first, last_settled=today - timedelta(days=settle_days))

    def periods(self, grain: str) -> list[date]:
        """Whole, settled periods inside the window: the ones a release may contain."""
        return periods_within(self.first_day, self.last_settled, grain)


@dataclass(frozen=True)
class Selection:
    """A range picked in the UI, snapped to whole periods, and the run of periods before it."""

    grain: str
    periods: tuple[date, ...]
    previous: tuple[date, ...]

    @property
    def first_day(self) -> date | None:
        return self.periods[0] if self.periods else None

    @property
    def last_day(self) -> date | None:
        return period_end(self.periods[-1], self.grain) if self.periods else None

    @property
    def days(self) -> tuple[date, date]:
        """The first and the last day of a selection that has periods (pages and downloads
        only ever show such a selection; an empty one is a bug in the caller)."""
        if not self.periods:
            raise ValueError("An empty selection has no first or last day.")
        return self.periods[0], period_end(self.periods[-1], self.grain)


def snap(first: date, last: date, grain: str, available: list[date]) -> Selection:
    """The available whole periods overlapping [first, last], and as many before them."""
    wanted = set(periods_overlapping(first, last, grain))
    ordered = sorted(available)
    chosen = [p for p in ordered if p in wanted]
    if not chosen:
        return Selection(grain, (), ())
    earlier = [p for p in ordered if p < chosen[0]]
    previous = earlier[-len(chosen) :] if len(earlier) >= len(chosen) else []
    return Selection(grain, tuple(chosen), tuple(previous))
