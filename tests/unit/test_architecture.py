"""The layout is the architecture: these tests keep its two rules true.

1. Only `app.py` (the server), `dashboard.py` (its page script) and `kanon/ui/` import Streamlit.
2. Raw cells flow from the store into `reports.protect` and nowhere else: only the store and
   the sync pipeline (which hands them straight to protect) may name the raw table.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = [
    "app.py",
    "dashboard.py",
    "connectors",
    "reports",
    "kanon",
]
# The store, the sync, and the store's schema (it creates the table and reads no row of it).
RAW_READERS = {"kanon/store/duckdb_store.py", "kanon/store/schema.py", "kanon/sync.py"}


def python_files():
    for entry in CODE:
        path = ROOT / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_ui_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if any(m.split(".")[0] == "streamlit" for m in imported_modules(path))
        and not (
            path.name in ("app.py", "dashboard.py")
            or path.relative_to(ROOT).parts[:2] == ("kanon", "ui")
        )
    ]
    assert offenders == []


def test_raw_cells_are_read_only_on_the_way_into_protect():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if (
            "raw_cells" in path.read_text(encoding="utf-8")
            or "read_raw" in path.read_text(encoding="utf-8")
        )
        and path.relative_to(ROOT).as_posix() not in RAW_READERS
    ]
    assert offenders == []


def test_nothing_but_protect_builds_a_release():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if "_BUILDER" in path.read_text(encoding="utf-8")
        and path.relative_to(ROOT).as_posix() != "reports/protect.py"
    ]
    assert offenders == []


def test_connectors_get_their_own_options_not_kanons_settings():
    """Connectors answer questions; kanon/ (the sync and the CLI) hands them their options."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "connectors").rglob("*.py"))
        if any(m.startswith("kanon") for m in imported_modules(path))
    ]
    assert offenders == []
