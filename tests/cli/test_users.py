"""`kanon users` and `kanon access-log` as scripts use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kanon.access.accounts import Accounts

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def kanon(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "KANON_HOME": str(home)}
    env.pop("KANON_SETTINGS", None)
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_add_list_set_role_and_remove(tmp_path):
    added = kanon(tmp_path, "users", "add", "ana", "--role", "analyst", "--password-stdin",
                  stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert kanon(tmp_path, "users", "add", "max@example.com", "--role", "manager", "--role",
                 "analyst", "--oidc").returncode == 0  # fmt: skip
    listed = kanon(tmp_path, "users", "list", "--json")
    accounts = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert accounts["ana"]["roles"] == ["analyst"] and accounts["ana"]["kind"] == "local"
    assert accounts["max@example.com"]["roles"] == ["analyst", "manager"]
    assert kanon(tmp_path, "users", "set-role", "ana", "manager", "admin").returncode == 0
    assert Accounts(tmp_path / "accounts.sqlite").get("ana").roles == {"manager", "admin"}
    assert kanon(tmp_path, "users", "remove", "max@example.com").returncode == 0
    assert Accounts(tmp_path / "accounts.sqlite").get("max@example.com") is None
    assert PASSWORD not in (tmp_path / "access.log").read_text(encoding="utf-8")


def test_a_password_is_never_an_argument_and_needs_a_terminal_or_stdin(tmp_path):
    flag = kanon(tmp_path, "users", "add", "ana", "--role", "analyst", "--password", PASSWORD)
    assert flag.returncode == 2
    no_terminal = kanon(tmp_path, "users", "add", "ana", "--role", "analyst")
    assert no_terminal.returncode == 1 and "--password-stdin" in no_terminal.stderr
    assert Accounts(tmp_path / "accounts.sqlite").get("ana") is None


@pytest.mark.parametrize(
    ("name", "password", "why"),
    [("ana", "too short", "12 characters"), ("anne-marie.berg", "Anne-Marie.Berg", "name")],
)
def test_weak_passwords_are_refused_saying_why(tmp_path, name, password, why):
    result = kanon(tmp_path, "users", "add", name, "--role", "analyst", "--password-stdin",
                   stdin=password + "\n")  # fmt: skip
    assert result.returncode == 1 and why in result.stderr


def test_unknown_roles_and_accounts_are_clear_errors(tmp_path):
    role = kanon(tmp_path, "users", "add", "x@example.com", "--role", "superuser", "--oidc")
    assert role.returncode == 2 and "invalid choice" in role.stderr
    missing = kanon(tmp_path, "users", "remove", "nobody")
    assert missing.returncode == 1 and "no account 'nobody'" in missing.stderr


def test_reset_password_replaces_the_old_one(tmp_path):
    kanon(tmp_path, "users", "add", "ana", "--role", "analyst", "--password-stdin",
          stdin=PASSWORD + "\n")  # fmt: skip
    new = "another long passphrase"
    result = kanon(tmp_path, "users", "reset-password", "ana", "--password-stdin", stdin=new)
    assert result.returncode == 0, result.stderr
    accounts = Accounts(tmp_path / "accounts.sqlite")
    assert accounts.verify_password("ana", new) and not accounts.verify_password("ana", PASSWORD)


def test_access_log_prints_changes_by_whom_and_filters(tmp_path):
    kanon(tmp_path, "users", "add", "ana", "--role", "analyst", "--password-stdin",
          stdin=PASSWORD + "\n")  # fmt: skip
    kanon(tmp_path, "users", "set-role", "ana", "manager")
    printed = kanon(tmp_path, "access-log", "--json").stdout.splitlines()
    entries = [json.loads(line) for line in printed]
    assert [e["action"] for e in entries] == ["user-add", "user-set-role"]
    assert all(e["who"].startswith("cli:") and e["account"] == "ana" for e in entries)
    only = kanon(tmp_path, "access-log", "--action", "user-set-role").stdout.splitlines()
    assert len(only) == 1 and "roles=manager" in only[0]
    assert kanon(tmp_path, "access-log", "--since", "2999-01-01").stdout == ""
    assert kanon(tmp_path, "access-log", "--since", "yesterday").returncode == 2
