"""Page speed against Streamlit's own floor, per page and scale, printed as one table.

For each dashboard page: the AppTest rerun time and the time from navigation to the first chart
drawn in Chromium, each beside the page's floor (`floor_page.py`: the same elements, built
beforehand, drawn with no data work), measured in the same run, alternating; their ratio. Per
scale: cold start to the first chart (a new `streamlit run app.py`, beside the floor's own cold
start: the median of three each, alternating), the dashboard server's peak memory, and GA4
calls per view (counted: the GA4 connector's constructor, and connections to a listener
standing in for the GA4 endpoint).

    python benchmarks/bench_pages.py                      # scales 1, 10 and 100
    python benchmarks/bench_pages.py --scales 1,10 --repeats 5
    python benchmarks/bench_pages.py --cache DIR --rebuild

Each scale's KANON_HOME (`kanon sample --scale N`, then `kanon sync --source sample`; minutes at
scale 100) is kept in `--cache` (default: a folder in the system's temporary directory), named
by a fingerprint of the code a release depends on, and reused by later runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_sync import machine  # noqa: E402
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy  # noqa: E402

APP = ROOT / "app.py"  # what `streamlit run` starts
SCRIPT = ROOT / "dashboard.py"  # the page script it serves, as AppTest runs it
FLOOR = ROOT / "benchmarks" / "floor_page.py"
# url path -> page script; a page "draws" when its first chart (or, without one, table) does.
PAGES = {
    "overview": "overview.py",
    "pages": "top_pages.py",
    "sources": "sources.py",
    "technology": "technology.py",
    "countries": "countries.py",
    "engagement": "engagement.py",
    "privacy": "privacy.py",
}
CHART = ".js-plotly-plot .cartesianlayer .trace"
TABLE = '[data-testid="stDataFrame"] canvas'
TEXT = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "info",
    "warning",
    "success",
    "error",
    "text",
)
RATIO_TARGET = {10: 1.3}  # scale -> most a page may take, as a multiple of its floor
COLD_START_TARGET_S = 3.0
COLD_STARTS = 3  # cold starts of the app and of its floor, alternating; the median counts
MEMORY_TARGET_MB = {100: 1024}
RELEASE_CODE = ("connectors", "kanon", "store", "sample_data", "reports/protect.py",
                "reports/suppress.py", "reports/audit.py", "reports/cells.py")  # fmt: skip
SERVER_FLAGS = ["--server.headless", "true", "--browser.gatherUsageStats", "false"]


# --- the KANON_HOME of a scale, built once -------------------------------------------------


def fingerprint() -> str:
    """Of the code a release depends on: a change there needs a new sync."""
    digest = hashlib.sha256()
    for entry in RELEASE_CODE:
        path = ROOT / entry
        for file in sorted([path] if path.is_file() else path.rglob("*")):
            if file.is_file() and file.suffix in (".py", ".toml", ".csv", ".json"):
                digest.update(file.relative_to(ROOT).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def home_for(scale: int, cache: Path, rebuild: bool) -> Path:
    home = cache / f"scale-{scale}-{fingerprint()}"
    if (home / "ready").exists() and not rebuild:
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    kanon = Path(sys.executable).parent / "kanon"
    env = {**clean_environment(), "KANON_HOME": str(home)}
    started = time.perf_counter()
    for command in (["sample", "--scale", str(scale)], ["sync", "--source", "sample"]):
        subprocess.run([str(kanon), *command], env=env, cwd=home, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    print(f"built scale {scale} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    (home / "ready").touch()
    return home


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}


# --- GA4 calls: counted, never made --------------------------------------------------------


class Listener:
    """A TCP port standing in for the GA4 endpoint: it counts who connects and answers nothing."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def environment(self) -> dict[str, str]:
        return {"KANON_GA4_PROPERTY": "123456789",
                "KANON_GA4_ENDPOINT": f"http://127.0.0.1:{self.port}"}  # fmt: skip


def count_ga4_connectors() -> Callable[[], int]:
    """Count every GA4 connector made in this process (the dashboard should make none)."""
    from connectors import ga4

    made = []
    original = ga4.GA4Connector.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    ga4.GA4Connector.__init__ = counting
    return lambda: len(made)


# --- AppTest: reruns of each page and of its floor -----------------------------------------


def apptest_figures(home: Path, listener: Listener, repeats: int, floor_data: Path) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ.update({"KANON_HOME": str(home), "KANON_DEVELOPER_MODE": "1",
                       **listener.environment()})  # fmt: skip
    connectors_made = count_ga4_connectors()
    real, captured = {}, {}
    for name, script in PAGES.items():
        at = AppTest.from_file(str(SCRIPT), default_timeout=600).run()
        at.switch_page(f"kanon/ui/pages/{script}").run()  # the first run fills the caches
        assert not at.exception, [e.value for e in at.exception]
        real[name], captured[name] = at, capture(at)
    floor_data.write_bytes(pickle.dumps(captured))
    os.environ["KANON_BENCH_FLOOR"] = str(floor_data)
    floors = {}
    for name in PAGES:
        floors[name] = AppTest.from_file(str(FLOOR), default_timeout=600)
        floors[name].query_params["page"] = name
        floors[name].run()
        assert _shape(capture(floors[name])) == _shape(captured[name]), f"{name}: floor differs"
    times: dict[str, dict[str, list[float]]] = {name: {"real": [], "floor": []} for name in PAGES}
    for repeat in range(repeats):
        for name in PAGES:
            runs = [("real", real[name]), ("floor", floors[name])]
            for kind, at in runs if repeat % 2 == 0 else runs[::-1]:
                started = time.perf_counter()
                at.run()
                times[name][kind].append(time.perf_counter() - started)
                assert not at.exception, [e.value for e in at.exception]
    views = repeats * len(PAGES)
    return {
        name: {"apptest_s": statistics.median(t["real"]),
               "apptest_floor_s": statistics.median(t["floor"])}
        for name, t in times.items()
    } | {"_views": views + len(PAGES), "_connectors": connectors_made()}  # fmt: skip


def capture(at) -> dict[str, list]:
    """What the page drew, block by block, widgets included, as values the floor draws again
    with no data work: the main area and the sidebar (the navigation the floor builds itself)."""
    return {"main": _drawn(at.main), "sidebar": _drawn(at.sidebar)}


def _shape(page: dict[str, list]) -> dict[str, list]:
    """The kinds of elements in a captured page, nested as drawn: the floor must match it."""

    def kinds(items: list) -> list:
        return [(kind, [kinds(part) for part in children]) for kind, _, children in items]

    return {area: kinds(items) for area, items in page.items()}


def _drawn(block) -> list[tuple[str, object, list]]:
    """(kind, value, children) for each element of `block`, in order."""
    items: list[tuple[str, object, list]] = []
    for node in block.children.values():
        kind = node.type
        if kind == "flex_container" and all(c.type == "column" for c in node.children.values()):
            columns = list(node.children.values())
            items.append(("columns", [c.weight for c in columns], [_drawn(c) for c in columns]))
        elif kind == "tab_container":
            tabs = list(node.children.values())
            items.append((kind, [tab.label for tab in tabs], [_drawn(tab) for tab in tabs]))
        elif kind in ("flex_container", "form"):  # a container: one part holding its elements
            items.append((kind, None, [_drawn(node)]))
        elif kind == "html":
            items.append((kind, (node.proto.body, node.proto.unsafe_allow_javascript), []))
        elif kind in ("text_input", "date_input"):
            items.append((kind, (node.label, node.value), []))
        elif kind == "button":
            items.append((kind, node.label, []))
        elif kind in TEXT:
            items.append((kind, node.value, []))
        elif kind == "metric":
            items.append((kind, (node.label, node.value, node.delta), []))
        elif kind == "plotly_chart":
            items.append((kind, json.loads(node.proto.spec), []))
        elif kind == "dataframe":
            items.append((kind, node.value, []))
        elif kind in ("selectbox", "radio"):
            items.append((kind, (node.label, list(node.options), node.index), []))
        elif kind == "button_group":
            items.append((kind, (node.label, list(node.options)), []))
        elif kind == "download_button":
            items.append((kind, node.label, []))
        else:
            raise ValueError(f"The floor cannot draw {kind!r}: teach benchmarks/floor_page.py.")
    return items


# --- the browser: navigation to the first chart drawn --------------------------------------


@contextmanager
def server(script: Path, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    process = subprocess.Popen([*command, *SERVER_FLAGS], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, timeout=600)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def drawn(page, url: str, selector: str) -> float:
    """Seconds from navigating to `url` until `selector` is in the page."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(selector, state="attached", timeout=600_000)
    return time.perf_counter() - started


def peak_mb(process: subprocess.Popen) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: peak memory is read on Linux only")


def browser_figures(home: Path, listener: Listener, repeats: int, floor_data: Path) -> dict:
    from playwright.sync_api import sync_playwright

    app_env = {**clean_environment(), "KANON_HOME": str(home), "KANON_DEVELOPER_MODE": "1",
               **listener.environment()}  # fmt: skip
    floor_env = {**clean_environment(), "KANON_BENCH_FLOOR": str(floor_data)}
    figures: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        cold = {"real": [], "floor": []}  # a new server each time, alternating with the floor's
        for repeat in range(COLD_STARTS):
            for kind in ("real", "floor") if repeat % 2 == 0 else ("floor", "real"):
                script, env = (APP, app_env) if kind == "real" else (FLOOR, floor_env)
                query = "" if kind == "real" else "?page=overview"
                cold[kind].append(cold_start(page, script, env, f"/overview{query}"))
        figures["_cold_start_s"] = statistics.median(cold["real"])
        figures["_cold_floor_s"] = statistics.median(cold["floor"])

        with server(APP, app_env) as (app, process), server(FLOOR, floor_env) as (floor, _):
            addresses = {name: {"real": f"{app}/{name}", "floor": f"{floor}/{name}?page={name}"}
                         for name in PAGES}  # fmt: skip
            for name in PAGES:  # warm both servers' caches and Chromium's
                for address in addresses[name].values():
                    drawn(page, address, selector(name))
            times = {name: {"real": [], "floor": []} for name in PAGES}
            for repeat in range(repeats):
                for name in PAGES:
                    kinds = ["real", "floor"] if repeat % 2 == 0 else ["floor", "real"]
                    for kind in kinds:
                        times[name][kind].append(drawn(page, addresses[name][kind], selector(name)))
            figures["_peak_mb"] = peak_mb(process)
        browser.close()
    figures["_views"] = (repeats + 2) * len(PAGES) + 1
    for name, t in times.items():
        figures[name] = {"browser_s": statistics.median(t["real"]),
                         "browser_floor_s": statistics.median(t["floor"])}  # fmt: skip
    return figures


def cold_start(page, script: Path, env: dict[str, str], path: str) -> float:
    """Seconds from starting a new server (nothing loaded or cached) to the first chart."""
    started = time.perf_counter()
    with server(script, env) as (url, _):
        page.goto(f"{url}{path}", wait_until="commit")
        page.wait_for_selector(CHART, state="attached", timeout=600_000)
        return time.perf_counter() - started


def selector(name: str) -> str:
    return TABLE if name == "privacy" else CHART


# --- one scale, then the table -------------------------------------------------------------


def measure(scale: int, cache: Path, rebuild: bool, repeats: int) -> dict:
    home = home_for(scale, cache, rebuild)
    listener = Listener()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        run_home = work / "home"  # a copy: the access log and caches never touch the cache
        run_home.mkdir()
        shutil.copy(home / "kanon.duckdb", run_home / "kanon.duckdb")
        os.chdir(work)  # no stray kanon.toml
        floor_data = work / "floor.pickle"
        apptest = apptest_figures(run_home, listener, repeats, floor_data)
        browser = browser_figures(run_home, listener, repeats, floor_data)
    views = apptest.pop("_views") + browser.pop("_views")
    calls = apptest.pop("_connectors") + listener.connections
    return {
        "scale": scale,
        "pages": {name: apptest[name] | browser[name] for name in PAGES},
        "cold_start_s": browser["_cold_start_s"],
        "cold_floor_s": browser["_cold_floor_s"],
        "peak_mb": browser["_peak_mb"],
        "ga4_calls": calls,
        "views": views,
    }


def print_tables(rows: list[dict]) -> None:
    print("| scale | page | AppTest rerun s | its floor s | ratio | browser to first chart s "
          "| its floor s | ratio |")  # fmt: skip
    print("|" + " --- |" * 8)
    for row in rows:
        target = RATIO_TARGET.get(row["scale"])
        for name, page in row["pages"].items():
            cells = [str(row["scale"]), name]
            for real, floor in (("apptest_s", "apptest_floor_s"), ("browser_s", "browser_floor_s")):
                ratio = page[real] / page[floor]
                mark = f" (≤ {target})" if target else ""
                cells += [f"{page[real]:.3f}", f"{page[floor]:.3f}", f"{ratio:.2f}{mark}"]
            print("| " + " | ".join(cells) + " |")
    print()
    print("| scale | cold start to first chart s | its floor s | dashboard peak memory MiB "
          "| GA4 calls per view |")  # fmt: skip
    print("|" + " --- |" * 5)
    for row in rows:
        memory = MEMORY_TARGET_MB.get(row["scale"])
        print(
            f"| {row['scale']} | {row['cold_start_s']:.1f} (≤ {COLD_START_TARGET_S:g}) "
            f"| {row['cold_floor_s']:.1f} "
            f"| {row['peak_mb']:,.0f}{f' (≤ {memory:,})' if memory else ''} "
            f"| {row['ga4_calls'] / row['views']:g} ({row['ga4_calls']} in {row['views']} views) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100", help="comma-separated, e.g. 1,10")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per page and kind")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "kanon-bench-pages")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="sync each scale afresh")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one scale, as JSON
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.cache, args.rebuild, args.repeats)))
        return
    print(f"machine: {machine()}")
    rows = []
    for scale in (int(s) for s in args.scales.split(",")):
        options = ["--repeats", str(args.repeats), "--cache", str(args.cache)]
        options += ["--rebuild"] if args.rebuild else []
        command = [sys.executable, __file__, "--one", str(scale), *options]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            sys.exit(f"scale {scale} failed:\n{done.stderr[-4000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print_tables(rows)


if __name__ == "__main__":
    main()
