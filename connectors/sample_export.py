"""The sample property as GA4's BigQuery export: one row per event, nested as Google writes it.

GA4 exports a property's events to a dataset `analytics_<property>`: a table `events_YYYYMMDD`
per day (in the property's time zone), and `events_intraday_YYYYMMDD` for today while it lasts.
This module writes the same shape from the sample property (`connectors.sample_property`), so
the BigQuery connector's SQL can be run offline on data whose right answers are known: the
sample connector's figures for the same days.

Files written to a folder (Parquet, one file for all days; `event_date` is the table suffix):

- `events.parquet`: the daily tables' rows;
- `events_intraday.parquet`: a copy of the last day's events dated the day after, standing in
  for today's intraday table, which the connector must never read;
- `meta.json`: first and last day, time zone, counts.

Per session: a `session_start` event on its landing page, one `page_view` event per view and a
`user_engagement` event per page with engagement time (`engagement_time_msec`). Events are
spread over the session so that its last event comes exactly `sessionDuration` seconds after
its first. Every event carries `ga_session_id` and `session_engaged` ("1" for an engaged
session), `page_location` and `page_title`; `device`, `geo` and
`session_traffic_source_last_click` hold the session's technology, country and source.

Consent mode's cookieless pings are added too: for one session in 31, its page views are sent
again without `user_pseudo_id` (half of them also without `ga_session_id`). The sample
connector never sees them, so a connector that counts them gets figures that differ from it.

Differences from Google's export, none of which the connector's SQL depends on: `ga_session_id`
is the sample's session number (GA4 uses the session's start time in seconds; both are unique
per visitor), and only the fields Kanon reads or could be tempted to read are filled.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from connectors.errors import InvalidInput
from connectors.sample_property import SampleData
from connectors.sql_text import string_literal

TIME_ZONE = "Europe/Oslo"
SITE = "https://www.fjordlys.no"
COOKIELESS_EVERY = 31  # one session in this many also sends cookieless page views
QUERY_STRING_EVERY = 5  # one session in this many has a query string on its page locations
EXPORT_FORMAT = 1


def _days(first: date, last: date) -> pd.DataFrame:
    """Each day's ordinal, its table suffix and its midnight in the property's zone (UTC µs)."""
    zone = ZoneInfo(TIME_ZONE)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return pd.DataFrame(
        {
            "day": [d.toordinal() for d in days],
            "event_date": [d.strftime("%Y%m%d") for d in days],
            "midnight": [
                int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp()) * 1_000_000
                for d in days
            ],
        }
    )


# Event rows before nesting: (sid, order within the session, name, page row, engagement ms).
_EVENTS_SQL = """
WITH pv AS (SELECT *, row_number() OVER () AS page_row FROM pageviews),
landing AS (SELECT sid, min(page_row) AS page_row FROM pv GROUP BY sid),
flat AS (
    SELECT sid, page_row, 0 AS kind, 0 AS k, 'session_start' AS event_name,
           NULL::BIGINT AS engagement_msec
    FROM landing
    UNION ALL
    SELECT sid, page_row, 1, k.k, 'page_view', NULL FROM pv, range(views) AS k(k)
    UNION ALL
    SELECT sid, page_row, 2, 0, 'user_engagement', engagement::BIGINT * 1000
    FROM pv WHERE engagement > 0
),
ordered AS (
    SELECT f.*,
           row_number() OVER (PARTITION BY f.sid ORDER BY f.kind = 0 DESC, f.page_row, f.kind, f.k)
               - 1 AS i,
           count(*) OVER (PARTITION BY f.sid) AS n
    FROM flat f
)
SELECT
    d.event_date,
    d.midnight
        + ((hash(s.sid) % GREATEST(1, 86400 - s.sessionDuration)) * 1000000)::BIGINT
        + (s.sessionDuration::BIGINT * 1000000 * o.i) // GREATEST(o.n - 1, 1) AS event_timestamp,
    o.event_name,
    [
        {'key': 'ga_session_id', 'value': {'string_value': NULL::VARCHAR,
            'int_value': s.sid::BIGINT, 'float_value': NULL::DOUBLE,
            'double_value': NULL::DOUBLE}},
        {'key': 'page_location', 'value': {'string_value': $site || p.pagePath
            || CASE WHEN s.sid % $query_every = 0 THEN '?ref=nyhetsbrev#top' ELSE '' END,
            'int_value': NULL, 'float_value': NULL, 'double_value': NULL}},
        {'key': 'page_title', 'value': {'string_value': p.pageTitle::VARCHAR,
            'int_value': NULL, 'float_value': NULL, 'double_value': NULL}},
        {'key': 'session_engaged', 'value': {'string_value':
            CASE WHEN s.engaged THEN '1' ELSE '0' END,
            'int_value': NULL, 'float_value': NULL, 'double_value': NULL}}
    ] || CASE WHEN o.engagement_msec IS NULL THEN [] ELSE [
        {'key': 'engagement_time_msec', 'value': {'string_value': NULL::VARCHAR,
            'int_value': o.engagement_msec, 'float_value': NULL::DOUBLE,
            'double_value': NULL::DOUBLE}}
    ] END AS event_params,
    CAST(s.uid AS VARCHAR) || '.1700000000' AS user_pseudo_id,
    {'category': s.deviceCategory::VARCHAR, 'operating_system': s.operatingSystem::VARCHAR,
     'web_info': {'browser': s.browser::VARCHAR, 'hostname': 'www.fjordlys.no'}} AS device,
    {'country': s.country::VARCHAR, 'city': '(not set)'} AS geo,
    {'manual_campaign': {'source': s.sessionSource::VARCHAR,
                         'medium': s.sessionMedium::VARCHAR},
     'cross_channel_campaign': {'source': s.sessionSource::VARCHAR,
                                'medium': s.sessionMedium::VARCHAR,
                                'default_channel_group': s.sessionDefaultChannelGroup::VARCHAR}}
        AS session_traffic_source_last_click
FROM ordered o
JOIN sessions s ON s.sid = o.sid
JOIN pv p ON p.page_row = o.page_row
JOIN days d ON d.day = s.day
WHERE s.day BETWEEN $first AND $last
"""

# Cookieless pings: the page views of some sessions again, without user_pseudo_id.
_COOKIELESS_SQL = """
SELECT event_date, event_timestamp + 1 AS event_timestamp, event_name,
       CASE WHEN (event_params[1].value.int_value // $every) % 2 = 0 THEN event_params
            ELSE [p FOR p IN event_params IF p.key <> 'ga_session_id'] END AS event_params,
       NULL::VARCHAR AS user_pseudo_id, device, geo, session_traffic_source_last_click
FROM events
WHERE event_name = 'page_view' AND event_params[1].value.int_value % $every = 0
"""


def write_export(
    folder: Path, data: SampleData, first: date | None = None, last: date | None = None
) -> Path:
    """Write the export of `data`'s days `first`..`last` (default: all of them) to `folder`."""
    first = max(first or data.first_day, data.first_day)
    last = min(last or data.last_day, data.last_day)
    if first > last:
        raise InvalidInput(f"No sample days between {first} and {last}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.register("sessions", data.sessions)
        con.register("pageviews", data.pageviews)
        con.register("days", _days(first, last))
        params = {
            "first": first.toordinal(),
            "last": last.toordinal(),
            "site": SITE,
            "query_every": QUERY_STRING_EVERY,
        }
        con.execute(f"CREATE TABLE events AS {_EVENTS_SQL}", params)
        con.execute(f"INSERT INTO events {_COOKIELESS_SQL}", {"every": COOKIELESS_EVERY})
        con.execute(
            "COPY (SELECT * FROM events ORDER BY event_date, event_timestamp) "
            f"TO {string_literal(folder / 'events.parquet')} (FORMAT parquet)"
        )
        today = (last + timedelta(days=1)).strftime("%Y%m%d")
        con.execute(
            f"COPY (SELECT * REPLACE ('{today}' AS event_date, "
            "event_timestamp + 86400000000 AS event_timestamp) FROM events "
            f"WHERE event_date = '{last:%Y%m%d}') "
            f"TO {string_literal(folder / 'events_intraday.parquet')} (FORMAT parquet)"
        )
        counts = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE user_pseudo_id IS NULL) FROM events"
        ).fetchall()[0]
    finally:
        con.close()
    meta = {
        "format": EXPORT_FORMAT,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "time_zone": TIME_ZONE,
        "events": int(counts[0]),
        "cookieless_events": int(counts[1]),
        "seed": data.seed,
        "scale": data.scale,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def read_meta(folder: Path) -> dict:
    """The meta.json of an export folder written by `write_export`."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} holds no sample export: write one with `kanon sample --bigquery-export`."
        )
    return json.loads(path.read_text(encoding="utf-8"))
