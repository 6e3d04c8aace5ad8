"""The units in deploy/systemd/ verify with systemd's own checker, stay hardened, and their
commands work as written: the daily sync publishes a release, the weekly property check
exits with its documented "not configured" code, the dashboard answers its health check.

Each command is the unit's ExecStart with only the production paths replaced (the project's
venv and source, a temporary state folder and settings file), run with the unit's
Environment= lines and WorkingDirectory=, as systemd would start it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.support import free_port, wait_until_healthy
from tests.deploy.support import (
    ROOT,
    SETTINGS,
    SOURCE,
    STATE,
    SYSTEMD_ANALYZE,
    VENV,
    Unit,
    localized_unit,
    need_tool,
    service_environment,
    units,
)

# systemd-analyze security's scale: 0 (locked down) to 10 (unprotected); "OK" is below 5.
MOST_EXPOSURE = 2.0


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("deploy")
    state = base / "state"
    state.mkdir(mode=0o700)  # what StateDirectory=kanon with StateDirectoryMode=0700 makes
    settings = base / "kanon.toml"
    # The sample property: the same commands as with GA4, no network. One month keeps it short.
    settings.write_text('source = "sample"\nretention_months = 1\n', encoding="utf-8")
    return {VENV: sys.prefix, SOURCE: str(ROOT), STATE: str(state), SETTINGS: str(settings)}


@pytest.fixture(scope="module")
def local_units(places, tmp_path_factory) -> dict[str, Unit]:
    folder = tmp_path_factory.mktemp("units")
    return {u.name: localized_unit(u, places, folder) for u in units()}


def run_service(service: Unit, timeout: float = 120) -> list[subprocess.CompletedProcess]:
    """Each ExecStart of a oneshot, in order, stopping at the first failure as systemd does."""
    done = []
    for command, ignored in zip(service.exec_starts(), service.failure_ignored(), strict=True):
        result = subprocess.run(
            command,
            cwd=service.value("Service", "WorkingDirectory"),
            env=service_environment(service),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        done.append(result)
        if result.returncode != 0 and not ignored:
            break
    return done


def test_there_are_the_units_the_docs_install():
    assert [u.name for u in units()] == [
        "kanon-check-property.service",
        "kanon-check-property.timer",
        "kanon-dashboard.service",
        "kanon-sync.service",
        "kanon-sync.timer",
    ]


def test_every_unit_verifies_without_a_warning(local_units):
    need_tool(SYSTEMD_ANALYZE, "systemd")
    paths = [str(u.path) for u in local_units.values()]
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on an unknown key or a bad value (it ignores the line): any output counts.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_analyze_verify_would_catch_a_mistake(local_units, tmp_path):
    need_tool(SYSTEMD_ANALYZE, "systemd")
    broken = tmp_path / "kanon-dashboard.service"
    text = local_units["kanon-dashboard.service"].path.read_text(encoding="utf-8")
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=stric"), "utf-8")
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", "--man=no", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Failed to parse protect system value, ignoring: stric" in result.stderr


@pytest.mark.parametrize("name", [u.name for u in units() if u.name.endswith(".service")])
def test_every_service_stays_hardened(name, local_units):
    need_tool(SYSTEMD_ANALYZE, "systemd")
    service = local_units[name]
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "security", "--offline=true", "--no-pager", str(service.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MOST_EXPOSURE
    assert service.value("Service", "User") == "kanon"
    assert service.value("Service", "NoNewPrivileges") == "true"
    assert service.value("Service", "ProtectSystem") == "strict"
    assert service.values("Service", "ReadWritePaths") == [service.environment()["HOME"]]
    assert Path(service.environment()["KANON_HOME"]).parent == Path(service.environment()["HOME"])


def test_each_timer_starts_a_service_that_exists_and_catches_up():
    names = {u.name for u in units()}
    for timer in (u for u in units() if u.name.endswith(".timer")):
        assert timer.value("Timer", "Unit") in names
        assert timer.value("Timer", "Persistent") == "true"
        assert timer.value("Timer", "RandomizedDelaySec")


def test_the_sync_unit_publishes_a_release(local_units, places):
    sync = local_units["kanon-sync.service"]
    assert sync.value("Service", "Type") == "oneshot"
    synced, summaries = run_service(sync)
    assert synced.returncode == 0, synced.stderr
    assert "release:" in synced.stdout
    # Then the summaries that are due: this install has no SMTP settings, which the command
    # says (exit 2) without failing the unit (its "-" prefix).
    assert summaries.args[-3:] == ["summaries", "send", "--due"]
    assert summaries.returncode == 2 and "smtp" in summaries.stderr.lower(), summaries.stderr
    assert sync.failure_ignored() == [False, True]
    home = Path(sync.environment()["KANON_HOME"])
    assert home.is_relative_to(places[STATE])
    assert (home / "kanon.duckdb").is_file()
    assert home.stat().st_mode & 0o077 == 0


def test_the_property_check_says_it_is_not_configured(local_units):
    check = local_units["kanon-check-property.service"]
    (result,) = run_service(check)
    # 3: a required check could not run (docs/cli.md); the journal gets the reason.
    assert result.returncode == 3
    assert "No GA4 property configured" in result.stderr


def test_the_dashboard_unit_answers_its_health_check(local_units, tmp_path):
    dashboard = local_units["kanon-dashboard.service"]
    (command,) = dashboard.exec_starts()
    port = free_port()
    at = command.index("--server.port")
    command[at + 1] = str(port)  # the unit's 8501 may be taken on a shared machine
    log = (tmp_path / "dashboard.log").open("w")
    process = subprocess.Popen(
        command,
        cwd=dashboard.value("Service", "WorkingDirectory"),
        env=service_environment(dashboard),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    # The unit's own stop: SIGTERM ends it cleanly well within TimeoutStopSec.
    output = (tmp_path / "dashboard.log").read_text()
    assert process.returncode in (0, -15), output
    assert "Traceback" not in output, output
