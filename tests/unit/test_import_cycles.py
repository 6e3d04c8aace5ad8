"""No import circles among Kanon's modules: every module can be read, and loaded, before the
modules that import it.

The graph holds every import a module makes, wherever it stands: at the top, inside a function
(a deferred import still ties the two modules together, and hides a circle until the function
runs first) and under `if TYPE_CHECKING:` (a circle of types is still a circle of meaning).
`from package import name` counts as an import of `package.name` when that is a module.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ["app.py", "dashboard.py", "kanon", "reports", "connectors"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for entry in CODE:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            modules[module_name(file)] = file
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project's modules that the module `name` (at `path`) imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_the_graph_sees_the_project():
    graph = import_graph()
    assert {"app", "dashboard", "kanon.cli", "reports.protect", "connectors.ga4"} <= set(graph)
    assert "reports.protect" in graph["kanon.store.releases"]  # a plain top-level import
    assert "reports.suppress" in graph["reports.protect"]  # imported inside a function


def test_no_module_imports_itself_through_others():
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as error:
        circle = " -> ".join(error.args[1])
        raise AssertionError(f"an import circle: {circle}") from None
