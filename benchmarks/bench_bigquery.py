"""Bytes a month of BigQuery syncs processes and bills, at scales 1, 10 and 100.

For each scale it writes a week of the sample property as GA4's BigQuery export, measures with
the local BigQuery fake's byte model (the columns each of Kanon's queries names, by BigQuery's
size rules) how many bytes one day costs each kind of query, and replays the sync's own plan
(`kanon.sync.plan`): a first sync of the 14-month window, then 30 daily syncs. Billed bytes
round each query up to a MiB, at least 10 MiB, as BigQuery's on-demand pricing does.

    python benchmarks/bench_bigquery.py [scales ...]     (default: 1 10 100)
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from connectors.base import ReportRequest  # noqa: E402
from connectors.bigquery_sql import events_table, report_query, suffix  # noqa: E402
from connectors.sample_export import write_export  # noqa: E402
from connectors.sample_property import generate  # noqa: E402
from kanon.sync import plan  # noqa: E402
from reports.grid import Window, period_end  # noqa: E402
from tests.emulator.bigquery_fake import MIB, MIN_BILLED, BigQueryFake  # noqa: E402

TODAY = date(2026, 6, 1)
SAMPLE_DAYS = 7
DAILY_SYNCS = 30
TIB = 1024**4
PRICE_PER_TIB = 6.25  # US$, on-demand list price; the first TiB a month is free


def bytes_per_day(fake: BigQueryFake, request: ReportRequest, days: list[str]) -> float:
    """Mean bytes one day of the export costs this query shape."""
    sql = report_query(request, events_table("kanon-sample", "analytics_1")).sql
    return sum(fake.bytes_scanned(sql, [day]) for day in days) / len(days)


def sync_queries(window: Window, fetched: set) -> list[ReportRequest]:
    """The requests one sync sends: the plan's reports plus the page-title request."""
    done = pd.DataFrame(list(fetched), columns=["breakdown", "grain", "period"])
    pulls = plan(window, done)
    requests = [pull.request for pull in pulls]
    pages = [p for pull in pulls if pull.breakdown.label_dimension for p in pull.periods]
    if pages:
        grain = next(pull.grain for pull in pulls if pull.breakdown.label_dimension)
        requests.append(
            ReportRequest(
                ("pagePath", "pageTitle"),
                ("screenPageViews",),
                min(pages),
                period_end(max(pages), grain),
            )
        )
    for pull in pulls:
        fetched.update((pull.breakdown.name, pull.grain, p) for p in pull.periods)
    return requests


def cost(requests: list[ReportRequest], per_day: dict[tuple, float]) -> tuple[int, int, int]:
    """Bytes processed and billed by these queries, and the most one of them processes."""
    processed = billed = largest = 0
    for request in requests:
        days = (request.end - request.start).days + 1
        one = int(per_day[request.dimensions] * days)
        processed += one
        billed += max(MIN_BILLED, math.ceil(one / MIB) * MIB)
        largest = max(largest, one)
    return processed, billed, largest


def measure(scale: float) -> dict:
    started = time.monotonic()
    data = generate(7, scale, TODAY)
    last = data.last_day
    with tempfile.TemporaryDirectory() as folder:
        write_export(Path(folder), data, first=last - timedelta(days=SAMPLE_DAYS - 1))
        fake = BigQueryFake(Path(folder))
        days = [suffix(last - timedelta(days=i)) for i in range(SAMPLE_DAYS)]
        fetched: set = set()
        first = sync_queries(Window.on(TODAY, 14, 3), fetched)
        month = []
        for i in range(1, DAILY_SYNCS + 1):
            month += sync_queries(Window.on(TODAY + timedelta(days=i), 14, 3), fetched)
        shapes = {r.dimensions: r for r in first + month}
        per_day = {dims: bytes_per_day(fake, r, days) for dims, r in shapes.items()}
    first_processed, first_billed, first_largest = cost(first, per_day)
    month_processed, month_billed, _ = cost(month, per_day)
    return {
        "scale": scale,
        "sessions/day": len(data.sessions) / ((data.last_day - data.first_day).days + 1),
        "first": (len(first), first_processed, first_billed),
        "largest": first_largest,
        "month": (len(month), month_processed, month_billed),
        "seconds": time.monotonic() - started,
    }


def main(argv: list[str]) -> None:
    scales = [float(a) for a in argv] or [1.0, 10.0, 100.0]
    print(
        "| scale | sessions a day | first sync: queries, GB processed, GB billed | "
        "its largest query, GB | 30 daily syncs: queries, GB processed, GB billed | "
        "a month billed, US$ | seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for scale in scales:
        r = measure(scale)
        q1, p1, b1 = r["first"]
        qm, pm, bm = r["month"]
        print(
            f"| {r['scale']:g} | {r['sessions/day']:,.0f} | {q1}, {p1 / 1e9:.2f}, {b1 / 1e9:.2f} "
            f"| {r['largest'] / 1e9:.2f} "
            f"| {qm}, {pm / 1e9:.2f}, {bm / 1e9:.2f} | {bm / TIB * PRICE_PER_TIB:.2f} "
            f"| {r['seconds']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
