"""One published sample release for the summaries' tests, made with the real CLI, and a real
SMTP server on loopback (STARTTLS, a password, a certificate made for the test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanon.access.accounts import Accounts
from kanon.summaries import records
from tests.summaries.mail_server import Server, mail_server

SCALE = "0.5"
PASSWORD = "a long enough password"


def kanon(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KANON_", "SSL_"))}
    environment.update({"KANON_HOME": str(home), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        cwd=home.parent,  # no kanon.toml or .streamlit/secrets.toml from the working folder
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages and e-mails built in this process read English, the code's own language (the
    `kanon` subprocesses do not inherit it: there the setting's default, Norwegian, decides)."""
    monkeypatch.setenv("KANON_DEFAULT_LANGUAGE", "en")


@pytest.fixture(scope="session")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Accounts of every standing, their subscriptions, then `kanon sample` and `kanon sync`.

    Subscribed: ana (a local analyst with an address) and max@example.com (an OpenID Connect
    manager), who receive; bob (unsubscribed again), dora (disabled), nils (no role), remy
    (admin only now) and zoe (a local analyst without an address), who must not.
    """
    home = tmp_path_factory.mktemp("summaries") / "home"
    accounts = Accounts(home / "accounts.sqlite")
    accounts.add_local("ana", ["analyst"], PASSWORD)
    accounts.set_email("ana", "ana@example.com")
    accounts.add_local("bob", ["analyst"], PASSWORD)
    accounts.set_email("bob", "bob@example.com")
    accounts.add_local("zoe", ["analyst"], PASSWORD)
    for name, roles in (
        ("max@example.com", ["manager"]),
        ("dora@example.com", ["analyst"]),
        ("nils@example.com", []),
        ("remy@example.com", ["analyst"]),
        ("root@example.com", ["admin"]),
    ):
        accounts.add_oidc(name, roles)
    for name in ("dora@example.com", "nils@example.com", "remy@example.com", "zoe"):
        records.subscribe(home / "accounts.sqlite", name, "weekly")
    ok(kanon(home, "summaries", "subscribe", "ana", "--weekly"))
    ok(kanon(home, "summaries", "subscribe", "max@example.com", "--weekly"))
    ok(kanon(home, "summaries", "subscribe", "bob", "--weekly"))
    ok(kanon(home, "summaries", "unsubscribe", "bob"))
    accounts.set_disabled("dora@example.com", True)
    accounts.set_roles("remy@example.com", ["admin"])
    ok(kanon(home, "sample", "--scale", SCALE))
    ok(kanon(home, "sync", "--source", "sample"))
    return home


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with mail_server(tmp_path) as running:
        yield running


@pytest.fixture
def own_home(tmp_path: Path, synced_home: Path) -> Path:
    """A fresh home holding a copy of the published store, and no accounts."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copy(synced_home / "kanon.duckdb", home / "kanon.duckdb")
    return home
