"""The connector's own BigQuery SQL, translated by sqlglot and run on the sample export, gives
exactly the sample connector's rows for every request a sync makes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.base import ReportRequest
from connectors.bigquery import _frame
from connectors.bigquery_sql import events_table, report_query
from connectors.catalog import METRICS
from connectors.sample import SampleConnector
from kanon.sync import plan
from reports.grid import Window
from tests.bigquery.conftest import DATASET, EXPORT_FROM, PROJECT, TODAY
from tests.emulator.bigquery_sql_duckdb import UntranslatableSql, export_connection, run, to_duckdb

TABLE = events_table(PROJECT, DATASET)


@pytest.fixture(scope="module")
def con(export: Path) -> duckdb.DuckDBPyConnection:
    return export_connection(export)


def answer(con: duckdb.DuckDBPyConnection, request: ReportRequest) -> pd.DataFrame:
    """The connector's SQL for `request`, run through the translation, shaped as it shapes it."""
    query = report_query(request, TABLE)
    rows = run(con, query.sql, query.parameters)
    return _frame(rows.to_dict("records"), request)


def sync_requests() -> list[ReportRequest]:
    """Every request a first sync makes over a two-month window (so May is a whole month in it),
    plus its page-title request."""
    window = Window.on(TODAY, retention_months=2, settle_days=3)
    assert window.first_day >= EXPORT_FROM
    requests = [pull.request for pull in plan(window, pd.DataFrame(columns=["breakdown"]))]
    titles = ReportRequest(
        ("pagePath", "pageTitle"), ("screenPageViews",), window.first_day, window.last_settled
    )
    return [*requests, titles]


REQUESTS = sync_requests()


@pytest.mark.parametrize(
    "request_", REQUESTS, ids=[f"{'-'.join(r.dimensions)}-{r.start}" for r in REQUESTS]
)
def test_translated_sql_equals_the_sample_connector(
    con: duckdb.DuckDBPyConnection, sample: SampleConnector, request_: ReportRequest
) -> None:
    expected = sample.run(request_).rows
    actual = answer(con, request_)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)


def test_every_breakdown_and_grain_is_covered() -> None:
    shapes = {r.dimensions for r in REQUESTS}
    assert ("date",) in shapes and ("isoYearIsoWeek", "pagePath") in shapes
    assert ("yearMonth", "sessionSource", "sessionMedium") in shapes
    assert len(shapes) == 23 + 1  # 7 breakdowns x 3 grains + pages x 2, and the titles


def test_page_title_alone_merges_a_sessions_pages(
    con: duckdb.DuckDBPyConnection, sample: SampleConnector
) -> None:
    """Titles repeat across paths ("(not set)"): a session counts once per title."""
    request = ReportRequest(("pageTitle",), METRICS, date(2025, 6, 2), date(2025, 6, 8))
    pd.testing.assert_frame_equal(answer(con, request), sample.run(request).rows)


def test_cookieless_events_are_in_the_export_and_count_toward_nothing(
    con: duckdb.DuckDBPyConnection, sample: SampleConnector
) -> None:
    """Consent mode's pings without user_pseudo_id: no users, no sessions, no views."""
    day = date(2025, 6, 10)
    cookieless = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE len([p FOR p IN event_params
                                                       IF p.key = 'ga_session_id']) > 0)
           FROM "events_*" WHERE user_pseudo_id IS NULL AND _TABLE_SUFFIX = ?""",
        [day.strftime("%Y%m%d")],
    ).fetchone()
    assert cookieless[0] > 0 and 0 < cookieless[1] < cookieless[0]  # with and without a session
    request = ReportRequest(("date", "pagePath"), METRICS, day, day)
    pd.testing.assert_frame_equal(answer(con, request), sample.run(request).rows)
    # Were they counted, the site's views would exceed the sample's by exactly their number.
    site = ReportRequest(("date",), ("screenPageViews",), day, day)
    assert (
        answer(con, site)["screenPageViews"].iloc[0]
        == sample.run(site).rows["screenPageViews"].iloc[0]
    )


def test_counts_are_exact_distinct_counts() -> None:
    """BigQuery's COUNT(DISTINCT) is exact; no approximate (HyperLogLog++) function is used."""
    sql = report_query(REQUESTS[0], TABLE).sql.upper()
    assert "COUNT(DISTINCT USER_PSEUDO_ID)" in sql
    assert not re.search(r"APPROX_|HLL_COUNT", sql)


def test_values_are_parameters_and_only_the_days_asked_are_read(
    con: duckdb.DuckDBPyConnection,
) -> None:
    request = ReportRequest(("date",), ("sessions",), date(2025, 6, 1), date(2025, 6, 3))
    query = report_query(request, TABLE)
    assert "2025" not in query.sql and "@first_day" in query.sql and "@last_day" in query.sql
    assert query.parameters == {"first_day": "20250601", "last_day": "20250603"}
    assert list(answer(con, request)["date"]) == ["20250601", "20250602", "20250603"]


def test_the_intraday_table_is_never_read(con: duckdb.DuckDBPyConnection) -> None:
    """Today's intraday rows match `events_*` in BigQuery too; the suffix bounds exclude them."""
    intraday = con.execute(
        """SELECT count(*) FROM "events_*" WHERE _TABLE_SUFFIX = 'intraday_20250630'"""
    ).fetchone()[0]
    assert intraday > 0
    request = ReportRequest(("date",), ("sessions",), TODAY - timedelta(days=1), TODAY)
    assert list(answer(con, request)["date"]) == ["20250629"]


def test_sql_the_translation_cannot_run_fails(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UntranslatableSql):
        to_duckdb("SELECT FROM WHERE (")
    with pytest.raises(UntranslatableSql):
        run(con, "SELECT no_such_function(event_date) FROM `p.d.events_*`", {})


def test_only_plain_names_reach_the_sql() -> None:
    with pytest.raises(ValueError, match="project id"):
        events_table("kanon-test`; DROP TABLE x; --", DATASET)
    with pytest.raises(ValueError, match="dataset"):
        events_table(PROJECT, "analytics.x")
