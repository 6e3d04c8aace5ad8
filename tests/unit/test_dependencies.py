"""Every distribution the tests and benchmarks import is declared (the test extra included).

The README's test command runs `deptry .`, which checks the package code against
`[project].dependencies` (missing, transitive-only and unused). This test adds the tests and
benchmarks, checked against the test extra as well: an import that works only because another
package happens to pull it in fails here, not on a newcomer's machine.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPTRY = Path(sys.executable).with_name("deptry")


@pytest.mark.skipif(not DEPTRY.exists(), reason="deptry comes with the test extra")
@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param([], id="package"),
        # Tests may import the test extra (DEP004) and need not use every runtime dependency.
        pytest.param(["--exclude", r"\.venv|build", "--ignore", "DEP002,DEP004"], id="tests"),
    ],
)
def test_deptry_is_clean(arguments):
    result = subprocess.run(
        [str(DEPTRY), ".", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
