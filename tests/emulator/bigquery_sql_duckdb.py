"""Run the BigQuery connector's SQL on DuckDB: sqlglot's translation, plus what it cannot know.

sqlglot translates BigQuery to DuckDB, but it cannot know that `event_params` is an array of
structs, so its `Unnest` nodes over it are marked `explode_array` (BigQuery's UNNEST of an array
of structs yields the struct's fields as columns: the standard
`(SELECT value.int_value FROM UNNEST(event_params) WHERE key = ...)` pattern). The export's
wildcard table `project.dataset.events_*` becomes a DuckDB view named `events_*` with a
`_TABLE_SUFFIX` column, and `@name` parameters become DuckDB's `$name`.

Anything the translation cannot express raises `UntranslatableSql`, so a test fails on it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

WILDCARD_VIEW = "events_*"
NESTED_ARRAYS = ("event_params", "user_properties", "items")


class UntranslatableSql(ValueError):
    """The BigQuery SQL has no faithful DuckDB translation."""


def to_duckdb(sql: str) -> str:
    """BigQuery SQL as DuckDB SQL (tables reduced to their own name; see the module docstring)."""
    try:
        tree = sqlglot.parse_one(sql, read="bigquery", error_level=ErrorLevel.RAISE)
        for unnest in tree.find_all(exp.Unnest):
            if any(_names_array(e) for e in unnest.expressions):
                unnest.set("explode_array", True)
        for table in tree.find_all(exp.Table):
            table.set("db", None)
            table.set("catalog", None)
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        raise UntranslatableSql(f"sqlglot cannot translate the query: {error}") from error


def _names_array(expression: exp.Expression) -> bool:
    return isinstance(expression, exp.Column) and expression.name in NESTED_ARRAYS


def export_connection(folder: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over an export folder: `events_*` is every daily row plus the intraday rows, each
    with its table's `_TABLE_SUFFIX` (`YYYYMMDD`, or `intraday_YYYYMMDD`), as BigQuery's
    wildcard would match them."""
    con = duckdb.connect()
    daily = (Path(folder) / "events.parquet").as_posix()
    intraday = (Path(folder) / "events_intraday.parquet").as_posix()
    con.execute(
        f"""CREATE VIEW "{WILDCARD_VIEW}" AS
        SELECT *, event_date AS _TABLE_SUFFIX FROM read_parquet('{daily}')
        UNION ALL
        SELECT *, 'intraday_' || event_date AS _TABLE_SUFFIX FROM read_parquet('{intraday}')"""
    )
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, object]):
    """Translate and run; returns a DataFrame."""
    try:
        return con.execute(to_duckdb(sql), parameters).df()
    except duckdb.Error as error:
        raise UntranslatableSql(f"DuckDB could not run the translated query: {error}") from error
