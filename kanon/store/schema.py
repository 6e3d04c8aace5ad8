"""The store's schema, as numbered steps: a newer Kanon migrates an older store, in one
transaction, the first time any command opens it; a store newer than this Kanon is refused.

The store records its version in a one-row table `schema_version` (DuckDB has no
`user_version`). A store without it was written before versions existed, by any earlier Kanon:
it counts as version 0, and the steps up to the current one are written so that they also
hold for such a store (`IF NOT EXISTS` throughout), whatever it already had.

To change the schema, append one step to `MIGRATIONS` (never edit or reorder a step a
released Kanon has run): a `Step` with what it does, in words, and its SQL or a function of
the connection. A new table is one line:

    Step("summary sends are logged", "CREATE TABLE IF NOT EXISTS summary_sends (...)"),
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import duckdb

from kanon.errors import KanonError

# Frozen as version 1 wrote them: a step never changes once run. tests/unit/test_figures.py
# checks that a store made by the migrations has the registry's figures (connectors/figures.py).
FIGURE_COLUMNS = """
    users DOUBLE, sessions DOUBLE, views DOUBLE, engagement_seconds DOUBLE,
    session_seconds DOUBLE, engaged_sessions DOUBLE
"""
CELL_KEY = "breakdown VARCHAR, grain VARCHAR, period DATE, category VARCHAR"
SAMPLE = "sample"

# Version 1: the schema as it stood before releases recorded their attacker model (git history
# of the store module), plus the columns that stores made before it gained with
# `ADD COLUMN IF NOT EXISTS`.
VERSION_1 = f"""
CREATE TABLE IF NOT EXISTS raw_cells (
    {CELL_KEY}, {FIGURE_COLUMNS},
    PRIMARY KEY (breakdown, grain, period, category));
CREATE TABLE IF NOT EXISTS period_flags (
    breakdown VARCHAR, grain VARCHAR, period DATE,
    subject_to_thresholding BOOLEAN, data_loss_from_other_row BOOLEAN, sampled BOOLEAN,
    PRIMARY KEY (breakdown, grain, period));
CREATE TABLE IF NOT EXISTS labels (
    breakdown VARCHAR, category VARCHAR, label VARCHAR, PRIMARY KEY (breakdown, category));
-- No key index on the release: a sync rewrites its changed periods and checks unique keys.
CREATE TABLE IF NOT EXISTS release_cells ({CELL_KEY}, {FIGURE_COLUMNS}, status VARCHAR);
CREATE TABLE IF NOT EXISTS release_proofs (fingerprint VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS releases (
    release_id BIGINT PRIMARY KEY, created_at TIMESTAMP, source VARCHAR, k INTEGER,
    first_day DATE, last_settled DATE, cells BIGINT, withheld_primary BIGINT,
    withheld_secondary BIGINT, time_zone VARCHAR);
ALTER TABLE releases ADD COLUMN IF NOT EXISTS time_zone VARCHAR;
CREATE TABLE IF NOT EXISTS syncs (
    sync_id BIGINT PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, source VARCHAR,
    status VARCHAR, message VARCHAR, requests BIGINT, tokens BIGINT,
    tokens_left_hour BIGINT, tokens_left_day BIGINT, bytes_processed BIGINT, bytes_billed BIGINT);
ALTER TABLE syncs ADD COLUMN IF NOT EXISTS bytes_processed BIGINT;
ALTER TABLE syncs ADD COLUMN IF NOT EXISTS bytes_billed BIGINT;
"""

Apply = str | Callable[[duckdb.DuckDBPyConnection], None]


@dataclass(frozen=True)
class Step:
    what: str  # in words, for `kanon migrate`
    apply: Apply


class Migrated(NamedTuple):
    """What opening a store did to its schema: from and to which version, and the steps."""

    before: int
    after: int
    steps: tuple[str, ...]


class SchemaError(KanonError, RuntimeError):
    """The store's schema is newer than this Kanon knows, or a migration failed."""


def _version_1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(VERSION_1)
    _drop_release_key(con)


def _drop_release_key(con: duckdb.DuckDBPyConnection) -> None:
    """Stores made before release_cells lost its primary key: keeping its index up to date
    slowed every sync, the more the larger the release. Rebuilt once, without it."""
    keyed = con.execute(
        "SELECT count(*) FROM duckdb_constraints() "
        "WHERE table_name = 'release_cells' AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()[0][0]
    if keyed:
        con.execute("CREATE TABLE release_cells_unkeyed AS SELECT * FROM release_cells")
        con.execute("DROP TABLE release_cells")
        con.execute("ALTER TABLE release_cells_unkeyed RENAME TO release_cells")


def _record_sources(con: duckdb.DuckDBPyConnection) -> None:
    """Which source each raw period was fetched from (a store holds one). A store made before
    it was recorded counts its raw periods as its last release's source; if any release ever
    came from something other than the sample, as the last such release's (real figures are
    never counted as the sample's, even in a store where a sample sync republished them)."""
    present = con.execute(
        "SELECT count(*) FROM duckdb_columns() "
        "WHERE table_name = 'period_flags' AND column_name = 'source'"
    ).fetchall()[0][0]
    con.execute("ALTER TABLE syncs ADD COLUMN IF NOT EXISTS release_id BIGINT")
    if present:
        return
    con.execute("ALTER TABLE period_flags ADD COLUMN source VARCHAR")
    con.execute(
        "UPDATE period_flags SET source = coalesce("
        "(SELECT source FROM releases WHERE source IS DISTINCT FROM ? "
        " ORDER BY release_id DESC LIMIT 1), "
        "(SELECT source FROM releases ORDER BY release_id DESC LIMIT 1)) "
        "WHERE source IS NULL",
        [SAMPLE],
    )


MIGRATIONS: list[Step] = [
    Step("the store's tables (raw cells, flags, labels, the release, syncs)", _version_1),
    Step(
        "releases record the attacker model they were protected against and how they list rows",
        "ALTER TABLE releases ADD COLUMN IF NOT EXISTS model INTEGER; "
        "ALTER TABLE releases ADD COLUMN IF NOT EXISTS listing VARCHAR; "
        "ALTER TABLE releases ADD COLUMN IF NOT EXISTS empty BIGINT;",
    ),
    Step("raw periods record their source and syncs the release they published", _record_sources),
    Step(
        "notes on the charts (kanon.store.notes); a sequence, so an id is never given twice",
        "CREATE SEQUENCE IF NOT EXISTS note_ids START 1; "
        "CREATE TABLE IF NOT EXISTS notes ("
        "note_id BIGINT PRIMARY KEY, first_day DATE NOT NULL, last_day DATE NOT NULL, "
        "text VARCHAR NOT NULL, author VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, "
        "changed_at TIMESTAMP NOT NULL);",
    ),
]
VERSION = len(MIGRATIONS)

# DuckDB lets one process hold the file, but the dashboard opens it from several threads: one
# of them migrates while the others wait, then find the store current.
_migrating = threading.Lock()


def version(con: duckdb.DuckDBPyConnection) -> int:
    """The store's schema version; 0 for a store written before versions existed."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not found:
        return 0
    found = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    return 0 if found is None else int(found)


def migrate(con: duckdb.DuckDBPyConnection, path: object) -> Migrated:
    """Bring the store to `VERSION` in one transaction, or refuse a newer one."""
    current = version(con)
    if current == VERSION:
        return Migrated(current, current, ())
    refuse_newer(current, path)
    with _migrating:
        con.execute("BEGIN TRANSACTION")
        try:
            current = version(con)  # another thread may have migrated while this one waited
            steps = MIGRATIONS[current:]
            for step in steps:
                if isinstance(step.apply, str):
                    con.execute(step.apply)
                else:
                    step.apply(con)
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            con.execute("DELETE FROM schema_version")
            con.execute("INSERT INTO schema_version VALUES (?)", [VERSION])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return Migrated(current, VERSION, tuple(step.what for step in steps))


def refuse_newer(found: int, path: object) -> None:
    if found > VERSION:
        raise SchemaError(
            f"The Kanon store {path} has schema version {found}, newer than this Kanon knows "
            f"({VERSION}): a newer Kanon wrote it. Upgrade Kanon (install the newer release "
            "into this venv) and run the command again; nothing was changed."
        )
