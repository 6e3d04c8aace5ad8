"""Issue 28 from a shell: private files, the set-up code, the last admin, the printed log."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kanon.access import log, setup

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def kanon(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "KANON_HOME": str(home)}
    env.pop("KANON_SETTINGS", None)
    return subprocess.run(
        [sys.executable, "-c", "import os, sys; os.umask(0o022); "
         "from kanon.cli import main; sys.exit(main())", *args],
        cwd=ROOT, env=env, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def modes(home: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = stat.S_IMODE(path.stat().st_mode)
    return found


def add(home: Path, name: str, *roles: str) -> subprocess.CompletedProcess:
    flags = [part for role in roles for part in ("--role", role)]
    return kanon(home, "users", "add", name, *flags, "--password-stdin", stdin=PASSWORD + "\n")


def test_users_add_leaves_only_private_files(tmp_path):
    home = tmp_path / "home"
    assert add(home, "ada", "admin").returncode == 0
    found = modes(home)
    assert found["."] == 0o700 and found["accounts.sqlite"] == 0o600
    assert found["access.log"] == 0o600
    assert all(mode & 0o077 == 0 for mode in found.values()), found


def test_lax_modes_are_fixed_at_start_with_a_warning(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "access.log").write_text("", encoding="utf-8")
    (home / "access.log").chmod(0o644)
    result = kanon(home, "users", "list")
    assert result.returncode == 0 and "readable by others" in result.stderr
    assert modes(home)["."] == 0o700 and modes(home)["access.log"] == 0o600


def test_a_sync_leaves_only_private_files(tmp_path):
    home = tmp_path / "home"
    result = kanon(home, "sync", "--source", "sample")
    assert result.returncode == 0, result.stderr
    found = modes(home)
    assert "kanon.duckdb" in found
    assert all(mode & 0o077 == 0 for mode in found.values()), found


def test_adding_an_admin_deletes_the_set_up_code_and_the_last_admin_stays(tmp_path):
    setup.setup_code(tmp_path)
    assert add(tmp_path, "ana", "analyst").returncode == 0
    assert setup.code_path(tmp_path).exists()  # no admin yet
    assert add(tmp_path, "ada", "admin").returncode == 0
    assert not setup.code_path(tmp_path).exists()
    for args in (("remove", "ada"), ("disable", "ada"), ("set-role", "ada", "analyst")):
        refused = kanon(tmp_path, "users", *args)
        assert refused.returncode == 1 and "last active admin" in refused.stderr
    assert kanon(tmp_path, "users", "set-role", "ana", "admin").returncode == 0
    assert kanon(tmp_path, "users", "remove", "ada").returncode == 0


def test_access_log_escapes_control_characters_and_skips_malformed_lines(tmp_path):
    path = tmp_path / "access.log"
    log.event(path, "\x1b[2J\x1b[31mroot\nfake entry", log.SIGN_IN_FAILED)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{half a line\n")
    log.event(path, "ana", log.SIGN_IN)
    text = kanon(tmp_path, "access-log")
    assert text.returncode == 0, text.stderr
    assert "\x1b" not in text.stdout and len(text.stdout.splitlines()) == 2
    assert "\\x1b[31mroot\\nfake entry" in text.stdout
    assert "1 malformed line" in text.stderr
    as_json = kanon(tmp_path, "access-log", "--json")
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert entries[0]["who"].startswith("\x1b[2J") and "\x1b" not in as_json.stdout
    assert kanon(tmp_path, "purge").returncode == 0
    assert log.skipped_lines(path) == 0


@pytest.mark.parametrize("content", ["", "garbage"])
def test_users_add_admin_works_with_any_set_up_file(tmp_path, content):
    setup.code_path(tmp_path).write_text(content, encoding="utf-8")
    assert add(tmp_path, "ada", "admin").returncode == 0
    assert not setup.code_path(tmp_path).exists()
