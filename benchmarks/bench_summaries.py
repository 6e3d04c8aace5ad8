"""Summary figures: building the workbook of a year at month grain, and opening it.

`python benchmarks/bench_summaries.py [scale]` syncs the sample property at that scale (1 by
default) into a temporary KANON_HOME, then prints seconds to build the workbook and every
report's CSV, its size, and how long it takes to open: with openpyxl, and headless in
LibreOffice (`soffice`, when installed) minus LibreOffice's own start-up on an empty workbook.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import xlsxwriter

ROOT = Path(__file__).resolve().parents[1]


def measure(scale: float) -> dict[str, float | str]:
    sys.path.insert(0, str(ROOT))
    from connectors.catalog import BREAKDOWNS
    from connectors.sample import SampleConnector
    from kanon.settings import load_settings
    from kanon.sources import summary_facts
    from kanon.store import releases
    from kanon.store.duckdb_store import Store
    from kanon.sync import sync
    from reports import export, workbook

    figures: dict[str, float | str] = {"scale": scale}
    today = date.today()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        settings = load_settings(home=home)
        sync(settings, SampleConnector(scale=scale, today=today))
        release = releases.current(Store(settings.store_path))
        first, last = today - timedelta(days=365), today
        facts = summary_facts(settings, release.info)

        started = time.perf_counter()
        payload = workbook.summary_workbook(release, "month", first, last, facts)
        figures["build_workbook_s"] = time.perf_counter() - started
        figures["workbook_kb"] = len(payload) / 1024
        path = home / "year.xlsx"
        path.write_bytes(payload)

        started = time.perf_counter()
        for name in BREAKDOWNS:
            selection = export.selection_for(release, name, "month", first, last)
            header = export.provenance(release, selection, facts, report=name)
            export.to_csv(export.summary(release, name, selection), header, "excel-nb")
        figures["build_all_csv_s"] = time.perf_counter() - started

        started = time.perf_counter()
        openpyxl.load_workbook(path)
        figures["open_openpyxl_s"] = time.perf_counter() - started
        if shutil.which("soffice"):
            empty = home / "empty.xlsx"
            book = xlsxwriter.Workbook(str(empty))
            book.add_worksheet()
            book.close()
            startup = _libreoffice_seconds(empty, home)
            figures["open_libreoffice_s"] = _libreoffice_seconds(path, home) - startup
            figures["libreoffice_startup_s"] = startup
        else:
            figures["open_libreoffice_s"] = "no soffice"
    return figures


def _libreoffice_seconds(path: Path, home: Path) -> float:
    """Seconds for a headless LibreOffice to load `path` and write it out again (best of 2)."""
    profile = f"-env:UserInstallation=file://{home / 'lo-profile'}"
    command = ["soffice", profile, "--headless", "--convert-to", "csv", "--outdir"]
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([*command, str(home / "out"), str(path)], check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    figures = measure(scale)
    for name, value in figures.items():
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{name:>24} | {text}")


if __name__ == "__main__":
    main()
