"""Kanon's own errors have one root, and the `kanon` command catches that root alone: a
KanonError prints its message and exits with its code; anything else is a bug and keeps its
traceback."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.catalog import CatalogError
from kanon.cli import main
from kanon.errors import EXIT_USAGE, InvalidInput, KanonError
from kanon.settings import SettingsError

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_CODE = ["kanon", "reports", "connectors", "access", "store", "policy", "ui", "app.py"]
# Control flow inside one module, never raised past it.
INTERNAL = {"connectors/ga4.py": {"TruncatedPage"}, "kanon/policy/hotjar.py": {"_RetriedStatus"}}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KANON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KANON_SETTINGS", raising=False)
    monkeypatch.delenv("KANON_K", raising=False)
    monkeypatch.chdir(tmp_path)  # no kanon.toml here
    return tmp_path / "home"


def _raising(error: BaseException):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_a_library_bug_keeps_its_traceback(home, monkeypatch):
    monkeypatch.setattr("kanon.cli.make_private", _raising(ValueError("a bug in Kanon")))
    with pytest.raises(ValueError, match="a bug in Kanon"):
        main(["purge"])


def test_a_library_bug_exits_with_a_traceback_from_the_command(tmp_path):
    script = (
        "import sys, kanon.cli\n"
        "def bug(*args): raise RuntimeError('a bug in Kanon')\n"
        "kanon.cli.make_private = bug\n"
        "sys.exit(kanon.cli.main(['purge']))\n"
    )
    environment = {**os.environ, "KANON_HOME": str(tmp_path / "home")}
    environment.pop("KANON_K", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: a bug in Kanon" in result.stderr
    assert "kanon: error:" not in result.stderr


def test_a_kanon_error_prints_its_message_and_exits_with_its_code(home, monkeypatch, capsys):
    class Unusual(KanonError):
        exit_code = 7

    monkeypatch.setattr("kanon.cli.make_private", _raising(Unusual("do this instead")))
    assert main(["purge"]) == 7
    captured = capsys.readouterr()
    assert captured.err == "kanon: error: do this instead\n"
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (KanonError("failed"), 1),
        (InvalidInput("--out is a folder"), 1),
        (SettingsError("setting 'k'"), EXIT_USAGE),
        (CatalogError("not in the allow-list"), EXIT_USAGE),
    ],
)
def test_the_documented_exit_codes_stay(home, monkeypatch, capsys, error, code):
    monkeypatch.setattr("kanon.cli.make_private", _raising(error))
    assert main(["purge"]) == code
    assert capsys.readouterr().err == f"kanon: error: {error}\n"


def test_errors_callers_know_as_value_errors_still_are():
    assert issubclass(SettingsError, ValueError) and issubclass(CatalogError, ValueError)
    assert issubclass(InvalidInput, ValueError)


def _python_files():
    for entry in PACKAGE_CODE:
        path = ROOT / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def _exception_classes(path: Path) -> set[str]:
    """Classes named like errors, or deriving from a class so named, defined in `path`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
        if any(b.endswith(("Error", "Exception")) for b in bases | {node.name}):
            found.add(node.name)
    return found


def test_every_error_of_kanons_own_is_a_kanon_error():
    import importlib

    outside = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        names = _exception_classes(path) - INTERNAL.get(relative, set())
        if not names or relative.startswith("kanon/ui/"):  # imports streamlit: checked below
            continue
        module = importlib.import_module(relative.removesuffix(".py").replace("/", "."))
        outside += [
            f"{relative}:{name}"
            for name in names
            if not issubclass(getattr(module, name), KanonError)
        ]
    assert outside == []


def test_a_refused_download_is_a_kanon_error():
    from kanon.ui.downloads import DownloadRefused

    assert issubclass(DownloadRefused, KanonError) and issubclass(DownloadRefused, PermissionError)


def test_reports_and_connectors_raise_kanon_errors_without_importing_kanon():
    offenders = []
    for folder in ("reports", "connectors"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                modules = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(m == "kanon" or m.startswith("kanon.") for m in modules):
                    offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_a_sync_stopped_by_the_machine_is_one_line_naming_the_cause(home, monkeypatch, capsys):
    """A full disk is not a bug: the sync timer's journal gets one line, and exit 1."""
    monkeypatch.setattr("kanon.sync.sync", _raising(OSError(28, "No space left on device")))
    assert main(["sync", "--source", "sample"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kanon: error: the sync failed")
    assert "No space left on device" in err and "Traceback" not in err
