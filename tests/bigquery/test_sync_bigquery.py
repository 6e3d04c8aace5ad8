"""The whole pipeline through BigQuery: the same release as from the sample, and an over-budget
dry run stops the sync with the previous release intact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from connectors.bigquery import MIN_BILLED_BYTES, OverBudget
from connectors.sample import SampleConnector
from kanon.settings import Settings
from kanon.store.duckdb_store import Store
from kanon.sync import sync
from tests.bigquery.conftest import TODAY, clock, connector_for
from tests.emulator.bigquery_fake import BigQueryFake
from tests.emulator.ga4_emulator import service_account_key

pytestmark = pytest.mark.slow  # whole syncs: pull, protect, audit, publish

KEY = ["breakdown", "grain", "period", "category"]
WINDOW = {"retention_months": 1, "settle_days": 3}
EARLIER = TODAY - timedelta(days=10)


def release(settings: Settings) -> tuple[pd.DataFrame, dict]:
    cells, info = Store(settings.store_path).read_release()
    cells = cells.sort_values(KEY).reset_index(drop=True)
    return cells, {k: v for k, v in info.items() if k not in ("created_at", "source")}


def labels(settings: Settings) -> pd.DataFrame:
    frame = Store(settings.store_path).read_labels()
    return frame.sort_values(["breakdown", "category"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def through_bigquery(export: Path, tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("bigquery"), **WINDOW)
    with BigQueryFake(export) as fake:
        sync(settings, connector_for(fake, clock=clock(EARLIER)), today=EARLIER)
    return settings


def test_bigquery_sync_publishes_the_same_release_as_the_sample(
    through_bigquery: Settings, sample: SampleConnector, tmp_path: Path
) -> None:
    direct = Settings(home=tmp_path / "direct", **WINDOW)
    sync(direct, sample, today=EARLIER)
    expected_cells, expected_info = release(direct)
    actual_cells, actual_info = release(through_bigquery)
    assert len(actual_cells) > 0
    pd.testing.assert_frame_equal(expected_cells, actual_cells)
    assert actual_info == expected_info
    pd.testing.assert_frame_equal(labels(direct), labels(through_bigquery))
    history = Store(through_bigquery.store_path).syncs()
    assert history.iloc[0]["source"] == "bigquery" and history.iloc[0]["requests"] > 0
    assert history.iloc[0]["bytes_processed"] > 0 and history.iloc[0]["bytes_billed"] > 0
    sample_history = Store(direct.store_path).syncs()
    assert pd.isna(sample_history.iloc[0]["bytes_processed"])  # only BigQuery bills bytes


def test_an_over_budget_dry_run_stops_the_sync_and_keeps_the_release(
    through_bigquery: Settings, export: Path, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", **WINDOW)
    settings.home.mkdir()
    shutil.copy(through_bigquery.store_path, settings.store_path)
    before_cells, before_info = release(settings)
    with BigQueryFake(export, bytes_factor=10_000) as fake:
        connector = connector_for(fake, max_bytes=MIN_BILLED_BYTES)
        with pytest.raises(OverBudget, match="KANON_BIGQUERY_MAX_BYTES"):
            sync(settings, connector, today=TODAY)
        assert fake.query_jobs(dry_run=False) == []
    after_cells, after_info = release(settings)
    pd.testing.assert_frame_equal(before_cells, after_cells)
    assert after_info == before_info
    last = Store(settings.store_path).syncs().iloc[0]
    assert last["status"] == "failed" and "bigquery_max_bytes" in last["message"]


def kanon(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "KANON_HOME": str(home),
        "KANON_RETENTION_MONTHS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        **env,
    }
    environment.pop("KANON_SETTINGS", None)
    return subprocess.run(
        [sys.executable, "-m", "kanon.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_kanon_sync_source_bigquery_publishes_what_source_sample_does(tmp_path: Path) -> None:
    """The command line, as a user runs it: `kanon sample --bigquery-export`, the fake in front
    of the export it wrote, then `kanon sync --source bigquery` and `--source sample`."""
    sample_home, bigquery_home = tmp_path / "sample", tmp_path / "bigquery"
    made = kanon(sample_home, "sample", "--bigquery-export")
    assert made.returncode == 0, made.stderr
    assert (sample_home / "bigquery_export" / "events.parquet").is_file()
    assert kanon(sample_home, "sync", "--source", "sample").returncode == 0

    key = tmp_path / "key.json"
    with BigQueryFake(sample_home / "bigquery_export") as fake:
        key.write_text(json.dumps(service_account_key(f"{fake.endpoint}/token")[0]))
        synced = kanon(
            bigquery_home,
            "sync",
            "--source",
            "bigquery",
            GOOGLE_APPLICATION_CREDENTIALS=str(key),
            KANON_BIGQUERY_ENDPOINT=fake.endpoint,
            KANON_BIGQUERY_PROJECT="kanon-sample",
            KANON_GA4_PROPERTY="123456789",
            KANON_BIGQUERY_TIME_ZONE="Europe/Oslo",
        )
        assert synced.returncode == 0, synced.stderr
        assert fake.query_jobs(dry_run=False)
        assert not any(path.endswith("/token") for _, path in fake.requests)  # self-signed JWT
    expected = release(Settings(home=sample_home, **WINDOW))
    actual = release(Settings(home=bigquery_home, **WINDOW))
    assert len(actual[0]) > 0
    pd.testing.assert_frame_equal(expected[0], actual[0])
    assert actual[1] == expected[1]
