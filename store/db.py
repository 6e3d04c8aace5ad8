"""The DuckDB store: raw aggregates from connectors and, beside them, the protected release.

Connections are short-lived (open, work, close) so the dashboard's reads and a sync in another
process take turns on the file instead of holding it. A sync writes in one transaction: if
anything fails, the previous release stays exactly as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

FIGURE_COLUMNS = """
    users DOUBLE, sessions DOUBLE, views DOUBLE, engagement_seconds DOUBLE,
    session_seconds DOUBLE, engaged_sessions DOUBLE
"""
CELL_KEY = "breakdown VARCHAR, grain VARCHAR, period DATE, category VARCHAR"
CELL_COLUMNS = ["breakdown", "grain", "period", "category"]

SCHEMA = f"""
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
-- Stores made before a column existed gain it (empty for their old releases).
ALTER TABLE releases ADD COLUMN IF NOT EXISTS time_zone VARCHAR;
-- The attacker model a release was protected against, and how it lists rows (reports.protect:
-- empty for releases made before issue 27, which listed only visited cells).
ALTER TABLE releases ADD COLUMN IF NOT EXISTS model INTEGER;
ALTER TABLE releases ADD COLUMN IF NOT EXISTS listing VARCHAR;
ALTER TABLE releases ADD COLUMN IF NOT EXISTS empty BIGINT;
CREATE TABLE IF NOT EXISTS syncs (
    sync_id BIGINT PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, source VARCHAR,
    status VARCHAR, message VARCHAR, requests BIGINT, tokens BIGINT,
    tokens_left_hour BIGINT, tokens_left_day BIGINT, bytes_processed BIGINT, bytes_billed BIGINT);
ALTER TABLE syncs ADD COLUMN IF NOT EXISTS bytes_processed BIGINT;
ALTER TABLE syncs ADD COLUMN IF NOT EXISTS bytes_billed BIGINT;
"""

TABLES = (
    "raw_cells",
    "period_flags",
    "labels",
    "release_cells",
    "release_proofs",
    "releases",
    "syncs",
)
RETAINED_TABLES = ("raw_cells", "period_flags", "release_cells")
PERIOD_KEY = "breakdown, grain, period"

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The store could not be opened or read; the message says what to do."""


class Store:
    """One DuckDB file under KANON_HOME."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def connect(self, must_exist: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        # Always read-write: DuckDB refuses two connections with different modes in one process.
        if must_exist and not self.path.exists():
            raise StoreError(
                f"No Kanon store at {self.path}. Run `kanon sync --source sample` (or ga4) first."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect_with_retry(self.path)
        try:
            con.execute(SCHEMA)
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit when the block ends, roll back if it raises."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # --- what has been fetched: for incremental syncs ------------------------------------

    def raw_periods(self) -> pd.DataFrame:
        """Which (breakdown, grain, period) have been fetched: for incremental syncs."""
        with self.connect() as con:
            return con.execute("SELECT DISTINCT breakdown, grain, period FROM period_flags").df()

    # --- the release: read by the views ---------------------------------------------------

    def read_release(self) -> tuple[pd.DataFrame, dict | None]:
        with self.connect(must_exist=True) as con:
            info = latest_release(con)
            cells = cells_frame(con, "SELECT * FROM release_cells") if info else None
            return cells, info

    def read_release_proofs(self) -> frozenset[str]:
        """Fingerprints of the release's blocks its audit proved safe (see reports.audit)."""
        with self.connect(must_exist=True) as con:
            return release_proofs(con)

    def release_info(self) -> dict | None:
        if not self.path.exists():
            return None
        with self.connect() as con:
            return latest_release(con)

    def read_labels(self) -> pd.DataFrame:
        with self.connect(must_exist=True) as con:
            return con.execute("SELECT * FROM labels").df()

    def read_release_flags(self) -> pd.DataFrame:
        """GA4's flags for the periods in the release (they are about figures, not visitors)."""
        with self.connect(must_exist=True) as con:
            return con.execute(
                "SELECT f.* FROM period_flags f JOIN (SELECT DISTINCT breakdown, grain, period "
                "FROM release_cells) r USING (breakdown, grain, period)"
            ).df()

    def syncs(self, limit: int = 20) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame()
        with self.connect(must_exist=True) as con:
            return con.execute("SELECT * FROM syncs ORDER BY sync_id DESC LIMIT ?", [limit]).df()

    # --- writing, inside one transaction -------------------------------------------------

    def next_sync_id(self, con: duckdb.DuckDBPyConnection) -> int:
        return int(con.execute("SELECT coalesce(max(sync_id), 0) + 1 FROM syncs").fetchone()[0])

    def record_sync(self, sync: dict) -> None:
        """Log a sync's outcome in its own small transaction (also after a failed sync)."""
        with self.connect() as con:
            columns = ", ".join(sync)
            marks = ", ".join("?" for _ in sync)
            con.execute(
                f"INSERT OR REPLACE INTO syncs ({columns}) VALUES ({marks})", list(sync.values())
            )


def cells_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: list | None = None
) -> pd.DataFrame:
    """A query's cells as a frame (periods as dates), through Arrow: five times faster than
    DuckDB's own conversion on a scale-100 release (0.07 s instead of 0.35 s)."""
    return con.sql(query, params=params).to_arrow_table().to_pandas()


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    if table not in TABLES:
        raise ValueError(f"Unknown store table {table!r}.")
    return con.execute(f"SELECT * FROM {table}").df()


def raw_cells_after_upsert(
    con: duckdb.DuckDBPyConnection,
    new: pd.DataFrame,
    first_day: date,
    unless_released_as: str | None = None,
) -> pd.DataFrame:
    """The raw cells as they will be once `new` is upserted and the window purged; with
    `unless_released_as`, less the stored cells the current release shows with that status.

    One query instead of concatenating and de-duplicating in pandas: at scale 100 that took
    over a second of every daily sync."""
    keys = ", ".join(CELL_COLUMNS)
    keep, params = "SELECT * FROM raw_cells WHERE period >= ?", [first_day]
    if unless_released_as is not None:
        keep = (
            f"SELECT * FROM ({keep}) ANTI JOIN "
            f"(SELECT {keys} FROM release_cells WHERE status = ?) USING ({keys})"
        )
        params.append(unless_released_as)
    if new.empty:
        return cells_frame(con, keep, params)
    columns = ", ".join(con.execute("SELECT * FROM raw_cells LIMIT 0").df().columns)
    con.register("incoming", new)
    try:
        return cells_frame(
            con,
            f"SELECT * FROM ({keep}) ANTI JOIN incoming USING ({keys}) "
            f"UNION ALL SELECT {columns} FROM incoming WHERE period >= ?",
            [*params, first_day],
        )
    finally:
        con.unregister("incoming")


def release_cells_since(con: duckdb.DuckDBPyConnection, first_day: date) -> pd.DataFrame:
    """The release's cells of periods beginning on or after `first_day`."""
    return cells_frame(con, "SELECT * FROM release_cells WHERE period >= ?", [first_day])


def upsert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert rows, replacing those with the same key."""
    _insert(con, table, frame, "INSERT OR REPLACE")


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, verb: str) -> None:
    if frame.empty:
        return
    con.register("incoming", _arrow(frame))  # half the time of scanning the pandas frame
    try:
        columns = ", ".join(frame.columns)
        con.execute(f"{verb} INTO {table} ({columns}) SELECT {columns} FROM incoming")
    finally:
        con.unregister("incoming")


def replace_release(
    con: duckdb.DuckDBPyConnection,
    cells: pd.DataFrame,
    info: dict,
    proofs: frozenset[str] = frozenset(),
) -> None:
    """The new release, its info row and its audit's proofs, in place of the previous ones.

    Call it inside `Store.transaction`: a cell held twice is found once the rows are written
    (half the time of checking the frame before), and the error rolls them back."""
    _drop_release_key(con)
    con.register("incoming", _arrow(cells))
    try:
        _write_release_cells(con, _typed_as_table(con, "release_cells", "incoming"))
    finally:
        con.unregister("incoming")
    if _holds_a_key_twice(con):
        raise StoreError("The release holds a cell twice; nothing was written. Report this bug.")
    con.execute("DELETE FROM release_proofs")
    upsert(con, "release_proofs", pd.DataFrame({"fingerprint": sorted(proofs)}))
    columns = ", ".join(info)
    marks = ", ".join("?" for _ in info)
    con.execute(f"INSERT INTO releases ({columns}) VALUES ({marks})", list(info.values()))


def _write_release_cells(con: duckdb.DuckDBPyConnection, new: str) -> None:
    """Make release_cells hold exactly the rows of the query `new`.

    Only the periods whose rows changed are rewritten: a daily sync changes a few dozen of a
    release's thousands (frozen periods never change), and writing all 476,000 rows of a
    scale-100 release took 0.3 s, inside the lock the dashboard waits for. Then the whole table
    is checked against `new` (its count and the sum of its rows' hashes) and written whole
    should they differ."""
    row_hash = _row_hash(con)
    _write_changed_periods(con, new, row_hash)
    whole = f"SELECT count(*), sum({row_hash}) FROM {{}}"
    written, wanted = (con.execute(whole.format(q)).fetchall() for q in ("release_cells", new))
    if written != wanted:
        log.warning("The release's changed periods did not give the new release; writing it whole")
        con.execute("DELETE FROM release_cells")
        con.execute(f"INSERT INTO release_cells SELECT * FROM {new}")


def _write_changed_periods(con: duckdb.DuckDBPyConnection, new: str, row_hash: str) -> None:
    """Rewrite the (breakdown, grain, period) whose rows differ between release_cells and `new`
    (compared by their count and the sum of their rows' hashes); drop those `new` lacks."""
    checksums = f"SELECT {PERIOD_KEY}, count(*) AS n, sum({row_hash}) AS h FROM {{}} GROUP BY ALL"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE changed_periods AS SELECT {PERIOD_KEY} "
        f"FROM ({checksums.format('release_cells')}) old "
        f"FULL JOIN ({checksums.format(new)}) new USING ({PERIOD_KEY}) "
        "WHERE old.n IS DISTINCT FROM new.n OR old.h IS DISTINCT FROM new.h"
    )
    con.execute(
        "DELETE FROM release_cells r USING changed_periods c "
        "WHERE r.breakdown = c.breakdown AND r.grain = c.grain AND r.period = c.period"
    )
    con.execute(
        f"INSERT INTO release_cells SELECT * FROM {new} SEMI JOIN changed_periods "
        f"USING ({PERIOD_KEY})"
    )
    con.execute("DROP TABLE changed_periods")


def _typed_as_table(con: duckdb.DuckDBPyConnection, table: str, frame: str) -> str:
    """A query of the registered `frame` with `table`'s columns, in its order and types (a
    column the frame lacks is NULL, as an INSERT naming the frame's columns would leave it)."""
    given = set(con.sql(f"SELECT * FROM {frame}").columns)
    columns = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
    typed = [
        f"CAST({name} AS {kind}) AS {name}" if name in given else f"NULL::{kind} AS {name}"
        for name, kind in columns
    ]
    return f"(SELECT {', '.join(typed)} FROM {frame})"


def _row_hash(con: duckdb.DuckDBPyConnection) -> str:
    columns = [row[0] for row in con.execute("DESCRIBE release_cells").fetchall()]
    return f"hash({', '.join(columns)})"


def _arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _holds_a_key_twice(con: duckdb.DuckDBPyConnection) -> bool:
    keys = ", ".join(CELL_COLUMNS)
    distinct = f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM release_cells)"
    return bool(con.execute(f"SELECT count(*) > ({distinct}) FROM release_cells").fetchone()[0])


def _drop_release_key(con: duckdb.DuckDBPyConnection) -> None:
    """Stores made before release_cells lost its primary key: keeping its index up to date took
    a second of every scale-1 sync (and several at scale 100). Rebuilt once, without it."""
    keyed = con.execute(
        "SELECT count(*) FROM duckdb_constraints() "
        "WHERE table_name = 'release_cells' AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()[0][0]
    if keyed:
        con.execute("CREATE TABLE release_cells_unkeyed AS SELECT * FROM release_cells")
        con.execute("DROP TABLE release_cells")
        con.execute("ALTER TABLE release_cells_unkeyed RENAME TO release_cells")


def purge_before(con: duckdb.DuckDBPyConnection, first_day: date) -> int:
    """Delete every period that begins before the retention window; returns rows deleted."""
    deleted = 0
    for table in RETAINED_TABLES:
        deleted += int(
            con.execute(f"DELETE FROM {table} WHERE period < ? RETURNING 1", [first_day])
            .df()
            .shape[0]
        )
    return deleted


def release_proofs(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute("SELECT fingerprint FROM release_proofs").fetchall()
    return frozenset(row[0] for row in rows)


def latest_release(con: duckdb.DuckDBPyConnection) -> dict | None:
    frame = con.execute("SELECT * FROM releases ORDER BY release_id DESC LIMIT 1").df()
    if frame.empty:
        return None
    return frame.iloc[0].to_dict()


def _connect_with_retry(path: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write at a time; wait briefly for a running sync to finish."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise StoreError(
                    f"Could not open the Kanon store {path}: {error}. If a sync is running, "
                    "wait for it to finish and try again."
                ) from error
            time.sleep(0.2)


def now() -> datetime:
    return datetime.now().replace(microsecond=0)
