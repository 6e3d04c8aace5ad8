"""A failed sync is noticed (issue 30): `kanon sync` from a timer writes one line naming the
cause on standard error (no traceback, no progress noise in the journal) and exits non-zero,
and `kanon doctor` names the same cause. Real CLI subprocesses against the GA4 emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kanon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=ROOT,
        env={**environment, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_failed_sync_is_one_line_on_stderr_and_doctor_names_its_cause(
    emulator, key_file, tmp_path
):
    key, _, _ = key_file
    emulator.inject("403", times=50, match="runReport")
    env = {
        "KANON_HOME": str(tmp_path / "kanon"),
        "KANON_GA4_PROPERTY": emulator.property_id,
        "KANON_GA4_ENDPOINT": emulator.endpoint,
        "KANON_GA4_MAX_RETRIES": "0",
        "KANON_RETENTION_MONTHS": "1",
        "GOOGLE_APPLICATION_CREDENTIALS": str(key),
        "HOME": str(tmp_path),
    }
    failed = kanon(env, "sync", "--source", "ga4")
    assert failed.returncode != 0
    assert "Traceback" not in failed.stderr and "\r" not in failed.stderr
    (line,) = failed.stderr.splitlines()
    assert line.startswith("kanon: error:") and "permission" in line.lower()

    doctor = kanon(env, "doctor")
    assert doctor.returncode == 1
    (finding,) = [f for f in doctor.stdout.splitlines() if f.split()[1] == "last_sync:"]
    assert finding.startswith("problem") and "failed" in finding
    assert "permission" in finding.lower() and "kanon sync" in finding
