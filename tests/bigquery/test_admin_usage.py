"""The Admin page's BigQuery line: bytes processed and billed, from the sync history."""

from __future__ import annotations

import pandas as pd

from kanon.ui.admin_panels import bigquery_usage


def history(**columns) -> pd.DataFrame:
    base = {
        "sync_id": [3, 2, 1],
        "started_at": pd.to_datetime(["2025-07-10", "2025-07-09", "2025-05-01"]),
        "source": ["bigquery", "ga4", "bigquery"],
    }
    return pd.DataFrame({**base, **columns})


def test_bytes_of_the_last_sync_and_the_last_30_days() -> None:
    lines = bigquery_usage(
        history(bytes_processed=[2e9, None, 5e9], bytes_billed=[2.5e9, None, 6e9])
    )
    assert lines == [
        "BigQuery: the last sync processed 2.00 GB; the last 30 days' syncs processed 2.00 GB "
        "and billed 2.50 GB (bigquery_max_bytes caps each query)."
    ]


def test_nothing_to_say_without_bigquery_syncs_or_the_columns() -> None:
    assert bigquery_usage(history()) == []
    assert bigquery_usage(history(bytes_processed=[None, 10.0, None])) == []
