"""The sample connector: answers GA4 report requests from the offline property, with DuckDB.

Figures follow GA4's semantics: users are distinct per row and never summed; with page
dimensions a row's sessions are the sessions that viewed that page, so pages share sessions.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from connectors.base import ReportRequest, ReportResult
from connectors.catalog import TIME_DIMENSIONS
from connectors.sample_property import (
    SampleData,
    generate,
    oslo_today,
    read_sample,
    write_sample,
)

__all__ = ["SampleConnector", "write_sample"]

TIME_ZONE = "Europe/Oslo"
OTHER = "(other)"
PAGE_DIMENSIONS = ("pagePath", "pageTitle")
THRESHOLDED_DIMENSIONS = ("country",)  # demographic-like: GA4 may withhold small rows
INTEGER_METRICS = ("activeUsers", "sessions", "screenPageViews", "userEngagementDuration")

# Over `facts`: one row per session (or per session and page, for page dimensions).
METRIC_SQL = {
    "activeUsers": "CAST(COUNT(DISTINCT uid) AS BIGINT)",
    "sessions": "CAST(COUNT(*) AS BIGINT)",
    "screenPageViews": "CAST(SUM(views) AS BIGINT)",
    "userEngagementDuration": "CAST(SUM(engagement) AS BIGINT)",
    "averageSessionDuration": "AVG(sessionDuration)::DOUBLE",
    "engagementRate": "AVG(engaged::DOUBLE)",
    "bounceRate": "1 - AVG(engaged::DOUBLE)",
}
_RANK = "__sessions"  # sessions per row, to pick the rows that survive the (other) roll-up


def _days_table(first: date, last: date) -> pd.DataFrame:
    """Each day's ordinal and its GA4 time dimension values."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    iso = [d.isocalendar() for d in days]
    return pd.DataFrame(
        {
            "day": np.array([d.toordinal() for d in days], dtype=np.int32),
            "date": [d.strftime("%Y%m%d") for d in days],
            "isoYearIsoWeek": [f"{y:04d}{w:02d}" for y, w, _ in iso],
            "yearMonth": [f"{d.year:04d}{d.month:02d}" for d in days],
        }
    )


@lru_cache(maxsize=2)
def _load(folder: str, stamp: int) -> SampleData:
    del stamp  # part of the cache key only: a rewritten folder is read again
    return read_sample(Path(folder))


def _facts_sql(dimensions: tuple[str, ...]) -> str:
    """One row per session (or session and page) in the range, with the requested dimensions."""
    cols = ", ".join(f"{_source(d)} AS {d}" for d in dimensions)
    cols = cols + ", " if cols else ""
    time_join = (
        "JOIN days d ON d.day = s.day"
        if any(d in TIME_DIMENSIONS.values() for d in dimensions)
        else ""
    )
    measures = "s.sid, s.uid, s.sessionDuration, s.engaged"
    if not any(d in PAGE_DIMENSIONS for d in dimensions):
        return f"""
            SELECT {cols} {measures}, s.screenPageViews AS views, s.engagement
            FROM sessions s {time_join}
            WHERE s.sid BETWEEN $lo AND $hi"""
    # (session, page) rows are unique, so with pagePath they can be used as they are; titles
    # can repeat across paths ("(not set)"), so by title alone merge a session's rows first.
    pages = "pageviews"
    if "pagePath" not in dimensions:
        pages = """(SELECT sid, pageTitle, SUM(views) AS views, SUM(engagement) AS engagement
            FROM pageviews WHERE sid BETWEEN $lo AND $hi GROUP BY sid, pageTitle)"""
    return f"""
        SELECT {cols} {measures}, p.views, p.engagement
        FROM {pages} p JOIN sessions s ON s.sid = p.sid {time_join}
        WHERE p.sid BETWEEN $lo AND $hi AND s.sid BETWEEN $lo AND $hi"""


def _source(dimension: str) -> str:
    if dimension in TIME_DIMENSIONS.values():
        return f"d.{dimension}"
    if dimension in PAGE_DIMENSIONS:
        return f"p.{dimension}"
    return f"s.{dimension}"


def _aggregate_sql(dimensions: tuple[str, ...], metrics: tuple[str, ...], facts: str) -> str:
    dims = [f"CAST({d} AS VARCHAR) AS {d}" for d in dimensions]
    values = [f"{METRIC_SQL[m]} AS {m}" for m in metrics] + [f"COUNT(*) AS {_RANK}"]
    group = f"GROUP BY {', '.join(dimensions)}" if dimensions else "HAVING COUNT(*) > 0"
    return f"SELECT {', '.join(dims + values)} FROM ({facts}) f {group}"


def _other_sql(
    dimensions: tuple[str, ...], metrics: tuple[str, ...], facts: str, time_dims: list[str]
) -> str:
    """The (other) rows: the facts of every row not kept, one (other) row per time value.

    A session can fall into several folded rows (it viewed several tail pages), so the facts
    are first merged per session: the (other) row counts it once, as GA4 does.
    """
    match = " AND ".join(f"CAST(f.{d} AS VARCHAR) = k.{d}" for d in dimensions)
    keys = ", ".join([*time_dims, "sid"])
    merged = f"""
        SELECT {keys}, ANY_VALUE(uid) AS uid, SUM(views) AS views,
               SUM(engagement) AS engagement, ANY_VALUE(sessionDuration) AS sessionDuration,
               ANY_VALUE(engaged) AS engaged
        FROM ({facts}) f ANTI JOIN kept k ON {match}
        GROUP BY {keys}"""
    dims = [d if d in time_dims else f"'{OTHER}'" for d in dimensions]
    selected = [f"{expr} AS {d}" for expr, d in zip(dims, dimensions, strict=True)]
    values = [f"{METRIC_SQL[m]} AS {m}" for m in metrics] + [f"COUNT(*) AS {_RANK}"]
    group = f"GROUP BY {', '.join(time_dims)}" if time_dims else "HAVING COUNT(*) > 0"
    return f"SELECT {', '.join(selected + values)} FROM ({merged}) m {group}"


def _typed(rows: pd.DataFrame, request: ReportRequest) -> pd.DataFrame:
    """Request-ordered columns with GA4's types; drop all-zero rows; sort by dimensions."""
    columns = {}
    for d in request.dimensions:
        columns[d] = rows[d].astype(str)
    for m in request.metrics:
        kind = "int64" if m in INTEGER_METRICS else "float64"
        columns[m] = rows[m].fillna(0).astype(kind)
    typed = pd.DataFrame(columns, index=rows.index)
    if request.metrics:
        typed = typed[(typed[list(request.metrics)] != 0).any(axis=1)]
    if request.dimensions:
        typed = typed.sort_values(list(request.dimensions), kind="stable")
    return typed.reset_index(drop=True)


class SampleConnector:
    """The offline GA4 property as a connector (see sample_data/README.md)."""

    name = "sample"

    def __init__(
        self,
        seed: int = 7,
        scale: float = 1.0,
        today: date | None = None,
        data_dir: Path | None = None,
        other_row_limit: int | None = None,
        thresholding: bool = False,
    ) -> None:
        if data_dir is not None:
            meta = Path(data_dir) / "meta.json"
            stamp = meta.stat().st_mtime_ns if meta.exists() else 0
            self._data = _load(str(Path(data_dir).resolve()), stamp)
            self._today = today or self._data.last_day + timedelta(days=1)
        else:
            self._today = today or oslo_today()
            self._data = generate(seed, scale, self._today)
        self._other_row_limit = other_row_limit
        self._thresholding = thresholding
        self._lock = threading.Lock()
        self._db = duckdb.connect()
        self._db.register("sessions", self._data.sessions)
        self._db.register("pageviews", self._data.pageviews)
        self._db.register("days", _days_table(self._data.first_day, self._data.last_day))
        self._day_index = self._data.sessions["day"].to_numpy()

    @property
    def data(self) -> SampleData:
        """The sessions and page views behind the figures (for tests and benchmarks)."""
        return self._data

    def today(self) -> date:
        return self._today

    def run_many(self, requests: list[ReportRequest]) -> list[ReportResult]:
        return [self.run(r) for r in requests]

    def run(self, request: ReportRequest) -> ReportResult:
        rows, lost = self._rows(request)
        return ReportResult(
            rows=_typed(rows, request),
            subject_to_thresholding=self._thresholding
            and any(d in THRESHOLDED_DIMENSIONS for d in request.dimensions),
            data_loss_from_other_row=lost,
            time_zone=TIME_ZONE,
        )

    def _sid_range(self, request: ReportRequest) -> tuple[int, int] | None:
        """Sessions are stored in date order, so a date range is a range of session ids."""
        first = max(request.start, self._data.first_day).toordinal()
        last = min(request.end, self._data.last_day).toordinal()
        lo, hi = np.searchsorted(self._day_index, [first, last + 1])
        return (int(lo), int(hi) - 1) if first <= last and hi > lo else None

    def _rows(self, request: ReportRequest) -> tuple[pd.DataFrame, bool]:
        span = self._sid_range(request)
        if span is None:
            return pd.DataFrame(columns=[*request.dimensions, *request.metrics]), False
        params = {"lo": span[0], "hi": span[1]}
        facts = _facts_sql(request.dimensions)
        sql = _aggregate_sql(request.dimensions, request.metrics, facts)
        # One connection, one query at a time: DuckDB already runs each query on all cores.
        with self._lock:
            rows = self._db.execute(sql, params).df()
            return self._roll_up_other(request, rows, facts, params)

    def _roll_up_other(
        self, request: ReportRequest, rows: pd.DataFrame, facts: str, params: dict[str, int]
    ) -> tuple[pd.DataFrame, bool]:
        """GA4's (other) row: keep the top rows by sessions, fold the rest per time value."""
        limit = self._other_row_limit
        time_dims = [d for d in request.dimensions if d in TIME_DIMENSIONS.values()]
        if limit is None or len(rows) <= limit or len(time_dims) == len(request.dimensions):
            return rows, False
        dims = list(request.dimensions)
        order = rows.sort_values(dims).sort_values(_RANK, ascending=False, kind="stable")
        kept = order.head(max(limit - 1, 0))
        self._db.register("kept", kept[dims].astype(str))
        try:
            sql = _other_sql(request.dimensions, request.metrics, facts, time_dims)
            other = self._db.execute(sql, params).df()
        finally:
            self._db.unregister("kept")
        return pd.concat([kept, other], ignore_index=True), True
