"""GA4 requests and quota tokens for a first sync (14-month window) and a daily incremental sync.

Runs GA4Connector, through Google's own client, against the local GA4 emulator in front of the
sample property, and prints one table. Three ways to get the requests:

- `--mode plan` (default): the sync's own request plan and fetch code (`kanon.sync.plan`,
  `_fetch`, `_fetch_labels`) without protect and audit, so it takes seconds;
- `--mode sync`: the whole `kanon.sync.sync` (the seconds then include protect and audit);
- `--mode catalog`: a representative plan from connectors.catalog.BREAKDOWNS alone (each
  breakdown at each of its grains over the window), for when kanon.sync cannot run.

Token figures come from the emulator's rough cost model, not Google's formula; the request and
batch counts are exact for Kanon's plan. A standard GA4 property allows 200,000 tokens a day and
40,000 an hour.

    python benchmarks/bench_ga4_requests.py [--mode plan|sync|catalog] [--today 2025-06-30]
                                            [--scale 1] [--page-size N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

import pandas as pd  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402

from connectors.base import ReportRequest  # noqa: E402
from connectors.catalog import BREAKDOWNS, METRICS, TIME_DIMENSIONS  # noqa: E402
from connectors.ga4 import MAX_PAGE_SIZE, GA4Connector  # noqa: E402
from connectors.sample import SampleConnector  # noqa: E402
from tests.emulator.ga4_emulator import GA4Emulator  # noqa: E402

HOURLY, DAILY = 40_000, 200_000


@dataclass
class Row:
    scenario: str
    reports: int
    calls: int
    batches: int
    pages: int
    rows: int
    tokens: int
    seconds: float


def main() -> None:
    args = parse_args()
    rows, how = run_all(args)
    print_table(rows, how, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("plan", "sync", "catalog"), default="plan")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--page-size", type=int, default=MAX_PAGE_SIZE)
    return parser.parse_args()


def run_all(args: argparse.Namespace) -> tuple[list[Row], str]:
    runners = {
        "plan": (run_sync_plans, "kanon.sync plan and fetch, without protect/audit"),
        "sync": (run_syncs, "kanon.sync.sync"),
    }
    if args.mode in runners:
        runner, how = runners[args.mode]
        try:
            return runner(args), how
        except Exception as error:  # the pipeline is not ready: measure the catalog plan
            print(f"(kanon.sync could not run: {type(error).__name__}: {error}; using the plan)")
    return run_plans(args), "request plan from connectors.catalog.BREAKDOWNS"


def connector_for(emulator: GA4Emulator, args: argparse.Namespace) -> GA4Connector:
    return GA4Connector(
        emulator.property_id,
        endpoint=emulator.endpoint,
        credentials=AnonymousCredentials(),
        page_size=args.page_size,
        quota_reserve=0,
    )


def measure(scenario: str, emulator: GA4Emulator, work) -> Row:
    emulator.clear_log()
    started = time.perf_counter()
    reports, rows = work()
    seconds = time.perf_counter() - started
    batches = emulator.calls(":batchRunReports")
    singles = emulator.calls(":runReport")
    pages = sum(entry.reports for entry in batches + singles)
    return Row(
        scenario,
        reports,
        emulator.requests_served,
        len(batches),
        pages,
        rows,
        emulator.tokens_charged,
        seconds,
    )


def run_syncs(args: argparse.Namespace) -> list[Row]:
    from kanon.settings import Settings
    from kanon.sync import sync

    results = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        for scenario, today in (("first sync", args.today), ("daily sync", next_day(args))):
            source = SampleConnector(scale=args.scale, today=today)
            with GA4Emulator(source) as emulator:
                connector = connector_for(emulator, args)

                def work(connector=connector, today=today):
                    report = sync(settings, connector, today=today)
                    return report.pulls, report.rows

                results.append(measure(scenario, emulator, work))
    return results


def run_sync_plans(args: argparse.Namespace) -> list[Row]:
    """Exactly the requests a sync sends: its plan, its batching, its label lookups."""
    from kanon import sync as pipeline
    from kanon.settings import Settings
    from reports.grid import Window

    defaults = Settings(home=Path(tempfile.gettempdir()))
    fetched = pd.DataFrame({"breakdown": [], "grain": [], "period": []})
    results = []
    for scenario, today in (("first sync", args.today), ("daily sync", next_day(args))):
        window = Window.on(today, defaults.retention_months, defaults.settle_days)
        pulls = pipeline.plan(window, fetched)
        with GA4Emulator(SampleConnector(scale=args.scale, today=today)) as emulator:
            connector = connector_for(emulator, args)

            def work(connector=connector, pulls=pulls):
                answers = pipeline._fetch(connector, pulls, lambda fraction, message: None)
                pipeline._fetch_labels(connector, pulls)
                return len(pulls), sum(len(answer.rows) for answer in answers)

            results.append(measure(scenario, emulator, work))
        done = [(p.breakdown.name, p.grain, period) for p in pulls for period in p.periods]
        fetched = pd.concat([fetched, pd.DataFrame(done, columns=fetched.columns)])
    return results


def run_plans(args: argparse.Namespace) -> list[Row]:
    results = []
    source = SampleConnector(scale=args.scale, today=next_day(args))
    last_settled = args.today - timedelta(days=3)  # the default settle_days
    first_day = (pd.Timestamp(args.today) - pd.DateOffset(months=14)).date()
    new_day = last_settled + timedelta(days=1)
    plans = (
        ("first sync", plan(first_day, last_settled, ("day", "week", "month"))),
        ("daily sync", plan(new_day, new_day, ("day",))),  # weeks and months end now and then
    )
    with GA4Emulator(source) as emulator:
        for scenario, requests in plans:
            connector = connector_for(emulator, args)

            def work(connector=connector, requests=requests):
                answers = []
                for start in range(0, len(requests), 5):
                    answers += connector.run_many(requests[start : start + 5])
                return len(requests), sum(len(answer.rows) for answer in answers)

            results.append(measure(scenario, emulator, work))
    return results


def plan(start: date, end: date, grains: tuple[str, ...]) -> list[ReportRequest]:
    """Each breakdown at each of its grains (among `grains`) over [start, end]."""
    return [
        ReportRequest((TIME_DIMENSIONS[grain], *b.dimensions), METRICS, start, end)
        for b in BREAKDOWNS.values()
        for grain in b.grains
        if grain in grains
    ]


def next_day(args: argparse.Namespace) -> date:
    return args.today + timedelta(days=1)


def print_table(rows: list[Row], how: str, args: argparse.Namespace) -> None:
    print(f"GA4 requests per sync ({how}; sample scale {args.scale}, page size {args.page_size})")
    header = (
        f"{'scenario':<12} {'reports':>7} {'HTTP calls':>10} {'batches':>7} {'pages':>6} "
        f"{'rows':>9} {'tokens':>7} {'% hour':>7} {'% day':>6} {'seconds':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.scenario:<12} {row.reports:>7} {row.calls:>10} {row.batches:>7} "
            f"{row.pages:>6} {row.rows:>9} {row.tokens:>7} {100 * row.tokens / HOURLY:>6.1f}% "
            f"{100 * row.tokens / DAILY:>5.1f}% {row.seconds:>8.1f}"
        )
    print(
        "HTTP calls include the Admin API time-zone lookup, if any; tokens follow the emulator's "
        f"model (standard property: {HOURLY:,}/hour, {DAILY:,}/day)."
    )


if __name__ == "__main__":
    main()
