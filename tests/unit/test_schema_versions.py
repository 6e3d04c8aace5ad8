"""Schema versions: files written in the schema before each migration open and are migrated in
one transaction; a file from a newer Kanon is refused with a message; `kanon migrate` says
what it did. The old files are built here from the old DDL (git history of the store and
accounts modules)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from kanon.access import accounts_file
from kanon.access.accounts import Accounts
from kanon.store import schema
from kanon.store.duckdb_store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

# The releases table as Kanon wrote it before time zones (issue 17), keyed release cells.
UNVERSIONED_OLDEST = """
CREATE TABLE releases (release_id BIGINT PRIMARY KEY, created_at TIMESTAMP, source VARCHAR,
    k INTEGER, first_day DATE, last_settled DATE, cells BIGINT, withheld_primary BIGINT,
    withheld_secondary BIGINT);
CREATE TABLE release_cells (breakdown VARCHAR, grain VARCHAR, period DATE, category VARCHAR,
    users DOUBLE, sessions DOUBLE, views DOUBLE, engagement_seconds DOUBLE,
    session_seconds DOUBLE, engaged_sessions DOUBLE, status VARCHAR,
    PRIMARY KEY (breakdown, grain, period, category));
CREATE TABLE period_flags (breakdown VARCHAR, grain VARCHAR, period DATE,
    subject_to_thresholding BOOLEAN, data_loss_from_other_row BOOLEAN, sampled BOOLEAN,
    PRIMARY KEY (breakdown, grain, period));
INSERT INTO releases VALUES (1, '2026-11-02 06:00', 'ga4', 10, '2025-09-01', '2026-10-30',
    1, 0, 0);
INSERT INTO release_cells VALUES ('overview', 'day', '2026-10-30', '(all visits)',
    40, 50, 90, 600, 700, 30, 'published');
INSERT INTO period_flags VALUES ('overview', 'day', '2026-10-30', false, false, false);
"""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}


def _store_at(path: Path, version: int) -> None:
    """A store exactly as Kanon's schema `version` left it, holding one GA4 release."""
    with duckdb.connect(str(path)) as con:
        for step in schema.MIGRATIONS[:version]:
            con.execute(step.apply) if isinstance(step.apply, str) else step.apply(con)
        con.execute("CREATE TABLE schema_version (version INTEGER)")
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.execute(
            "INSERT INTO releases (release_id, created_at, source, k) "
            "VALUES (1, '2026-11-02 06:00', 'ga4', 10)"
        )
        con.execute(
            "INSERT INTO period_flags (breakdown, grain, period) "
            "VALUES ('overview', 'day', '2026-10-30')"
        )


def test_version_1_is_the_schema_before_releases_recorded_their_model(tmp_path):
    path = tmp_path / "kanon.duckdb"
    _store_at(path, 1)
    with duckdb.connect(str(path)) as con:
        assert {"model", "listing", "empty"}.isdisjoint(_columns(con, "releases"))
        assert "source" not in _columns(con, "period_flags")


@pytest.mark.parametrize("version", [1, 2])
def test_a_store_at_each_older_version_is_migrated_on_open(tmp_path, version):
    path = tmp_path / "kanon.duckdb"
    _store_at(path, version)
    info = Store(path).release_info()
    assert info["release_id"] == 1 and "model" in info
    with duckdb.connect(str(path)) as con:
        assert schema.version(con) == schema.VERSION
        assert con.execute("SELECT DISTINCT source FROM period_flags").fetchall() == [("ga4",)]
        assert "release_id" in _columns(con, "syncs")


def test_a_store_from_before_versions_is_migrated_whatever_it_held(tmp_path):
    path = tmp_path / "kanon.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(UNVERSIONED_OLDEST)
    migrated = Store(path).migrate()
    assert (migrated.before, migrated.after) == (0, schema.VERSION)
    assert len(migrated.steps) == schema.VERSION
    with duckdb.connect(str(path)) as con:
        assert {"time_zone", "model", "listing", "empty"} <= _columns(con, "releases")
        keys = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'release_cells' "
            "AND constraint_type = 'PRIMARY KEY'"
        ).fetchall()[0][0]
        assert keys == 0  # rebuilt without the key that slowed every sync
        assert con.execute("SELECT source FROM period_flags").fetchall() == [("ga4",)]
        assert con.execute("SELECT count(*) FROM release_cells").fetchall()[0][0] == 1
    assert Store(path).migrate().steps == ()  # the second time: nothing to do


def test_a_failing_step_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "kanon.duckdb"
    _store_at(path, 1)
    broken = [*schema.MIGRATIONS, schema.Step("a step that fails", "SELECT * FROM missing")]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "VERSION", len(broken))
    with pytest.raises(duckdb.CatalogException):
        Store(path).migrate()
    with duckdb.connect(str(path)) as con:
        assert schema.version(con) == 1
        assert "model" not in _columns(con, "releases")  # step 2 was rolled back with it


def test_a_store_from_a_newer_kanon_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "kanon.duckdb"
    _store_at(path, schema.VERSION)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE schema_version SET version = ?", [schema.VERSION + 1])
    with pytest.raises(StoreError, match="newer than this Kanon.*Upgrade Kanon"):
        Store(path).release_info()
    with duckdb.connect(str(path)) as con:
        assert schema.version(con) == schema.VERSION + 1


# --- the accounts file --------------------------------------------------------------------


def _accounts_at(path: Path, version: int | None) -> None:
    """The accounts file as schema `version` left it; None: before versions (first DDL)."""
    with closing(sqlite3.connect(path)) as con:
        steps = accounts_file.MIGRATIONS[: version or 1]
        for _, script in steps:
            con.executescript(script)
        if version is not None:
            con.execute(f"PRAGMA user_version = {version}")
        con.commit()
    Path(path).chmod(0o600)


@pytest.mark.parametrize("version", [None, 1, 2])
def test_an_older_accounts_file_is_migrated_and_its_accounts_sign_in(tmp_path, version):
    path = tmp_path / "accounts.sqlite"
    _accounts_at(path, version)
    with closing(sqlite3.connect(path)) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    assert "session_tickets" not in tables
    accounts = Accounts(path)
    accounts.add_local("ana", ["admin"], PASSWORD)
    assert accounts.verify_password("ana", PASSWORD) is not None
    assert accounts_file.version_of(path) == accounts_file.VERSION
    with closing(sqlite3.connect(path)) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    assert {"throttle_notes", "session_tickets", "oidc_signins"} <= tables


def test_an_accounts_file_from_a_newer_kanon_is_refused(tmp_path):
    path = tmp_path / "accounts.sqlite"
    _accounts_at(path, accounts_file.VERSION)
    with closing(sqlite3.connect(path)) as con:
        con.execute(f"PRAGMA user_version = {accounts_file.VERSION + 1}")
    with pytest.raises(accounts_file.AccountsFileError, match="Upgrade Kanon"):
        Accounts(path).all()


def test_kanon_migrate_says_what_it_did_then_that_nothing_is_left(tmp_path):
    with duckdb.connect(str(tmp_path / "kanon.duckdb")) as con:
        con.execute(UNVERSIONED_OLDEST)
    _accounts_at(tmp_path / "accounts.sqlite", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANON_")}

    def migrate() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "kanon.cli", "migrate"],
            cwd=ROOT,
            env={**env, "KANON_HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = migrate()
    assert first.returncode == 0, first.stderr
    assert f"migrated from schema version 0 to {schema.VERSION}" in first.stdout
    assert f"migrated from schema version 1 to {accounts_file.VERSION}" in first.stdout
    again = migrate()
    assert again.returncode == 0 and again.stdout.count("nothing to do") == 2
