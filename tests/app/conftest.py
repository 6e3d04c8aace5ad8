"""Fixtures for the AppTest pages: one synced sample release per test session.

Every test runs the real app against a temporary KANON_HOME; roles are changed by replacing
`kanon.ui.context.identity`, the one function that says who is asking.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from kanon.access.roles import Identity
from tests.app.support import handle_for, publish, published_home


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page tests read English (the code's own language): AppTest's browser has no locale,
    which would leave the `default_language` setting, Norwegian, to decide. Tests of the
    languages themselves set a locale or the setting."""
    monkeypatch.setenv("KANON_DEFAULT_LANGUAGE", "en")


@pytest.fixture(scope="session")
def home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KANON_HOME holding a published sample release (k = 10)."""
    return published_home(request.config, tmp_path_factory.mktemp("kanon-home"))


STRICT_K = 120  # above the quietest days' visitors at this scale: some site days are withheld


@pytest.fixture(scope="session")
def strict_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release with a high k, so whole site days are withheld (primary suppression only).

    How a page draws a withheld site day does not depend on why it is withheld, and secondary
    suppression at this k takes many minutes, so this one release is built without it (and
    without the attacker check, which it would rightly fail). Never a pattern for real data.
    """
    import reports.audit
    import reports.suppress

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            reports.suppress,
            "complementary_with_points",
            lambda cells, k, visited=False: (cells, None),
        )
        passed = SimpleNamespace(ok=True, proofs=frozenset())
        patch.setattr(reports.audit, "audit", lambda cells, k, **options: passed)
        return publish(tmp_path_factory.mktemp("kanon-strict"), k=STRICT_K)


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch, strict_home: Path) -> Path:
    _environment(monkeypatch, strict_home, developer=True)
    return strict_home


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    return tmp_path / "empty-home"


def _environment(monkeypatch: pytest.MonkeyPatch, home: Path, developer: bool) -> None:
    for name in ("KANON_SETTINGS", "KANON_K", "KANON_DEVELOPER_MODE", "KANON_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(home))
    if developer:
        monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    monkeypatch.chdir(home.parent)  # no stray kanon.toml from the working folder


@pytest.fixture
def dev(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """Developer mode over the published release: everyone holds every role."""
    _environment(monkeypatch, home, developer=True)
    return home


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """No developer mode and no sign-in: the dashboard must show no number."""
    _environment(monkeypatch, home, developer=False)
    return home


@pytest.fixture
def as_identity(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> Iterator[Callable[[Identity], None]]:
    """Run the app as a given identity, put in directly (test_signin.py signs in for real).

    Buttons checked at their click (downloads) find a real OpenID Connect sign-in of that
    identity on the server, with the identity's roles on the allow-list."""
    _environment(monkeypatch, home, developer=False)

    accounts = home / "accounts.sqlite"
    existed = accounts.exists()
    before = _account_names(accounts)

    def become(identity: Identity) -> None:
        monkeypatch.setattr("kanon.ui.context.identity", lambda settings: identity)
        handle = handle_for(home, identity)
        monkeypatch.setattr("kanon.ui.context.session_handle", lambda: handle)

    yield become
    # The shared home stays as it was: a fresh install for the tests that expect one, and no
    # account for developer mode to refuse.
    if not existed:
        accounts.unlink(missing_ok=True)
    else:
        with sqlite3.connect(accounts) as con:
            added = _account_names(accounts) - before
            con.executemany("DELETE FROM accounts WHERE name = ?", [(n,) for n in added])


def _account_names(path: Path) -> set[str]:
    if not path.exists():
        return set()
    with sqlite3.connect(path) as con:
        try:
            return {row[0] for row in con.execute("SELECT name FROM accounts")}
        except sqlite3.OperationalError:  # the file exists, its tables not yet
            return set()
