"""The sample connector: answers GA4 report requests from the offline property, with DuckDB.

Figures follow GA4's semantics: users are distinct per row and never summed; with page
dimensions a row's sessions are the sessions that viewed that page, so pages share sessions.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from connectors.base import ReportRequest, ReportResult, Usage
from connectors.catalog import TIME_DIMENSIONS
from connectors.sample_property import (
    DAY_RUNS,
    SampleData,
    generate,
    oslo_today,
    read_meta,
    read_sample,
    write_sample,
)
from connectors.sql_text import string_literal

__all__ = ["SampleConnector", "write_sample"]

TIME_ZONE = "Europe/Oslo"
OTHER = "(other)"
PAGE_DIMENSIONS = ("pagePath", "pageTitle")
THRESHOLDED_DIMENSIONS = ("country",)  # demographic-like: GA4 may withhold small rows
MEMORY_LIMIT = "400MB"  # DuckDB's own working memory while answering reports
CHUNK_SESSIONS = 500_000  # sessions counted at once, at most, unless a month holds more
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
# Metrics that read the session's own columns (user, duration, engagement), not the page's.
SESSION_METRICS = {"activeUsers", "averageSessionDuration", "engagementRate", "bounceRate"}
_RANK = "__sessions"  # sessions per row, to pick the rows that survive the (other) roll-up
_KEY = "__group"  # a hash of a row's dimension values, to attach its distinct users
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MAPPED_FROM, MAPPED_AFTER = 1 << 20, 32 << 20  # 32 MiB: the most glibc's own threshold rises to


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


def _connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to disk rather than grow past a few hundred MB."""
    db = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False})
    spill = Path(tempfile.gettempdir()) / f"kanon-duckdb-{uuid.uuid4().hex}"  # made if needed
    db.execute(f"SET temp_directory = {string_literal(spill)}")
    return db


def _copy_in(db: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """A table of the connection's own, so every cursor of it sees the rows."""
    db.register("_incoming", frame)
    db.execute(f"CREATE TABLE {table} AS SELECT * FROM _incoming")
    db.unregister("_incoming")


def _chunk_end(start: date, grain: str) -> date:
    """The last day of the run of whole periods of `grain` that begins with `start`'s period."""
    if grain == "day":
        return start + timedelta(days=30)
    if grain == "week":
        return start + timedelta(days=6 - start.weekday() + 28)  # five ISO weeks
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


@lru_cache(maxsize=2)
def _load(folder: str, stamp: int) -> SampleData:
    del stamp  # part of the cache key only: a rewritten folder is read again
    return read_sample(Path(folder))


def _facts_sql(dimensions: tuple[str, ...], metrics: tuple[str, ...]) -> str:
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
    if set(dimensions) <= set(PAGE_DIMENSIONS) and not set(metrics) & SESSION_METRICS:
        # Nothing asked of the session: skip joining every page view to it (the join was
        # most of a page report's time at large scales). The session's own columns
        # are typed blanks, which no metric asked for reads.
        blanks = "NULL::BIGINT AS uid, NULL::DOUBLE AS sessionDuration, NULL::BOOLEAN AS engaged"
        return f"""
            SELECT {cols} p.sid, {blanks}, p.views, p.engagement
            FROM {pages} p WHERE p.sid BETWEEN $lo AND $hi"""
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


def _aggregate_sql(
    dimensions: tuple[str, ...], metrics: tuple[str, ...], facts: str, with_key: bool = False
) -> str:
    dims = [f"CAST({d} AS VARCHAR) AS {d}" for d in dimensions]
    values = [f"{METRIC_SQL[m]} AS {m}" for m in metrics] + [f"COUNT(*) AS {_RANK}"]
    if with_key:
        values.append(f"{_group_hash(dimensions)} AS {_KEY}")
    group = f"GROUP BY {', '.join(dimensions)}" if dimensions else "HAVING COUNT(*) > 0"
    return f"SELECT {', '.join(dims + values)} FROM ({facts}) f {group}"


def _group_hash(dimensions: tuple[str, ...]) -> str:
    return f"hash({', '.join(dimensions)})" if dimensions else "hash(0)"


@contextmanager
def _freed_arrays_returned(wanted: bool) -> Iterator[None]:
    """While `wanted`, allocations of 1 MiB or more are mapped, and so returned to the system
    when freed.

    Counting a report in chunks allocates and frees arrays of several MB (each chunk's (group,
    user) pairs). After the first such free, glibc's allocator raises its mmap threshold and
    keeps the later ones in its arenas, under everything protect and the audit then allocate
    (a large first sync's peak memory is lower and steadier this way, for a little more time:
    benchmarks/bench_sync.py). A single chunk (a daily sync's reports) is
    left alone: mapping its every array only cost time. A no-op without glibc."""
    mallopt = _mallopt() if wanted else None
    if mallopt is None:
        yield
        return
    mallopt(M_MMAP_THRESHOLD, MAPPED_FROM)
    try:
        yield
    finally:
        mallopt(M_MMAP_THRESHOLD, MAPPED_AFTER)


@lru_cache(maxsize=1)
def _mallopt() -> Callable[[int, int], int] | None:
    try:
        return getattr(ctypes.CDLL(None), "mallopt", None)
    except (OSError, TypeError):  # no C library to ask (Windows)
        return None


def _distinct_users(
    db: duckdb.DuckDBPyConnection,
    dimensions: tuple[str, ...],
    facts: str,
    params: dict[str, int],
    keys: pd.Series,
) -> np.ndarray | None:
    """Distinct users of each group (`keys`: the groups' hashes), or None if two groups collide.

    DuckDB's COUNT(DISTINCT) takes most of a report's time on a large property; sorting
    (group, user) pairs packed into one integer counts them exactly at a fraction of the cost.
    """
    group_keys = keys.to_numpy(dtype=np.uint64)
    codes, uniques = pd.factorize(group_keys)
    if len(uniques) < len(group_keys):
        return None
    pairs = db.execute(
        f"SELECT {_group_hash(dimensions)} AS g, uid FROM ({facts}) f", params
    ).fetchnumpy()
    group = pd.Index(uniques).get_indexer(np.asarray(pairs["g"], dtype=np.uint64))
    packed = (group.astype(np.int64) << 32) | (np.asarray(pairs["uid"], np.int64) & 0xFFFFFFFF)
    packed.sort()
    first = np.ones(len(packed), bool)
    np.not_equal(packed[1:], packed[:-1], out=first[1:])
    per_group = np.bincount(packed[first] >> 32, minlength=len(uniques))
    return per_group[codes]


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
    columns: dict[str, pd.Series] = {}
    for d in request.dimensions:
        columns[d] = rows[d].astype(str)
    for m in request.metrics:
        kind: Literal["int64", "float64"] = "int64" if m in INTEGER_METRICS else "float64"
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
        self._db = _connect()
        if data_dir is not None:
            self._folder: Path | None = Path(data_dir).resolve()
            self._data: SampleData | None = None
            meta = read_meta(self._folder)
            first = date.fromisoformat(meta["first_day"])
            last = date.fromisoformat(meta["last_day"])
            # Straight from the Parquet files: a property of any size is read in bounded memory.
            for table in ("sessions", "pageviews"):
                path = string_literal(self._folder / f"{table}.parquet")
                self._db.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({path})")
            self._today = today or last + timedelta(days=1)
        else:
            self._folder = None
            self._today = today or oslo_today()
            self._data = generate(seed, scale, self._today)
            first, last = self._data.first_day, self._data.last_day
            _copy_in(self._db, "sessions", self._data.sessions)
            _copy_in(self._db, "pageviews", self._data.pageviews)
        self._first_day, self._last_day = first, last
        self._other_row_limit = other_row_limit
        self._thresholding = thresholding
        self._lock = threading.Lock()
        _copy_in(self._db, "days", _days_table(first, last))
        runs = self._day_runs()
        self._run_days, self._run_lo, self._run_hi = (
            runs[c].to_numpy() for c in ("day", "lo", "hi")
        )

    def _day_runs(self) -> pd.DataFrame:
        """Each day's run of session ids: written beside the property by `kanon sample`
        (so no sync scans a large property's millions of sessions for them), else from the
        sessions (a folder written before, or a generated property)."""
        if self._folder is not None and (self._folder / DAY_RUNS).is_file():
            return pd.read_parquet(self._folder / DAY_RUNS)
        return self._db.execute(
            "SELECT day, min(sid) AS lo, max(sid) AS hi FROM sessions GROUP BY day ORDER BY day"
        ).df()

    @property
    def data(self) -> SampleData:
        """The sessions and page views behind the figures (for tests and benchmarks)."""
        if self._data is None:
            assert self._folder is not None
            self._data = _load(str(self._folder), (self._folder / "meta.json").stat().st_mtime_ns)
        return self._data

    def today(self) -> date:
        return self._today

    def usage(self) -> Usage:
        return Usage()  # offline: no calls, no quota, no bytes billed

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

    def _sid_range(self, start: date, end: date) -> tuple[int, int] | None:
        """The session ids of the days [start, end], or None when no session falls in them."""
        first = max(start, self._first_day).toordinal()
        last = min(end, self._last_day).toordinal()
        lo, hi = np.searchsorted(self._run_days, [first, last + 1])
        if first > last or hi <= lo:
            return None
        return int(self._run_lo[lo]), int(self._run_hi[hi - 1])

    def _rows(self, request: ReportRequest) -> tuple[pd.DataFrame, bool]:
        span = self._sid_range(request.start, request.end)
        if span is None:
            return pd.DataFrame(columns=[*request.dimensions, *request.metrics]), False
        facts = _facts_sql(request.dimensions, request.metrics)
        chunks = self._chunks(request, span)
        # Chunks are independent, and DuckDB counts each on one core: run them side by side.
        with (
            _freed_arrays_returned(len(chunks) > 1),
            ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool,
        ):
            parts = list(pool.map(lambda c: self._chunk_rows(request, facts, c), chunks))
        rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        with self._lock:
            return self._roll_up_other(request, rows, facts, {"lo": span[0], "hi": span[1]})

    def _chunk_rows(
        self, request: ReportRequest, facts: str, chunk: tuple[int, int]
    ) -> pd.DataFrame:
        params = {"lo": chunk[0], "hi": chunk[1]}
        with self._db.cursor() as db:
            if "activeUsers" not in request.metrics:
                return db.execute(
                    _aggregate_sql(request.dimensions, request.metrics, facts), params
                ).df()
            others = tuple(m for m in request.metrics if m != "activeUsers")
            sql = _aggregate_sql(request.dimensions, others, facts, with_key=True)
            rows = db.execute(sql, params).df()
            users = _distinct_users(db, request.dimensions, facts, params, rows[_KEY])
            if users is None:  # two groups share a hash: count them the slow, exact way
                sql = _aggregate_sql(request.dimensions, request.metrics, facts)
                return db.execute(sql, params).df()
            rows["activeUsers"] = users
            return rows.drop(columns=_KEY)

    def _chunks(self, request: ReportRequest, span: tuple[int, int]) -> list[tuple[int, int]]:
        """Session id ranges of runs of whole periods, about a month each or as many months
        as hold CHUNK_SESSIONS (`span`: the whole request's, a single chunk when the request
        has no time dimension).

        Users are a distinct count, whose working set grows with the rows counted at once;
        periods never straddle two chunks, so each period's count is made in one of them. A
        small property's months are merged: each query costs a few milliseconds whatever
        its size, which was most of a scale-1 sync's fetching.
        """
        grain = next((g for g, d in TIME_DIMENSIONS.items() if d in request.dimensions), None)
        if grain is None:
            return [span]
        chunks: list[tuple[int, int]] = []
        start = request.start
        while start <= request.end:
            end = min(_chunk_end(start, grain), request.end)
            found = self._sid_range(start, end)
            if found is not None:
                if chunks and found[1] - chunks[-1][0] < CHUNK_SESSIONS:
                    found = (chunks.pop()[0], found[1])  # sessions are in date order
                chunks.append(found)
            start = end + timedelta(days=1)
        return chunks

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
