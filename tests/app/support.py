"""Helpers for the AppTest pages: open a page, read its charts and tables, know the true values.

The checks compare what a page shows with what `reports.views` computes from the release, and
compare every withheld cell with its true raw value read straight from the store, so a withheld
figure that leaked into a chart or a table would be caught.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from connectors.catalog import BREAKDOWNS
from kanon.access.roles import ADMIN, ANALYST, MANAGER, Identity
from kanon.store import releases
from kanon.store.duckdb_store import Store
from kanon.ui import format
from kanon.ui.sections import CATEGORY_TITLES
from reports import charts, views
from reports.grid import Selection
from reports.protect import Release
from reports.status import PUBLISHED, SHOWN_WITHHELD

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 18)  # a fixed "today", so every run sees the same release
SCALE = 0.3
APP = ROOT / "dashboard.py"  # the page script `streamlit run app.py` serves
TIMEOUT = 30

ANALYST_ID = Identity("ana@example.com", frozenset({ANALYST}))
MANAGER_ID = Identity("max@example.com", frozenset({MANAGER}))
ADMIN_ID = Identity("ada@example.com", frozenset({ADMIN}))
NOBODY_ID = Identity("someone@example.com", frozenset())

# Modules a release does not depend on (they read one, or only notes): a change to them needs
# no new sync.
VIEW_LAYER = {"reports/views.py", "reports/export.py", "reports/charts.py", "reports/workbook.py",
              "reports/notes.py", "kanon/store/notes.py", "kanon/notes_cli.py",
              "kanon/ui/notes.py"}  # fmt: skip

_DTYPES = {"f8": "<f8", "f4": "<f4", "i1": "<i1", "i2": "<i2", "i4": "<i4", "u1": "<u1",
           "u2": "<u2", "u4": "<u4", "i8": "<i8", "u8": "<u8"}  # fmt: skip


def publish(home: Path, **overrides: object) -> Path:
    """Sync the sample property into `home` (skipped until the modules a sync needs exist)."""
    pytest.importorskip("connectors.sample", reason="connectors/sample.py is not written yet")
    pytest.importorskip("reports.audit", reason="reports/audit.py is not written yet")
    from connectors.sample import SampleConnector
    from kanon.settings import load_settings
    from kanon.sync import sync

    settings = load_settings(home=home, developer_mode=False, **overrides)
    sync(settings, SampleConnector(scale=SCALE, today=TODAY), today=TODAY)
    return home


def published_home(config: pytest.Config, home: Path, **overrides: object) -> Path:
    """`home` holding a published sample release, synced once and reused while nothing changes.

    A sync with secondary suppression and the attacker check takes minutes, so the store is
    kept in pytest's cache under a fingerprint of every source file a release depends on (and
    today's date, so the last sync never looks stale); `pytest --cache-clear` forces a new one.
    """
    home.mkdir(parents=True, exist_ok=True)
    cache = getattr(config, "cache", None)
    if cache is None:
        return publish(home, **overrides)
    releases = cache.mkdir("kanon-releases")
    folder = releases / _fingerprint(overrides)
    stored = folder / "kanon.duckdb"
    # One builder at a time: parallel test workers (pytest -n) share the cache.
    with (releases / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stored.exists():
            _forget_old(releases)
            building = folder.with_suffix(".building")
            shutil.rmtree(building, ignore_errors=True)
            publish(building, **overrides)
            building.rename(folder)
    shutil.copy(stored, home / "kanon.duckdb")
    return home


def _forget_old(releases: Path, hours: float = 24) -> None:
    """Drop cached releases nobody can use again (their fingerprint names an earlier day)."""
    cutoff = time.time() - hours * 3600
    for old in releases.iterdir():
        if old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def _fingerprint(overrides: dict) -> str:
    digest = hashlib.sha256(repr((TODAY, SCALE, sorted(overrides.items()), date.today())).encode())
    for folder in ("connectors", "reports", "kanon", "store", "sample_data"):
        for path in sorted((ROOT / folder).rglob("*")):
            used = path.suffix in (".py", ".toml", ".csv", ".json", ".parquet")
            used = used and path.relative_to(ROOT).as_posix() not in VIEW_LAYER
            if path.is_file() and used and not path.name.startswith("ga4"):  # sample only
                digest.update(path.relative_to(ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def handle_for(home: Path, identity: Identity, idle_minutes: int = 30):
    """A real, open OpenID Connect sign-in of `identity` in `home`'s accounts file (the account
    made or brought in line with the identity's roles), as the handle a button captures."""
    from kanon.access.accounts import Accounts
    from kanon.access.sessions import Sessions
    from kanon.ui.context import OIDC_VIA, Handle

    accounts = Accounts(home / "accounts.sqlite")
    if accounts.get(identity.email) is None:
        accounts.add_oidc(identity.email, identity.roles)
    else:
        accounts.set_roles(identity.email, identity.roles)
        accounts.set_disabled(identity.email, False)
    key = hashlib.sha256(f"{identity.email} {time.time_ns()}".encode()).hexdigest()
    Sessions(home / "accounts.sqlite", idle_minutes * 60).oidc_visit(key, identity.email)
    return Handle(OIDC_VIA, key, identity.email)


def open_page(page: str | None = None) -> AppTest:
    """Run dashboard.py, then switch to `kanon/ui/pages/<page>.py` as a person clicking in the
    sidebar."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    if page is not None:
        at.switch_page(f"kanon/ui/pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page_alone(page: str) -> AppTest:
    """Run one page script without dashboard.py: the page must check the role by itself."""
    return AppTest.from_file(
        str(ROOT / "kanon" / "ui" / "pages" / f"{page}.py"), default_timeout=TIMEOUT
    ).run()


def release_of(home: Path) -> Release:
    release = releases.current(Store(home / "kanon.duckdb"))
    assert release is not None
    return release


def default_selection(release: Release, grain: str = "day", days: int = 28) -> Selection:
    """What the sidebar picks by default: the last `days` days up to the last settled day."""
    last = pd.Timestamp(release.info["last_settled"]).date()
    return views.select(release, grain, last - timedelta(days=days - 1), last)


def raw_cells(home: Path) -> pd.DataFrame:
    """The true figures behind the release. Only a test may look: it checks none leaked."""
    with duckdb.connect(str(home / "kanon.duckdb"), read_only=False) as con:
        raw = con.execute("SELECT * FROM raw_cells").df()
    raw["period"] = pd.to_datetime(raw["period"]).dt.date
    return raw


# --- charts -------------------------------------------------------------------------------


def figures(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def title(figure: dict) -> str:
    value = figure["layout"].get("title", {})
    return value.get("text", "") if isinstance(value, dict) else str(value)


def figure_titled(at: AppTest, text: str) -> dict:
    found = [f for f in figures(at) if title(f) == text]
    assert len(found) == 1, (text, [title(f) for f in figures(at)])
    return found[0]


def figure_keyed(at: AppTest, key: str) -> dict:
    """The chart drawn with widget key `key` (pages with several breakdowns reuse titles)."""
    found = [e for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, key
    return json.loads(found[0].proto.spec)


def numbers(array: object) -> np.ndarray:
    """A Plotly array as floats (NaN for gaps), whether plain JSON or base64-typed (`bdata`)."""
    if isinstance(array, dict) and "bdata" in array:
        raw = base64.b64decode(array["bdata"])
        return np.frombuffer(raw, dtype=_DTYPES[array["dtype"]]).astype("float64")
    return np.array([np.nan if v is None else float(v) for v in array], dtype="float64")


def texts(array: object) -> list[str]:
    return [str(v) for v in array]


def days(array: object) -> list[date]:
    return [pd.Timestamp(v).date() for v in array]


def assert_close(shown: np.ndarray, expected: pd.Series | list) -> None:
    expected = np.array(pd.Series(expected, dtype="float64"))
    assert shown.shape == expected.shape
    np.testing.assert_allclose(shown, expected, equal_nan=True)


# --- tables -------------------------------------------------------------------------------


def table_for(at: AppTest, name: str) -> pd.DataFrame:
    """The breakdown table of `name`, found by its first column's title."""
    first = CATEGORY_TITLES[name]
    found = [d.value for d in at.dataframe if d.value.columns[0] == first]
    assert found, f"no table for {name}"
    return found[0]


def all_text(at: AppTest) -> str:
    """Every piece of text the page wrote, to look for leaks and messages."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]  # fmt: skip
    parts += [m.value for m in at.metric]
    return "\n".join(str(p) for p in parts)


# --- the checks every breakdown page shares -------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A breakdown as the page shows it and as the views and the raw store say it is."""

    name: str
    metric: str
    release: Release
    selection: Selection
    view_table: pd.DataFrame
    cells: pd.DataFrame
    raw: pd.DataFrame

    @classmethod
    def of(cls, release: Release, raw: pd.DataFrame, name: str, selection: Selection) -> Shown:
        metric = "views" if BREAKDOWNS[name].scope == "page" else "sessions"
        cells = views.series(release, name, selection)
        chosen = raw[
            (raw["breakdown"] == name)
            & (raw["grain"] == selection.grain)
            & raw["period"].isin(selection.periods)
        ]
        return cls(
            name,
            metric,
            release,
            selection,
            views.breakdown_table(release, name, selection),
            cells,
            chosen,
        )

    def withheld_raw(self) -> pd.DataFrame:
        """The true figures of every withheld cell in the selection."""
        withheld = self.cells[self.cells["status"] == SHOWN_WITHHELD][["category", "period"]]
        return withheld.merge(self.raw, on=["category", "period"], how="left")


def assert_table(at: AppTest, shown: Shown) -> None:
    """Same rows and figures as the view; withheld rows say so and carry no number; the Other
    row comes last, and its visitors read "—"."""
    table = table_for(at, shown.name)
    view = shown.view_table
    assert len(table) == len(view)
    assert table.iloc[:, 0].tolist() == [format.clip(c) for c in view["category"]]
    for column in ("users", "sessions", "views", "engagement_rate", "bounce_rate"):
        assert_close(figure_column(table, column), view[column])
    k = shown.release.k
    texts = display_values(at, shown.name)
    rows = zip(table.itertuples(index=False), view["status"], view["other"], strict=True)
    for i, (row, status, other) in enumerate(rows):
        if other and status != SHOWN_WITHHELD:
            assert row.Status.startswith(format.OTHER_STATUS)
            assert texts["users"].iloc[i] == format.NOT_A_SUM
            assert i == len(table) - 1  # the remainder comes last
        elif status == PUBLISHED:
            assert row.Status == ""
        elif status == "partial":
            assert row.Status.startswith("partly withheld")
        else:
            assert row.Status == views.withheld_text(k)  # one wording, whatever the reason
            assert (texts[["users", "sessions", "views"]].iloc[i] == "withheld").all()
    assert all(len(str(v)) <= format.MAX_TABLE_LABEL for v in table.iloc[:, 0])
    rare = {format.clip(c) for c in views.rare_categories(shown.release, shown.name)}
    assert not rare & set(table.iloc[:, 0])  # a category withheld everywhere is never named


def display_values(at: AppTest, name: str) -> pd.DataFrame:
    """The breakdown table's cells as a person reads them: a blank number shows the table's
    placeholder ("withheld"); columns written as text show their text ("—" included)."""
    table = table_for(at, name)
    return table.apply(
        lambda column: column.map(lambda v: "withheld" if v is None or pd.isna(v) else str(v))
    )


def figure_column(table: pd.DataFrame, column: str) -> np.ndarray:
    """A figure column as floats, whether numeric or written as text ("1,234", "—")."""

    def number(value: object) -> float:
        if isinstance(value, str):
            return (
                np.nan if value in ("withheld", format.NOT_A_SUM) else float(value.replace(",", ""))
            )
        return np.nan if value is None else float(value)

    return np.array([number(v) for v in table[column]], dtype="float64")


def assert_bar_chart(at: AppTest, shown: Shown) -> None:
    """The leading published categories, with the view's sums; withheld ones have no bar."""
    figure = figure_keyed(at, f"bar-{shown.name}")
    assert title(figure) == views.LABELS[shown.metric]
    (bar,) = figure["data"]
    listed = shown.view_table[~shown.view_table["other"]]
    published = listed[listed[shown.metric].notna()]
    leaders = published.nlargest(15, shown.metric).iloc[::-1]
    assert texts(bar["meta"]) == [charts.display_label(x) for x in leaders["category"]]
    ticks = [charts.short_label(x, charts.AXIS_LABEL) for x in leaders["category"]]
    assert texts(figure["layout"]["yaxis"]["ticktext"]) == ticks
    assert texts(bar["customdata"]) == [charts.hover_label(x) for x in leaders["category"]]
    assert_close(numbers(bar["x"]), leaders[shown.metric])
    fully_withheld = shown.view_table[shown.view_table["status"] == SHOWN_WITHHELD]
    shown_labels = set(texts(bar["meta"]))
    assert not {charts.display_label(x) for x in fully_withheld["category"]} & shown_labels


def assert_trend_chart(at: AppTest, shown: Shown) -> int:
    """Each line follows the release; every withheld period is a gap, whatever its raw value.

    Returns how many withheld cells with a true raw value the chart was checked against.
    """
    figure = figure_keyed(at, f"trend-{shown.name}")
    assert title(figure).startswith(f"{views.LABELS[shown.metric]} per {shown.selection.grain}")
    names = {charts.display_label(c): c for c in shown.cells["category"]}
    withheld = shown.withheld_raw()
    checked = 0
    for trace in figure["data"]:
        category = names[trace["meta"]]  # the legend's name may be shortened
        assert trace["name"] == charts.short_label(category, charts.LEGEND_LABEL)
        assert set(trace["customdata"]) == {charts.hover_label(category)}
        rows = shown.cells[shown.cells["category"] == category].sort_values("period")
        assert days(trace["x"]) == rows["period"].tolist()
        values = numbers(trace["y"])
        assert_close(values, rows[shown.metric].where(rows["status"] == PUBLISHED))
        by_period = dict(zip(rows["period"], values, strict=True))
        for cell in withheld[withheld["category"] == category].itertuples():
            # The true figure exists in the store; the chart must show a gap instead.
            assert np.isnan(by_period[cell.period]), (category, cell.period)
            assert by_period[cell.period] != getattr(cell, shown.metric)
            checked += 1
    return checked


def assert_breakdown(at: AppTest, shown: Shown) -> int:
    """Table, bar chart and trend chart of one breakdown; returns the withheld cells checked."""
    assert_table(at, shown)
    assert_bar_chart(at, shown)
    assert_no_withheld_number_in_charts(at, shown)
    return assert_trend_chart(at, shown)


def assert_no_withheld_number_in_charts(at: AppTest, shown: Shown) -> None:
    """Neither chart of the breakdown names a category whose every cell is withheld (in the
    selection, or in the whole release), nor ranks the Other row among the leaders. Axes and
    legends write shortened forms of the names charted (see `assert_bar_chart` and
    `assert_trend_chart`), so the names themselves are checked here, and the hovers."""
    fully_withheld = shown.view_table[shown.view_table["status"] == SHOWN_WITHHELD]
    names = set(fully_withheld["category"]) | set(views.rare_categories(shown.release, shown.name))
    names.add(views.OTHER)
    hidden = {charts.display_label(x) for x in names} | {charts.hover_label(x) for x in names}
    for figure in (figure_keyed(at, f"bar-{shown.name}"), figure_keyed(at, f"trend-{shown.name}")):
        for trace in figure["data"]:
            meta = trace.get("meta")
            assert not hidden & set(meta if isinstance(meta, list) else [meta])
            assert not hidden & set(texts(trace.get("customdata", [])))


def redirects(at) -> list[str]:
    """The bodies of the `st.html` elements that send the browser on (a sign-in's trip to
    /auth/session), not the one that declares the page's language."""
    return [e.proto.body for e in at.get("html") if "window.location" in e.proto.body]
