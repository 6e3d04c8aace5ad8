"""End-to-end figures: first and daily sync, full audit, peak memory, what is withheld.

Each step runs in its own process, as a user runs it: `kanon sample --scale N` writes the
property (for the day before and the day itself), then the first sync, the daily sync and a full
audit read it; peak memory is the largest of those processes, each step's own printed beside it.
The table is the one docs/benchmarks.md shows, headed by the machine it ran on.

    python benchmarks/bench_sync.py            # scales 1, 10 and 100
    python benchmarks/bench_sync.py 1 10

The daily sync runs three times from the same first release (the median counts, its range is
printed beside it): a few seconds long, it moves most with the host's speed of the moment.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 1)  # fixed, so runs are comparable
DAILY_REPEATS = 3
# The targets, beside the figures (None: no target).
TARGETS = {
    "first_sync_s": {1: 10, 100: 60},
    "daily_sync_s": {1: 3, 10: 3, 100: 3},
    "audit_full_s": {1: 5},
    "peak_rss_mb": {100: 1024},
}


def step(name: str, scale: float, home: Path) -> dict:
    """One step in a process of its own, so its peak memory is its own: what a user runs."""
    sys.path.insert(0, str(ROOT))
    from connectors.sample import SampleConnector, write_sample
    from kanon.settings import load_settings
    from kanon.store import releases
    from kanon.store.duckdb_store import Store
    from kanon.sync import sync
    from reports import audit

    settings = load_settings(home=home)
    started = time.perf_counter()
    figures: dict = {}
    if name == "generate":  # `kanon sample --scale N`, for the day before and the day itself
        write_sample(home / "before", seed=7, scale=scale, today=TODAY - timedelta(days=1))
        write_sample(home / "today", seed=7, scale=scale, today=TODAY)
    elif name in ("first", "daily"):  # `kanon sync --source sample` over the written property
        folder = home / ("before" if name == "first" else "today")
        report = sync(settings, SampleConnector(data_dir=folder))
        figures["cells"] = report.release["cells"]
    elif name == "audit":  # `kanon audit --full`
        release = releases.current(Store(settings.store_path))
        result = audit.audit(release.cells, release.k)  # no earlier proof reused
        figures["exposed"] = result.counts["exposed"]
        figures.update(_withheld(settings.store_path))
    figures["seconds"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # all threads; imports included
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _withheld(store_path: Path) -> dict:
    import duckdb

    with duckdb.connect(str(store_path), read_only=True) as con:
        withheld, sessions = con.execute(
            "SELECT avg((r.status <> 'published')::INT) * 100, "
            "sum(CASE WHEN r.status <> 'published' THEN w.sessions ELSE 0 END) * 100 "
            "/ sum(w.sessions) FROM release_cells r JOIN raw_cells w "
            "USING (breakdown, grain, period, category)"
        ).fetchone()
    return {"cells_withheld_%": withheld, "sessions_withheld_%": sessions}


def measure(scale: float, daily_repeats: int = DAILY_REPEATS) -> dict:
    """Every step for one scale: generation, first and daily sync, full audit.

    The daily sync is a few seconds, so the host's moment-to-moment speed moves it most: it
    runs `daily_repeats` times from the same first release, and the median counts."""
    figures: dict = {"scale": scale}
    with tempfile.TemporaryDirectory() as home:
        peaks: dict[str, list[float]] = {}
        store = Path(home) / "kanon.duckdb"
        for name in ("generate", "first", *["daily"] * daily_repeats, "audit"):
            if name == "daily":  # each daily sync starts from the first release
                shutil.copy(store.with_suffix(".first"), store)
            out = _run_step(name, scale, home)
            if name == "first":
                shutil.copy(store, store.with_suffix(".first"))
            seconds, cpu = out.pop("seconds"), out.pop("cpu_seconds")
            figures.setdefault(_COLUMN[name], []).append(seconds)
            if name in ("first", "daily"):  # on a shared machine CPU time says more than wall
                figures.setdefault(f"{name}_sync_cpu_s", []).append(cpu)
            if name != "generate":  # generation is `kanon sample`, not a sync
                peaks.setdefault(name, []).append(out.pop("peak_rss_mb"))
            out.pop("peak_rss_mb", None)
            if name == "daily":
                out.pop("cells")
            figures.update(out)
        figures["peak_rss_mb"] = max(max(p) for p in peaks.values())
        # which step sets the peak: the largest of each step's processes
        figures["peak_first/daily/audit_mb"] = "/".join(f"{max(p):.0f}" for p in peaks.values())
    row = {}
    for column, value in figures.items():
        row[column] = statistics.median(value) if isinstance(value, list) else value
        if column == "daily_sync_s":  # the spread beside the median
            row["daily_sync_range_s"] = f"{min(value):.1f}-{max(value):.1f}"
    return row


def _run_step(name: str, scale: float, home: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--step", name, str(scale), home],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


_COLUMN = {
    "generate": "generate_s",
    "first": "first_sync_s",
    "daily": "daily_sync_s",
    "audit": "audit_full_s",
}


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
        rows.append(measure(scale))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(_cell(c, row) for c in columns) + " |")


def _cell(column: str, row: dict) -> str:
    value = row[column]
    if isinstance(value, str):
        return value
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    target = TARGETS.get(column, {}).get(int(row["scale"]))
    return f"{text} (target {target:,})" if target is not None else text


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--step":
        print(json.dumps(step(sys.argv[2], float(sys.argv[3]), Path(sys.argv[4]))))
    else:
        main([float(s) for s in sys.argv[1:]] or [1.0, 10.0, 100.0])
