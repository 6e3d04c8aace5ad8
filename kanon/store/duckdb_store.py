"""The DuckDB store: raw aggregates from connectors and, beside them, the protected release.

Connections are short-lived (open, work, close) so the dashboard's reads and a sync in another
process take turns on the file instead of holding it. A sync writes in one transaction: if
anything fails, the previous release stays exactly as it was. Every connection first brings
the file to this Kanon's schema (`kanon.store.schema`), or refuses a newer one.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd
import pyarrow as pa

from connectors.retry import polling, retrying
from kanon.errors import KanonError
from kanon.store.schema import SAMPLE as SAMPLE  # where developer mode and syncs read it
from kanon.store.schema import Migrated, SchemaError, migrate

CELL_COLUMNS = ["breakdown", "grain", "period", "category"]

RUNNING, SUCCEEDED, FAILED = "running", "ok", "failed"

TABLES = (
    "raw_cells",
    "period_flags",
    "labels",
    "release_cells",
    "release_proofs",
    "releases",
    "syncs",
    "notes",
)
RETAINED_TABLES = ("raw_cells", "period_flags", "release_cells")
PERIOD_KEY = "breakdown, grain, period"

log = logging.getLogger(__name__)


class StoreError(KanonError, RuntimeError):
    """The store could not be opened or read; the message says what to do."""


class SyncRunning(StoreError):
    """Another sync holds the store's sync lock."""


class SourceRefused(StoreError):
    """The store holds statistics from another source than the sync's."""


def damaged_message(path: Path, error: BaseException) -> str:
    return (
        f"The Kanon store {path} is damaged or is not a Kanon store ({error}). Nothing was "
        "changed. Restore it from a backup (`kanon restore FILE`, if you made one with "
        "`kanon backup`), or move it aside and sync again into a new KANON_HOME "
        "(`KANON_HOME=/new/folder kanon sync`)."
    )


# DuckDB's errors that mean the file itself is unreadable, not that a query was wrong.
_DAMAGE_TYPES = (duckdb.SerializationException, duckdb.InternalException, duckdb.FatalException)


def _is_damage(error: BaseException) -> bool:
    """A checksum that does not match comes as DuckDB's bare `Error`."""
    return isinstance(error, _DAMAGE_TYPES) or (
        isinstance(error, duckdb.Error) and "corrupt" in str(error).lower()
    )


class Store:
    """One DuckDB file under KANON_HOME."""

    def __init__(self, path: Path, wait_seconds: float | None = None) -> None:
        self.path = Path(path)
        self.wait_seconds = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds

    @contextmanager
    def connect(self, must_exist: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        # Always read-write: DuckDB refuses two connections with different modes in one process.
        if must_exist and not self.path.exists():
            raise StoreError(
                f"No Kanon store at {self.path}. Run `kanon sync --source sample` (or ga4) first."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con, _ = self._open()
        try:
            try:
                yield con
            except duckdb.Error as error:
                if not _is_damage(error):
                    raise
                raise StoreError(damaged_message(self.path, error)) from None
        finally:
            con.close()

    def _open(self) -> tuple[duckdb.DuckDBPyConnection, Migrated]:
        """A connection to the store, its schema brought to this Kanon's version first."""
        con = _connect_with_retry(self.path, self.wait_seconds)
        try:
            return con, migrate(con, self.path)
        except SchemaError as error:  # one kind of store problem for the pages and the CLI
            con.close()
            raise StoreError(str(error)) from None
        except duckdb.Error as error:
            con.close()
            if not (_is_damage(error) or isinstance(error, duckdb.IOException)):
                raise
            raise StoreError(damaged_message(self.path, error)) from None
        except BaseException:
            con.close()
            raise

    def migrate(self) -> Migrated:
        """Open the store (creating it if missing) and say what its schema migration did."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con, migrated = self._open()
        con.close()
        return migrated

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

    def read_release(self) -> tuple[pd.DataFrame | None, dict | None]:
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
                "SELECT f.* EXCLUDE (source) FROM period_flags f "
                "JOIN (SELECT DISTINCT breakdown, grain, period "
                "FROM release_cells) r USING (breakdown, grain, period)"
            ).df()

    def syncs(self, limit: int = 20) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame()
        with self.connect(must_exist=True) as con:
            return con.execute("SELECT * FROM syncs ORDER BY sync_id DESC LIMIT ?", [limit]).df()

    def sources(self) -> Sources:
        """Where the store's statistics came from (see `Sources`); empty for no store."""
        if not self.path.exists():
            return Sources(frozenset(), frozenset())
        with self.connect() as con:
            return sources(con)

    # --- a sync: one at a time, its history row written when it starts ------------------

    @contextmanager
    def sync_lock(self) -> Iterator[None]:
        """Hold the store's sync lock (an flock on a file beside the store) or refuse.

        The kernel drops the lock when its holder exits, crashed or not, so it never outlives
        the sync that took it; `begin_sync` then finishes the `running` row such a sync left."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        path = self.path.with_name(self.path.name + ".sync-lock")
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(descriptor, "r+", encoding="utf-8") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                holder = lock.read().strip() or "another process"
                raise SyncRunning(
                    f"Another sync is running on {self.path} ({holder}); this one was not "
                    "started. Wait for it to finish (its progress is in the Admin page's sync "
                    "history) and run the sync again if you still need it."
                ) from None
            try:
                lock.seek(0)
                lock.truncate()
                lock.write(f"process {os.getpid()}, started {now():%Y-%m-%d %H:%M:%S}\n")
                lock.flush()
                yield
            finally:
                lock.seek(0)
                lock.truncate()
                fcntl.flock(lock, fcntl.LOCK_UN)

    def begin_sync(self, source: str, started_at: datetime) -> int:
        """The new sync's id, its history row written as `running`; or SourceRefused when the
        store holds another source's statistics (then nothing is written). Call it holding
        `sync_lock`: any row still `running` was left by a sync that died, and is finished
        as failed (never replaced). One connection: a sync's fixed cost stays small."""
        with self.transaction() as con:
            refusal = sources(con).refusal(source)
            if refusal:
                raise SourceRefused(refusal)
            con.execute(
                "UPDATE syncs SET status = ?, finished_at = ?, message = ? WHERE status = ?",
                [
                    FAILED,
                    now(),
                    "interrupted: the sync's process ended before it finished; nothing of it "
                    "was published",
                    RUNNING,
                ],
            )
            sync_id = int(
                con.execute(
                    "SELECT greatest((SELECT coalesce(max(sync_id), 0) FROM syncs), "
                    "(SELECT coalesce(max(release_id), 0) FROM releases)) + 1"
                ).fetchall()[0][0]
            )
            con.execute(
                "INSERT INTO syncs (sync_id, started_at, source, status) VALUES (?, ?, ?, ?)",
                [sync_id, started_at, source, RUNNING],
            )
        return sync_id

    def fail_sync(self, sync_id: int, message: str, usage: dict | None = None) -> None:
        """Finish a sync's row as failed (in its own small transaction)."""
        with self.transaction() as con:
            finish_sync(con, sync_id, FAILED, message, usage or {})

    def note_on_sync(self, sync_id: int, message: str) -> None:
        """Add a warning to a finished sync's message (its status stays)."""
        with self.transaction() as con:
            con.execute(
                "UPDATE syncs SET message = concat_ws('; ', nullif(message, ''), ?) "
                "WHERE sync_id = ?",
                [message, sync_id],
            )


class Sources(NamedTuple):
    """Where a store's statistics came from: the sources of its raw periods and of every
    release it ever published."""

    raw: frozenset[str]
    releases: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.raw | self.releases

    def refusal(self, source: str) -> str | None:
        """Why a sync from `source` may not write here, or None: a store holds one source."""
        others = sorted(self.raw - {source})
        if not others:
            return None
        return (
            f"This Kanon store holds statistics fetched from {', '.join(others)}; a sync from "
            f"{source} would mix them into one release (its periods already fetched would be "
            f"published again as {source}'s). Nothing was fetched or changed. To use {source}, "
            f"start a new Kanon home: set KANON_HOME to a new, empty folder (e.g. "
            f"`KANON_HOME=~/kanon-{source} kanon sync --source {source}`)."
        )


def sources(con: duckdb.DuckDBPyConnection) -> Sources:
    raw = con.execute(
        "SELECT DISTINCT source FROM period_flags WHERE source IS NOT NULL"
    ).fetchall()
    releases = con.execute("SELECT DISTINCT coalesce(source, '(unknown)') FROM releases").fetchall()
    return Sources(frozenset(row[0] for row in raw), frozenset(row[0] for row in releases))


def finish_sync(
    con: duckdb.DuckDBPyConnection, sync_id: int, status: str, message: str, usage: dict
) -> None:
    values = {"finished_at": now(), "status": status, "message": message, **usage}
    assignments = ", ".join(f"{column} = ?" for column in values)
    con.execute(f"UPDATE syncs SET {assignments} WHERE sync_id = ?", [*values.values(), sync_id])


def next_release_id(con: duckdb.DuckDBPyConnection, sync_id: int) -> int:
    """The id of the release a sync publishes: its own sync id, unless a release already
    holds it (a store written before ids came from the store), then the next free one."""
    latest = con.execute("SELECT coalesce(max(release_id), 0) FROM releases").fetchall()[0][0]
    return max(int(sync_id), int(latest) + 1)


def cells_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: list | None = None
) -> pd.DataFrame:
    """A query's cells as a frame (periods as dates), through Arrow: several times faster than
    DuckDB's own conversion on a large release (benchmarks/bench_sync.py)."""
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

    One query instead of concatenating and de-duplicating in pandas: at large scales that was
    much of every daily sync (benchmarks/bench_sync.py)."""
    keys = ", ".join(CELL_COLUMNS)
    keep = "SELECT * FROM raw_cells WHERE period >= ?"
    params: list[object] = [first_day]
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
    con.register("incoming", _arrow(frame))  # quicker than scanning the pandas frame
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
    (quicker than checking the frame before), and the error rolls them back."""
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
    release's thousands (frozen periods never change), and writing every row of a large
    release takes time, inside the lock the dashboard waits for. Then the whole table
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
    return bool(con.execute(f"SELECT count(*) > ({distinct}) FROM release_cells").fetchall()[0][0])


def purge_before(con: duckdb.DuckDBPyConnection, first_day: date) -> int:
    """Delete every period that begins before the retention window, and every note whose last
    day is before it; returns rows deleted."""
    deleted = 0
    for table in RETAINED_TABLES:
        deleted += int(
            con.execute(f"DELETE FROM {table} WHERE period < ? RETURNING 1", [first_day])
            .df()
            .shape[0]
        )
    notes = con.execute("DELETE FROM notes WHERE last_day < ? RETURNING 1", [first_day])
    return deleted + len(notes.fetchall())


def release_proofs(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute("SELECT fingerprint FROM release_proofs").fetchall()
    return frozenset(row[0] for row in rows)


def latest_release(con: duckdb.DuckDBPyConnection) -> dict | None:
    frame = con.execute("SELECT * FROM releases ORDER BY release_id DESC LIMIT 1").df()
    if frame.empty:
        return None
    return frame.iloc[0].to_dict()


LOCK_WAIT_SECONDS = 3.0  # a sync holds the file at most about a second at a time
LOCK_POLL_SECONDS = 0.1


def _connect_with_retry(path: Path, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process open the file at a time; wait briefly for a sync's short
    connections to end, then say what holds it. A file that is not a DuckDB database (or is
    damaged) says so at once."""
    try:
        return retrying(
            lambda: duckdb.connect(str(path)),
            retry_on=_locked,
            delays=polling(LOCK_POLL_SECONDS, wait_seconds),
        )
    except duckdb.IOException as error:
        if not _locked(error):
            raise StoreError(damaged_message(path, error)) from None
        raise StoreError(
            f"The Kanon store {path} is in use by another program ({_holder(error)}), "
            f"and stayed so for {wait_seconds:g} s. If a sync is running, wait for it "
            "to finish and try again; otherwise close the program that holds the file "
            "(e.g. a `duckdb` shell)."
        ) from None
    except duckdb.Error as error:
        raise StoreError(damaged_message(path, error)) from None


def _locked(error: Exception) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def _holder(error: BaseException) -> str:
    """Which process DuckDB says holds the file, from its message."""
    text = str(error)
    start = text.find("Conflicting lock is held in ")
    if start < 0:
        return "a lock is held on it"
    return text[start + len("Conflicting lock is held in ") :].split(". See", 1)[0].strip()


def now() -> datetime:
    return datetime.now().replace(microsecond=0)
