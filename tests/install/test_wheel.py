"""A wheel of Kanon, in a venv holding nothing but its declared dependencies, runs from anywhere.

This is what `pip install .` gives a newcomer or a scheduled job: no source tree on the path,
no packages installed by hand, the sample property found as package data.
"""

import os
import shutil
import subprocess
import sys
import venv
from datetime import date, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".kanon", "tests"
)


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with Kanon's wheel and only what its metadata pulls in."""
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy: a stale build/ folder in a working tree must not leak into the wheel.
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", base / "dist", source, cwd=base)
    (wheel,) = (base / "dist").glob("kanon-*.whl")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    run(env_dir / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=base)
    run(env_dir / "bin" / "python", "-m", "pip", "check", cwd=base)
    return env_dir


def kanon_env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "PIP_CONFIG_FILE", "NO_PROXY")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    # Two months keep the sync short; the code path is the same as for fourteen.
    return {**env, "HOME": str(home), "KANON_HOME": str(home), "KANON_RETENTION_MONTHS": "2"}


@pytest.mark.slow
def test_the_wheel_syncs_exports_and_audits_outside_the_source_tree(installed, tmp_path):
    bin_dir = installed / "bin"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = kanon_env(tmp_path / "home")

    where = run(
        bin_dir / "python",
        "-c",
        "import sample_data; print(sample_data.__file__)",
        cwd=elsewhere,
        env=env,
    )
    assert Path(where.strip()).is_relative_to(installed), "sample_data came from the source tree"

    def kanon(*args: str | Path) -> str:
        return run(bin_dir / "kanon", *args, cwd=elsewhere, env=env)

    assert "written to" in kanon("sample", "--scale", "0.3")
    assert "release:" in kanon("sync", "--source", "sample")
    out = elsewhere / "browsers.csv"
    start, end = (date.today() - timedelta(days=60)).isoformat(), date.today().isoformat()
    kanon(
        "export",
        "--report",
        "browsers",
        "--grain",
        "week",
        "--start",
        start,
        "--end",
        end,
        "--out",
        out,
    )
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("kanon_provenance_lines,") and "\nbrowsers,week," in text
    assert "OK" in kanon("audit")


@pytest.mark.slow
def test_the_wheel_finds_the_committed_sample_property_without_kanon_sample(installed, tmp_path):
    env = kanon_env(tmp_path / "home")
    code = "from connectors.sample_property import load_definition as d; print(d()['rhythm'])"
    python = installed / "bin" / "python"
    assert "sessions_per_day" in run(python, "-c", code, cwd=tmp_path, env=env)


@pytest.mark.slow
def test_the_wheel_installs_four_top_level_packages(installed, tmp_path):
    """What the project brief put at the top, and everything Kanon adds under `kanon`."""
    # Every file the wheel installed, by its first folder; `..` is the `kanon` script in bin/.
    code = "from importlib.metadata import files; print(*{f.parts[0] for f in files('kanon')})"
    found = set(run(installed / "bin" / "python", "-c", code, cwd=tmp_path).split())
    packages = {name for name in found if name != ".." and not name.endswith(".dist-info")}
    assert packages == {"connectors", "kanon", "reports", "sample_data"}
