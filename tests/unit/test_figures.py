"""connectors/figures.py is the one registry of figures: the store, the CSV, the workbook, the
dashboard's texts and charts, and the attacker take their names, labels and decimals from it,
and no other module keeps a list of its own."""

from __future__ import annotations

import ast
import io
import re
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from connectors import catalog
from connectors.figures import (
    ADDITIVE,
    EXPORTED,
    FIGURE,
    FIGURES,
    STORED,
    Complement,
    Kind,
    Ratio,
    linked,
)
from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.store import releases
from kanon.store.duckdb_store import Store
from kanon.sync import sync
from kanon.ui import format, sections
from reports import attack, charts, export, views, workbook
from reports.protect import Release

ROOT = Path(__file__).resolve().parents[2]
CODE = ["app.py", "dashboard.py", "connectors", "reports", "kanon"]
REGISTRY = ROOT / "connectors" / "figures.py"
DAY = date(2025, 6, 1)
NOT_FIGURES = {"breakdown", "grain", "period", "category", "status"}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store file of a real sync of the sample property (a month of it, at a tenth)."""
    home = tmp_path_factory.mktemp("figures-home")
    settings = load_settings(home=home, retention_months=1, developer_mode=False)
    sync(settings, SampleConnector(scale=0.1, today=DAY))
    return settings.store_path


@pytest.fixture(scope="module")
def release(synced: Path) -> Release:
    return releases.current(Store(synced))


@pytest.mark.parametrize("table", ["raw_cells", "release_cells"])
def test_the_stores_figure_columns_are_the_registrys_stored_figures(synced: Path, table: str):
    with duckdb.connect(str(synced), read_only=True) as con:
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        filled = con.execute(f"SELECT count(*) FROM {table} WHERE sessions > 0").fetchone()
    figures = [(name, kind) for name, kind in columns if name not in NOT_FIGURES]
    assert figures == [(name, "DOUBLE") for name in STORED]
    assert filled is not None and filled[0] > 0  # the sync wrote figures, not just a schema


def test_the_registry_is_consistent_with_itself_and_the_allow_list():
    assert len(FIGURE) == len(FIGURES)
    assert len(set(EXPORTED.values())) == len(EXPORTED)
    for figure in FIGURES:
        assert figure.label and figure.decimals >= 0
        assert figure.stored == (figure.source is not None)
        if figure.stored:
            assert figure.metric in catalog.METRICS  # only allow-listed GA4 metrics
        if isinstance(figure.derived, Ratio):
            assert FIGURE[figure.derived.numerator].stored
            assert FIGURE[figure.derived.denominator].stored
        if isinstance(figure.derived, Complement):
            assert not FIGURE[figure.derived.of].stored
        if figure.additive:  # the attacker needs a width for every additive figure
            assert figure.stored and figure.width_unit > 0
        if figure.across_pages:
            assert figure.additive
    assert not FIGURE["users"].additive  # distinct visitors never add up
    small, large = linked()
    assert FIGURE[small].stored and FIGURE[large].stored


def test_the_attacker_and_the_catalog_read_the_registry():
    assert catalog.ADDITIVE == ADDITIVE
    for name in ADDITIVE:
        assert attack.required_width(name, 10) == 10 * FIGURE[name].width_unit
    # PRIVACY.md's widths: a visit or view per visitor, GA4's 10 engaged seconds per visitor.
    units = {name: FIGURE[name].width_unit for name in ADDITIVE}
    assert units == dict(
        sessions=1.0, views=1.0, engaged_sessions=1.0, engagement_seconds=10.0, session_seconds=10.0
    )
    assert set(attack.COUNTS) == {f for f in ADDITIVE if FIGURE[f].kind is Kind.COUNT}
    assert attack.LINKED == linked() == ("engaged_sessions", "sessions")


def _places(text: str) -> int:
    """Decimal places of a number written as text (`1,234.50 %` -> 2)."""
    found = re.search(r"\d+(?:\.(\d+))?", text.replace(",", ""))
    assert found, text
    return len(found.group(1) or "")


def test_the_csv_has_the_registrys_columns_and_decimals(release: Release):
    first, last = release.periods("week")[0], release.periods("week")[-1]
    summary = export.summary_for_range(release, "browsers", "week", first, last)
    columns = [c for c in summary.columns if c in EXPORTED.values()]
    assert columns == list(EXPORTED.values())
    by_column = {column: name for name, column in EXPORTED.items()}
    for column in columns:
        numbers = [v for v in summary[column] if isinstance(v, float)]
        assert numbers, column
        places = FIGURE[by_column[column]].decimals
        if FIGURE[by_column[column]].derived:  # the CSV rounds what it derives
            assert all(round(v, places) == v for v in numbers), column


def test_the_workbooks_formats_have_the_registrys_decimals(release: Release):
    first, last = release.periods("week")[0], release.periods("week")[-1]
    facts = export.Facts("sample", None, "UTC")
    data = workbook.summary_workbook(release, "week", first, last, facts)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Browsers"]
    header = [cell.value for cell in sheet[1]]
    checked = set()
    for name, column in EXPORTED.items():
        cell = sheet.cell(row=2, column=header.index(column) + 1)
        number_format = cell.number_format
        places = len(number_format.split(".")[1]) if "." in number_format else 0
        assert places == FIGURE[name].decimals, (column, number_format)
        checked.add(column)
    assert checked == set(workbook.NUMBER_FORMATS) == set(EXPORTED.values())


def test_the_dashboards_texts_labels_and_charts_have_the_registrys_decimals():
    for figure in FIGURES:
        assert views.LABELS[figure.name] == figure.label
        d3, _ = charts.number_format(figure.name)
        assert d3.endswith(f".{figure.decimals}f"), figure.name
        text = format.figure(12.345678, figure.name)
        assert _places(text) == figure.decimals, (figure.name, text)
        assert sections.TABLE_DECIMALS[figure.name] == figure.decimals


def test_the_dashboards_table_columns_have_the_registrys_labels_and_formats():
    config = sections.table_columns("pages", "week")
    for name in (*sections.TABLE_FIGURES, *sections.ENGAGEMENT_FIGURES):
        figure = FIGURE[name]
        column = config[name]
        if name != "users":  # titled "Visitors per week": a per-period average
            assert column["label"] == figure.label
        wanted = "localized" if figure.kind is Kind.COUNT else f"%.{figure.decimals}f"
        assert column["type_config"]["format"] == wanted, name


def _names() -> set[str]:
    return {f.name for f in FIGURES} | set(EXPORTED.values())


def _literals(path: Path):
    """(line, kind, names) of each dict, set, list and tuple literal naming figures."""
    names = _names()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            items, kind = [k for k in node.keys if k is not None], "dict"
        elif isinstance(node, ast.Set | ast.List | ast.Tuple):
            items, kind = node.elts, type(node).__name__.lower()
        else:
            continue
        named = [i.value for i in items if isinstance(i, ast.Constant) and i.value in names]
        if named:
            yield node.lineno, kind, named


def _second_lists(path: Path) -> list[str]:
    """Dicts or sets keyed by two or more figures (a property per figure: labels, decimals,
    formats, kinds), and lists or tuples that copy one of the registry's own lists."""
    copies = [set(STORED), set(ADDITIVE), set(EXPORTED), set(EXPORTED.values())]
    found = []
    for line, kind, named in _literals(path):
        if (kind in ("dict", "set") and len(named) > 1) or set(named) in copies:
            found.append(f"{path.name}:{line}: {kind} of {', '.join(named)}")
    return found


def test_no_module_but_the_registry_keeps_its_own_list_of_figures():
    files = [
        path
        for entry in CODE
        for path in ([ROOT / entry] if (ROOT / entry).is_file() else (ROOT / entry).rglob("*.py"))
        if path != REGISTRY
    ]
    assert [hit for path in sorted(files) for hit in _second_lists(path)] == []


def test_the_scan_finds_the_lists_the_registry_replaced(tmp_path: Path):
    old = tmp_path / "old.py"
    old.write_text(
        'PERCENT = {"engagement_rate", "bounce_rate"}\n'
        'FORMATS = {"visitors": "#,##0", "visits": "#,##0"}\n'
        'ADDITIVE_SHOWN = ["sessions", "views", "engagement_seconds", "session_seconds", '
        '"engaged_sessions"]\n'
        'SORT = ["period", "other", "sessions", "views", "category"]\n'
        'FLOOR = {"site": {"sessions": 1.0}, "page": {"views": 1.0}}\n',
        encoding="utf-8",
    )
    assert [hit.split(":")[1] for hit in _second_lists(old)] == ["1", "2", "3"]
