"""A sync: pull aggregates, store them, protect them, publish the release — all or nothing.

Fetching happens first, outside the store (the last release is read meanwhile, in one short
connection); then the release is built through `reports.protect` from what the store holds plus
what was fetched, and checked with the attacker's audit, with no connection open, so the
dashboard keeps reading the last release meanwhile. Finally one short transaction stores the
raw cells, purges what left the retention window and replaces the release (rewriting only the
periods that changed). Any failure before or during it leaves the last good release in place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from connectors.base import Connector, ReportRequest, ReportResult
from connectors.catalog import BREAKDOWNS, Breakdown
from kanon.access import log as log_entries
from kanon.errors import KanonError
from kanon.settings import Settings
from kanon.store.duckdb_store import (
    SAMPLE,
    SUCCEEDED,
    SourceRefused,
    Store,
    finish_sync,
    latest_release,
    next_release_id,
    now,
    purge_before,
    raw_cells_after_upsert,
    read_table,
    release_cells_since,
    release_proofs,
    replace_release,
    sources,
    upsert,
)
from reports import attack, audit, protect
from reports.cells import cells_from_result, empty_cells, request_for
from reports.grid import Window, next_period, period_end
from reports.status import PUBLISHED

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
BATCH = 5  # GA4 batchRunReports takes at most five reports


class SyncError(KanonError, RuntimeError):
    """The sync did not publish; the previous release is unchanged."""


@dataclass(frozen=True)
class Pull:
    """One request of the plan: a breakdown at one grain over a run of whole periods."""

    breakdown: Breakdown
    grain: str
    periods: tuple[date, ...]

    @property
    def request(self) -> ReportRequest:
        return request_for(
            self.breakdown, self.grain, self.periods[0], period_end(self.periods[-1], self.grain)
        )


@dataclass
class SyncReport:
    sync_id: int
    source: str
    pulls: int
    rows: int
    requests: int
    tokens: int
    purged: int
    seconds: float
    release: dict = field(default_factory=dict)
    # What went wrong after the release was published: the sync still succeeded.
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        r = self.release
        return [
            f"sync {self.sync_id} from {self.source}: {self.pulls} reports, {self.rows} rows, "
            f"{self.requests} requests, {self.tokens} quota tokens, {self.seconds:.1f} s",
            f"release: {r.get('cells', 0)} cells, {r.get('withheld_primary', 0)} withheld "
            f"(fewer than k={r.get('k')} visitors), {r.get('withheld_secondary', 0)} withheld "
            f"to protect them (release {r.get('release_id')})",
            f"purged {self.purged} rows older than the retention window",
            *(f"warning: {warning}" for warning in self.warnings),
        ]


def plan(window: Window, fetched: pd.DataFrame) -> list[Pull]:
    """Requests for every publishable period not fetched yet, one per contiguous run."""
    done = {(r.breakdown, r.grain, _as_date(r.period)) for r in fetched.itertuples(index=False)}
    pulls = []
    for breakdown in BREAKDOWNS.values():
        for grain in breakdown.grains:
            missing = [p for p in window.periods(grain) if (breakdown.name, grain, p) not in done]
            for run in _contiguous_runs(missing, grain):
                pulls.append(Pull(breakdown, grain, tuple(run)))
    return pulls


def sync(
    settings: Settings,
    connector: Connector,
    progress: Progress | None = None,
    today: date | None = None,
) -> SyncReport:
    """Pull what is new, then publish a protected release in one transaction.

    One sync at a time (a second is refused while one runs); its history row is written as
    `running` when it starts and finished in the publish transaction, or as failed."""
    refuse_in_developer_mode(settings, connector.name)
    store = Store(settings.store_path)
    with store.sync_lock():
        try:
            sync_id = store.begin_sync(connector.name, now())
        except SourceRefused as refusal:
            raise SyncError(str(refusal)) from None
        try:
            report = _sync(settings, store, connector, sync_id, progress, today)
        except BaseException as error:
            _record_failure(store, sync_id, error, connector)
            raise
    # Published: nothing from here on may fail the sync, only warn.
    _after_publishing(settings, store, report, progress)
    return report


def refuse_in_developer_mode(settings: Settings, source: str) -> None:
    """Developer mode lets anyone in: it syncs the sample only."""
    if settings.developer_mode and source != SAMPLE:
        raise SyncError(
            f"Developer mode syncs the sample property only, not {source}: developer mode "
            "lets anyone in without signing in. Turn it off (unset KANON_DEVELOPER_MODE) to "
            "sync real statistics, into a Kanon home of their own."
        )


def _sync(
    settings: Settings,
    store: Store,
    connector: Connector,
    sync_id: int,
    progress: Progress | None,
    today: date | None,
) -> SyncReport:
    started = time.monotonic()
    report_progress = progress or (lambda fraction, message: None)
    window = Window.on(today or connector.today(), settings.retention_months, settings.settle_days)
    pulls = plan(window, store.raw_periods())
    # The last release is read while the reports are fetched (off a daily sync's time:
    # benchmarks/bench_sync.py); the connection is held only for the read, never for the fetch.
    with ThreadPoolExecutor(max_workers=1) as reader:
        reading = reader.submit(_last_release, store, window)
        fetched = Fetched.of(pulls, _fetch(connector, pulls, report_progress))
        labels = _fetch_labels(connector, pulls)
        last = reading.result()
    report_progress(0.9, "protecting and publishing the release")
    usage = connector.usage()
    record = {"sync_id": sync_id, "source": connector.name, "usage": _usage(connector)}
    info, purged, rows = _publish(store, settings, window, fetched, labels, last, record)
    return SyncReport(
        sync_id,
        connector.name,
        len(pulls),
        rows,
        usage.requests,
        usage.tokens,
        purged,
        time.monotonic() - started,
        info,
    )


def _record_failure(store: Store, sync_id: int, error: BaseException, connector: Connector) -> None:
    """Finish the history row as failed; a store that cannot take it does not hide `error`."""
    message = str(error) or type(error).__name__
    try:
        store.fail_sync(sync_id, message[:2000], _usage(connector))
    except Exception:
        log.exception("Could not record sync %s as failed", sync_id)


def _after_publishing(
    settings: Settings, store: Store, report: SyncReport, progress: Progress | None
) -> None:
    """The access log's purge and the last progress report, after the release is live: a
    failure here is a warning on the report (and in the sync's history), never a failed sync."""
    window_start = report.release.get("first_day")
    try:
        log_entries.purge(settings.access_log_path, _as_date(window_start))
    except Exception as error:
        report.warnings.append(
            f"the access log {settings.access_log_path.name} could not be purged of entries "
            f"before {window_start} ({type(error).__name__}: {error}); the release was "
            "published. Make the file readable and writable by Kanon (or move it away), then run "
            "`kanon purge`."
        )
    if progress is not None:
        try:
            progress(1.0, "done")
        except Exception as error:
            report.warnings.append(f"the progress display failed ({error})")
    for warning in report.warnings:
        log.warning("Sync %s: %s", report.sync_id, warning)
    if report.warnings:
        try:
            store.note_on_sync(report.sync_id, "; ".join(f"warning: {w}" for w in report.warnings))
        except Exception:
            log.exception("Could not add the warnings to sync %s's history", report.sync_id)


def _fetch(connector: Connector, pulls: list[Pull], progress: Progress) -> list[ReportResult]:
    results: list[ReportResult] = []
    for start in range(0, len(pulls), BATCH):
        batch = pulls[start : start + BATCH]
        progress(
            0.85 * start / max(len(pulls), 1),
            f"fetching reports {start + 1}-{start + len(batch)} of {len(pulls)}",
        )
        results.extend(connector.run_many([pull.request for pull in batch]))
    return results


def _fetch_labels(connector: Connector, pulls: list[Pull]) -> pd.DataFrame:
    """Display names (page titles) for new categories: the most viewed title of each path."""
    frames = []
    for breakdown in {p.breakdown for p in pulls if p.breakdown.label_dimension}:
        label = breakdown.label_dimension
        if label is None:
            continue
        periods = [p for pull in pulls if pull.breakdown == breakdown for p in pull.periods]
        grain = next(p.grain for p in pulls if p.breakdown == breakdown)
        key = breakdown.dimensions[0]
        request = ReportRequest(
            dimensions=(key, label),
            metrics=("screenPageViews",),
            start=min(periods),
            end=period_end(max(periods), grain),
        )
        rows = connector.run(request).rows
        if rows.empty:
            continue
        best = rows.sort_values("screenPageViews", ascending=False).drop_duplicates(key)
        frames.append(
            pd.DataFrame(
                {
                    "breakdown": breakdown.name,
                    "category": best[key].astype(str),
                    "label": best[label].astype(str),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass
class Fetched:
    """What a sync fetched, as raw cells: GA4's rows are not kept once converted."""

    raw: pd.DataFrame
    flags: pd.DataFrame
    time_zones: set[str]

    @classmethod
    def of(cls, pulls: list[Pull], results: list[ReportResult]) -> Fetched:
        pairs = zip(pulls, results, strict=True)
        cells = (cells_from_result(p.breakdown, p.grain, r) for p, r in pairs)
        raw = pd.concat([empty_cells(), *cells], ignore_index=True)
        zones = {result.time_zone for result in results if result.time_zone}
        return cls(raw=raw, flags=_flags(pulls, results), time_zones=zones)


@dataclass
class LastRelease:
    """What a sync starts from: the last release (less what left the window), the labels and
    the proofs of its audit. `info` is None before the first release."""

    info: dict | None
    previous: protect.Release | None
    labels: pd.DataFrame
    proven: frozenset[str]


def _last_release(store: Store, window: Window) -> LastRelease:
    with store.connect() as con:
        info = latest_release(con)
        return LastRelease(
            info=info,
            previous=_previous_release(con, info, window),
            labels=read_table(con, "labels"),
            proven=release_proofs(con),
        )


def _publish(
    store: Store,
    settings: Settings,
    window: Window,
    fetched: Fetched,
    labels: pd.DataFrame,
    last: LastRelease,
    record: dict,
) -> tuple[dict, int, int]:
    """Protect and audit outside the store's lock, then write everything in one short
    transaction, so the dashboard can read the store for as long as the sync works."""
    new_raw, flags = fetched.raw, fetched.flags
    base, previous, proven = last.info, last.previous, last.proven
    all_labels = _merged(last.labels, labels, ["breakdown", "category"])
    # Cells the last release published are carried forward as they are: their raw figures
    # are not needed (reading them slowed every daily sync: benchmarks/bench_sync.py).
    carried = PUBLISHED if protect.carries_forward(previous, settings.k) else None
    with store.connect() as con:
        raw = raw_cells_after_upsert(con, new_raw, window.first_day, unless_released_as=carried)
    release, points = protect.protect_with_points(
        raw, settings.k, window, previous=previous, labels=all_labels
    )
    del raw
    proofs = _audit_or_refuse(release, proven, points)
    del points
    info = {
        "release_id": None,  # given inside the transaction, from the store
        "created_at": now(),
        "source": record["source"],
        "k": settings.k,
        "first_day": window.first_day,
        "last_settled": window.last_settled,
        **protect.summary(release.cells),
        "time_zone": _time_zone(fetched.time_zones, base),
        "model": release.info["model"],
        "listing": release.info["listing"],
    }
    source = record["source"]
    with store.transaction() as con:
        if _release_id(latest_release(con)) != _release_id(base):
            raise SyncError(
                "Another sync published a release while this one ran; nothing was written. "
                "Run `kanon sync` again."
            )
        refusal = sources(con).refusal(source)
        if refusal:
            raise SyncError(refusal)
        info["release_id"] = next_release_id(con, record["sync_id"])
        upsert(con, "raw_cells", new_raw)
        upsert(con, "period_flags", flags.assign(source=source) if not flags.empty else flags)
        upsert(con, "labels", labels)
        purged = purge_before(con, window.first_day)
        replace_release(con, release.cells, info, proofs)
        usage = {**record["usage"], "release_id": info["release_id"]}
        finish_sync(con, record["sync_id"], SUCCEEDED, "", usage)
    return info, purged, len(new_raw)


def _merged(stored: pd.DataFrame, new: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """What the table will hold once `new` is upserted."""
    if new.empty:
        return stored
    if stored.empty:
        return new
    frame = pd.concat([stored, new[stored.columns]], ignore_index=True)
    return frame.drop_duplicates(key, keep="last", ignore_index=True)


def _time_zone(zones: set[str], base: dict | None) -> str | None:
    """The zone the property reports in, as GA4 said; a sync with nothing new keeps the last."""
    if zones:
        return sorted(zones)[0]
    zone = base.get("time_zone") if base else None
    return None if zone is None or pd.isna(zone) else str(zone)


def _release_id(info: dict | None) -> int | None:
    return None if info is None else int(info["release_id"])


def _previous_release(
    con: duckdb.DuckDBPyConnection, info: dict | None, window: Window
) -> protect.Release | None:
    """The last release, less the periods that have left the window."""
    if info is None:
        return None
    cells = release_cells_since(con, window.first_day)
    return protect.load(cells, info, pd.DataFrame(), pd.DataFrame())


def _audit_or_refuse(
    release: protect.Release, proven: frozenset[str], points: attack.FoundPoints | None
) -> frozenset[str]:
    """The attacker's check runs on every release; one that fails it is not published.

    Blocks of the attacker's system that the last release's audit proved safe, unchanged
    since, are not solved again, and the feasible points protect found are checked and used
    before any LP (`kanon audit --full` uses neither); returns the proofs to store with the
    release."""
    result = audit.audit(
        release.cells,
        release.k,
        proven=proven,
        points=points,
        listing=protect.listing_of(release.info),
    )
    if not result.ok:
        raise SyncError(
            f"The new release failed the attacker check ({len(result.exposed)} exposed figures); "
            "it was not published and the previous release is unchanged. Run `kanon audit` "
            "for details and report this as a bug."
        )
    return result.proofs


def _flags(pulls: list[Pull], results: list[ReportResult]) -> pd.DataFrame:
    rows = [
        {
            "breakdown": pull.breakdown.name,
            "grain": pull.grain,
            "period": period,
            "subject_to_thresholding": result.subject_to_thresholding,
            "data_loss_from_other_row": result.data_loss_from_other_row,
            "sampled": result.sampled,
        }
        for pull, result in zip(pulls, results, strict=True)
        for period in pull.periods
    ]
    return pd.DataFrame(rows)


def _usage(connector: Connector) -> dict[str, int | None]:
    """The connector's usage as the sync history's columns: requests and quota tokens spent,
    what GA4 said was left, bytes BigQuery processed and billed (None where a source has no
    such counter)."""
    return asdict(connector.usage())


def _contiguous_runs(periods: list[date], grain: str) -> list[list[date]]:
    runs: list[list[date]] = []
    for period in sorted(periods):
        if runs and next_period(runs[-1][-1], grain) == period:
            runs[-1].append(period)
        else:
            runs.append([period])
    return runs


def _as_date(value: Any) -> date:
    """A date from a frame's cell or a release's info (a date, a timestamp or ISO text)."""
    return pd.Timestamp(value).date()
