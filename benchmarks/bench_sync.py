"""End-to-end figures: first and daily sync, full audit, peak memory, what is withheld.

Each scale runs in its own process so peak memory is that scale's alone. The table is the one
the README's Benchmarks section shows, headed by the machine it ran on.

    python benchmarks/bench_sync.py            # scales 1, 10 and 100
    python benchmarks/bench_sync.py 1 10
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 1)  # fixed, so runs are comparable
# The targets, beside the figures (None: no target).
TARGETS = {
    "first_sync_s": {1: 10, 100: 60},
    "daily_sync_s": {1: 3, 10: 3, 100: 3},
    "audit_full_s": {1: 5},
    "peak_rss_mb": {100: 1024},
}


def measure(scale: float) -> dict:
    sys.path.insert(0, str(ROOT))
    import duckdb

    from connectors.sample import SampleConnector
    from kanon.settings import load_settings
    from kanon.sync import sync
    from reports import audit, protect
    from store.db import Store

    figures: dict = {"scale": scale}
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home))
        started = time.perf_counter()
        connector = SampleConnector(scale=scale, today=TODAY - timedelta(days=1))  # generates
        figures["generate_s"] = time.perf_counter() - started

        started = time.perf_counter()
        first = sync(settings, connector)
        figures["first_sync_s"] = time.perf_counter() - started
        figures["cells"] = first.release["cells"]

        started = time.perf_counter()  # the sample property is generated again for the day
        sync(settings, SampleConnector(scale=scale, today=TODAY))
        figures["daily_sync_s"] = time.perf_counter() - started

        release = protect.current(Store(settings.store_path))
        result = audit.audit(release.cells, release.k)  # full: no earlier proof reused
        figures["audit_full_s"] = result.seconds
        figures["exposed"] = result.counts["exposed"]
        with duckdb.connect(str(settings.store_path), read_only=True) as con:
            withheld, sessions = con.execute(
                "SELECT avg((r.status <> 'published')::INT) * 100, "
                "sum(CASE WHEN r.status <> 'published' THEN w.sessions ELSE 0 END) * 100 "
                "/ sum(w.sessions) FROM release_cells r JOIN raw_cells w "
                "USING (breakdown, grain, period, category)"
            ).fetchone()
        figures["cells_withheld_%"] = withheld
        figures["sessions_withheld_%"] = sessions
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def main(scales: list[float]) -> None:
    print(f"machine: {machine()}")
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
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(_cell(c, row) for c in columns) + " |")


def _cell(column: str, row: dict) -> str:
    value = row[column]
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    target = TARGETS.get(column, {}).get(int(row["scale"]))
    return f"{text} (target {target:,})" if target is not None else text


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(float(sys.argv[2]))))
    else:
        main([float(s) for s in sys.argv[1:]] or [1.0, 10.0, 100.0])
