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


@pytest.mark.parametrize(
    ("project", "dataset"),
    [
        (PROJECT, "analytics_1\n"),  # `$` alone let a trailing newline through
        ("kanon-test\n", DATASET),
        (PROJECT, "analytics_1`"),
        (PROJECT, "analytics_\u00e5"),  # \\w took any script's letters
        (PROJECT, "analytics_\u0661"),  # an Arabic-Indic digit
        (PROJECT, ""),
        ("KANON-TEST", DATASET),
    ],
)
def test_names_are_matched_whole(project: str, dataset: str) -> None:
    with pytest.raises(ValueError):
        events_table(project, dataset)


def _event(user, session, name, engaged, stamp, **extra) -> str:
    """One hand-made export row as DuckDB SQL."""
    params = []
    if session is not None:
        params.append(f"{{'key': 'ga_session_id', 'value': {_value(int_value=session)}}}")
    if engaged is not None:
        kind = "int_value" if isinstance(engaged, int) else "string_value"
        params.append(f"{{'key': 'session_engaged', 'value': {_value(**{kind: engaged})}}}")
    for key, value in extra.items():
        params.append(f"{{'key': '{key}', 'value': {_value(int_value=value)}}}")
    user_sql = "NULL::VARCHAR" if user is None else f"'{user}'"
    return (
        f"SELECT '20250601' AS event_date, {stamp}::BIGINT AS event_timestamp, "
        f"'{name}' AS event_name, [{', '.join(params)}] AS event_params, "
        f"{user_sql} AS user_pseudo_id, '20250601' AS _TABLE_SUFFIX"
    )


def _value(string_value=None, int_value=None) -> str:
    text = "NULL::VARCHAR" if string_value is None else f"'{string_value}'"
    number = "NULL::BIGINT" if int_value is None else f"{int_value}::BIGINT"
    return f"{{'string_value': {text}, 'int_value': {number}}}"


def test_how_hand_made_events_are_counted() -> None:
    """Sessions are (user, ga_session_id) pairs; `session_engaged` may be "1" or 1; events
    without user_pseudo_id or ga_session_id count toward nothing."""
    rows = [
        _event("a", 1, "session_start", "1", 0),
        _event("a", 1, "page_view", "1", 30_000_000, engagement_time_msec=4000),
        _event("a", 2, "page_view", 0, 0),  # the same visitor's second, unengaged session
        _event("b", 1, "page_view", 1, 0),  # engaged as an integer; same id, other visitor
        _event("b", None, "page_view", None, 0),  # no session id: not counted
        _event(None, 7, "page_view", "1", 0),  # cookieless ping: not counted
        _event(None, None, "page_view", None, 0),
    ]
    con = duckdb.connect()
    con.execute('CREATE VIEW "events_*" AS ' + " UNION ALL ".join(rows))
    request = ReportRequest(("date",), METRICS, date(2025, 6, 1), date(2025, 6, 1))
    row = answer(con, request).iloc[0]
    assert (row["activeUsers"], row["sessions"], row["screenPageViews"]) == (2, 3, 3)
    assert row["userEngagementDuration"] == 4
    assert row["engagementRate"] == 2 / 3 and row["averageSessionDuration"] == 10.0
