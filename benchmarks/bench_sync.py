"""End-to-end figures: sample generation, first and daily sync, view and export times, memory.

Each scale runs in its own process so peak memory is that scale's alone.

    python benchmarks/bench_sync.py            # scales 1 and 10
    python benchmarks/bench_sync.py 1 10 100
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(scale: float) -> dict:
    sys.path.insert(0, str(ROOT))
    from connectors.sample import SampleConnector
    from kanon.settings import load_settings
    from kanon.sync import sync
    from reports import export, protect, views
    from store.db import Store

    figures: dict = {"scale": scale}
    today = date.today()
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home))
        started = time.perf_counter()
        connector = SampleConnector(scale=scale, today=today - timedelta(days=1))
        connector.data  # noqa: B018 - generate now, to time it apart from the sync
        figures["generate_s"] = time.perf_counter() - started

        started = time.perf_counter()
        first = sync(settings, connector)
        figures["first_sync_s"] = time.perf_counter() - started
        figures["cells"] = first.release["cells"]
        figures["withheld_primary"] = first.release["withheld_primary"]
        figures["withheld_secondary"] = first.release["withheld_secondary"]

        started = time.perf_counter()
        daily = sync(settings, SampleConnector(scale=scale, today=today))
        figures["daily_sync_s"] = time.perf_counter() - started
        figures["daily_reports"] = daily.pulls

        started = time.perf_counter()
        release = protect.current(Store(settings.store_path))
        figures["load_release_s"] = time.perf_counter() - started

        selection = views.select(release, "day", today - timedelta(days=90), today)
        started = time.perf_counter()
        views.kpis(release, selection)
        views.site_trend(release, selection)
        views.breakdown_table(release, "sources", selection)
        figures["views_90_days_s"] = time.perf_counter() - started

        pages = views.select(release, "month", today - timedelta(days=365), today)
        started = time.perf_counter()
        export.to_csv(export.summary(release, "pages", pages))
        figures["pages_csv_12_months_s"] = time.perf_counter() - started
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main(scales: list[float]) -> None:
    rows = []
    for scale in scales:
        result = subprocess.run(
            [sys.executable, __file__, "--one", str(scale)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    columns = list(rows[0])
    print(" | ".join(f"{c:>14}" for c in columns))
    for row in rows:
        print(" | ".join(f"{_fmt(row[c]):>14}" for c in columns))


def _fmt(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(float(sys.argv[2]))))
    else:
        main([float(s) for s in sys.argv[1:]] or [1.0, 10.0])
