"""The BigQuery SQL behind every report: written once, in BigQuery's dialect, over `events_*`.

One query per report request. It reads only the day tables the request covers (`_TABLE_SUFFIX`
between two query parameters, so BigQuery scans no other day and never an `events_intraday_*`
table: their suffixes start with a letter, outside any range of dates), builds one row per
session (or per session and page) the way the sample connector's facts are built, and returns
one aggregate row per combination of the requested dimensions. Values are never formatted into
the text: the dates are parameters, and the only names in it (dimensions, metrics, the table)
come from the allow-list and from validated settings.

How figures are counted:

- A session is a (`user_pseudo_id`, `ga_session_id`) pair; its date is that of its first event,
  its source, medium, channel, device, browser, operating system and country those of its events
  (session-scoped: `session_traffic_source_last_click`, the same on every event of a session).
- `activeUsers` is COUNT(DISTINCT user_pseudo_id) and `sessions` a count of distinct sessions:
  exact counts, where the Data API estimates both with HyperLogLog++.
- `screenPageViews` counts `page_view` events, `userEngagementDuration` sums
  `engagement_time_msec` (in whole seconds), `averageSessionDuration` is the mean time from a
  session's first to its last event, `engagementRate` the share of sessions with
  `session_engaged` = "1" (or 1), `bounceRate` the rest.
- With a page dimension a row's sessions and users are those that viewed the page (rows share
  sessions); its views and engagement are those of the page.
- Events without `user_pseudo_id` (consent mode's cookieless pings) are not counted at all, nor
  are events without `ga_session_id`. Kanon's unit of protection is a visitor: every figure in a
  cell must belong to the visitors counted in it, so that a cell's users decide whether it is
  shown. A cookieless ping belongs to no countable visitor, and its `ga_session_id` (a start
  time in seconds) cannot tell two cookieless visitors apart, so counting its session or views
  would publish figures no visitor count stands behind. GA4's own reports fill this gap with
  modelled estimates (behavioural modelling), which an export does not contain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from connectors.base import ReportRequest
from connectors.catalog import DIMENSIONS, METRICS

PAGE_DIMENSIONS = ("pagePath", "pageTitle")
TIME_DIMENSIONS = ("date", "isoYearIsoWeek", "yearMonth")
NOT_SET = "(not set)"

# Session-scoped dimensions, read from every event and taken once per session.
SESSION_FIELDS = {
    "sessionSource": "session_traffic_source_last_click.cross_channel_campaign.source",
    "sessionMedium": "session_traffic_source_last_click.cross_channel_campaign.medium",
    "sessionDefaultChannelGroup": (
        "session_traffic_source_last_click.cross_channel_campaign.default_channel_group"
    ),
    "browser": "device.web_info.browser",
    "deviceCategory": "device.category",
    "operatingSystem": "device.operating_system",
    "country": "geo.country",
}
# GA4's time dimensions, from the session's date (event_date, YYYYMMDD in the property's zone).
TIME_FORMATS = {"date": "%Y%m%d", "isoYearIsoWeek": "%G%V", "yearMonth": "%Y%m"}
# pagePath is page_location without scheme, host, query string and fragment.
PATH_PATTERN = r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*([^?#]*)"

# Over `facts`: one row per session, or per session and page.
METRIC_SQL = {
    "activeUsers": "COUNT(DISTINCT user_pseudo_id)",
    "sessions": "COUNT(*)",
    "screenPageViews": "SUM(views)",
    "userEngagementDuration": "CAST(ROUND(SUM(engagement_msec) / 1000) AS INT64)",
    # One division of exact integer sums: the same double as the mean of whole seconds.
    "averageSessionDuration": "SAFE_DIVIDE(SUM(duration_micros), COUNT(*) * 1000000)",
    "engagementRate": "SAFE_DIVIDE(COUNTIF(engaged), COUNT(*))",
    "bounceRate": "1 - SAFE_DIVIDE(COUNTIF(engaged), COUNT(*))",
}

# Whole names only (fullmatch): `$` alone lets a trailing newline through, and \w any
# script's letters; BigQuery's names are ASCII.
_PROJECT = re.compile(r"(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]", re.ASCII)
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}", re.ASCII)


@dataclass(frozen=True)
class Query:
    """BigQuery SQL and its parameters (name -> STRING value)."""

    sql: str
    parameters: dict[str, str]


def events_table(project: str, dataset: str) -> str:
    """The wildcard table of a GA4 export, quoted; refuses names that are not plain names."""
    if not _PROJECT.fullmatch(project):
        raise ValueError(
            f"{project!r} is not a Google Cloud project id (6 to 30 lowercase letters, digits "
            "and hyphens, starting with a letter)."
        )
    if not _DATASET.fullmatch(dataset):
        raise ValueError(f"{dataset!r} is not a BigQuery dataset name (letters, digits, _).")
    return f"`{project}.{dataset}.events_*`"


def suffix(day: date) -> str:
    """A daily export table's suffix: the day as YYYYMMDD."""
    return day.strftime("%Y%m%d")


def report_query(request: ReportRequest, table: str) -> Query:
    """The query answering `request` from the export's `table` (see `events_table`)."""
    unknown = [n for n in (*request.dimensions, *request.metrics) if n not in DIMENSIONS + METRICS]
    if unknown:  # ReportRequest already refuses these; the SQL never names anything else
        raise ValueError(f"Not in the allow-list: {', '.join(unknown)}")
    pages = any(d in PAGE_DIMENSIONS for d in request.dimensions)
    sql = "\n".join(
        [
            "WITH events AS (",
            _events_sql(request.dimensions, table),
            "),",
            "sessions AS (",
            _sessions_sql(request.dimensions),
            ")" + (",\npages AS (\n" + _pages_sql(request.dimensions) + "\n)" if pages else ""),
            _aggregate_sql(request, pages),
        ]
    )
    return Query(sql, {"first_day": suffix(request.start), "last_day": suffix(request.end)})


def _param(key: str, kind: str) -> str:
    return f"(SELECT value.{kind} FROM UNNEST(event_params) WHERE key = '{key}')"


def _events_sql(dimensions: tuple[str, ...], table: str) -> str:
    columns = [
        "event_date",
        "event_name",
        "event_timestamp",
        "user_pseudo_id",
        f"{_param('ga_session_id', 'int_value')} AS ga_session_id",
        # "1" as a string on web streams; some streams send it as an integer.
        "(SELECT COALESCE(value.string_value, CAST(value.int_value AS STRING))"
        " FROM UNNEST(event_params) WHERE key = 'session_engaged') AS session_engaged",
        f"{_param('engagement_time_msec', 'int_value')} AS engagement_msec",
    ]
    columns += [f"{SESSION_FIELDS[d]} AS {d}" for d in dimensions if d in SESSION_FIELDS]
    if "pagePath" in dimensions:
        location = _param("page_location", "string_value")
        columns.append(f"REGEXP_EXTRACT({location}, r'{PATH_PATTERN}') AS pagePath")
    if "pageTitle" in dimensions:
        columns.append(f"{_param('page_title', 'string_value')} AS pageTitle")
    return (
        "  SELECT\n    "
        + ",\n    ".join(columns)
        + f"\n  FROM {table}\n"
        + "  WHERE _TABLE_SUFFIX BETWEEN @first_day AND @last_day\n"
        + "    AND user_pseudo_id IS NOT NULL"
    )


def _sessions_sql(dimensions: tuple[str, ...]) -> str:
    columns = [
        "user_pseudo_id",
        "ga_session_id",
        "MIN(event_date) AS event_date",
        "COUNTIF(event_name = 'page_view') AS views",
        "IFNULL(SUM(engagement_msec), 0) AS engagement_msec",
        "MAX(event_timestamp) - MIN(event_timestamp) AS duration_micros",
        "LOGICAL_OR(IFNULL(session_engaged = '1', FALSE)) AS engaged",
    ]
    columns += [f"ANY_VALUE({d}) AS {d}" for d in dimensions if d in SESSION_FIELDS]
    return (
        "  SELECT\n    "
        + ",\n    ".join(columns)
        + "\n  FROM events\n  WHERE ga_session_id IS NOT NULL\n"
        + "  GROUP BY user_pseudo_id, ga_session_id"
    )


def _pages_sql(dimensions: tuple[str, ...]) -> str:
    """One row per session and page (path, title, or both): the page's views and engagement."""
    keys = [d for d in PAGE_DIMENSIONS if d in dimensions]
    columns = [
        "user_pseudo_id",
        "ga_session_id",
        *keys,
        "COUNTIF(event_name = 'page_view') AS views",
        "IFNULL(SUM(engagement_msec), 0) AS engagement_msec",
    ]
    return (
        "  SELECT\n    "
        + ",\n    ".join(columns)
        + "\n  FROM events\n  WHERE ga_session_id IS NOT NULL\n"
        + f"  GROUP BY user_pseudo_id, ga_session_id, {', '.join(keys)}"
    )


def _dimension_sql(dimension: str, facts: str, sessions: str) -> str:
    if dimension in TIME_FORMATS:
        day = f"PARSE_DATE('%Y%m%d', {sessions}.event_date)"
        return f"FORMAT_DATE('{TIME_FORMATS[dimension]}', {day})"
    owner = facts if dimension in PAGE_DIMENSIONS else sessions
    return f"IFNULL(CAST({owner}.{dimension} AS STRING), '{NOT_SET}')"


def _aggregate_sql(request: ReportRequest, pages: bool) -> str:
    if pages:
        facts = (
            "  SELECT p.*, s.event_date, s.duration_micros, s.engaged"
            + "".join(f", s.{d}" for d in request.dimensions if d in SESSION_FIELDS)
            + "\n  FROM pages p JOIN sessions s"
            + " USING (user_pseudo_id, ga_session_id)"
        )
    else:
        facts = "  SELECT * FROM sessions"
    dims = [f"{_dimension_sql(d, 'f', 'f')} AS {d}" for d in request.dimensions]
    values = [f"{METRIC_SQL[m]} AS {m}" for m in request.metrics]
    group = ""
    if request.dimensions:
        group = "\nGROUP BY " + ", ".join(str(i + 1) for i in range(len(dims)))
    return (
        "SELECT\n  "
        + ",\n  ".join(dims + values)
        + f"\nFROM (\n{facts}\n) AS f"
        + group
        + ("\nORDER BY " + ", ".join(str(i + 1) for i in range(len(dims))) if dims else "")
    )
