"""The whole pipeline through GA4: same release as from the sample, and all-or-nothing on faults.

A full sync (protect and the attacker's audit included) is the slow part, so each of the two
reference syncs runs once per module; interrupted syncs then start from a copy of the GA4 one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials

from connectors.base import ConnectorError
from connectors.ga4 import GA4Connector, QuotaExhausted
from connectors.sample import SampleConnector
from kanon.settings import Settings
from kanon.sources import summary_facts
from kanon.store.duckdb_store import Store
from kanon.sync import SyncReport, sync
from tests.emulator.ga4_emulator import GA4Emulator
from tests.ga4.conftest import FAST, TODAY

pytestmark = pytest.mark.slow  # whole syncs: pull, protect, audit, publish

KEY = ["breakdown", "grain", "period", "category"]
# The shortest window keeps this quick; the code path is the same as for 14 months.
WINDOW = {"retention_months": 1, "settle_days": 3}


@pytest.fixture(scope="module", autouse=True)
def _direct_to_localhost() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        yield


def ga4_for(emulator: GA4Emulator, **options) -> GA4Connector:
    options = {"credentials": AnonymousCredentials(), "backoff": FAST, "max_retries": 2} | options
    return GA4Connector(emulator.property_id, endpoint=emulator.endpoint, **options)


@pytest.fixture(scope="module")
def direct(sample: SampleConnector, tmp_path_factory) -> Settings:
    """A sync straight from the sample connector."""
    settings = Settings(home=tmp_path_factory.mktemp("direct"), **WINDOW)
    sync(settings, sample, today=TODAY)
    return settings


@pytest.fixture(scope="module")
def through_ga4(
    sample: SampleConnector, tmp_path_factory
) -> tuple[Settings, SyncReport, GA4Connector, GA4Emulator]:
    """The same sync, through GA4Connector and the emulator in front of the same sample."""
    settings = Settings(home=tmp_path_factory.mktemp("ga4"), **WINDOW)
    with GA4Emulator(sample) as emulator:
        connector = ga4_for(emulator)
        report = sync(settings, connector, today=TODAY)
    return settings, report, connector, emulator


def release(settings: Settings) -> tuple[pd.DataFrame, dict]:
    cells, info = Store(settings.store_path).read_release()
    cells = cells.sort_values(KEY).reset_index(drop=True)
    return cells, {k: v for k, v in info.items() if k not in ("created_at", "source")}


def labels(settings: Settings) -> pd.DataFrame:
    frame = Store(settings.store_path).read_labels()
    return frame.sort_values(["breakdown", "category"]).reset_index(drop=True)


def test_ga4_sync_publishes_the_same_release_as_the_sample(direct, through_ga4) -> None:
    settings, report, connector, emulator = through_ga4
    expected_cells, expected_info = release(direct)
    actual_cells, actual_info = release(settings)
    assert len(actual_cells) > 0
    pd.testing.assert_frame_equal(expected_cells, actual_cells)
    assert actual_info == expected_info
    pd.testing.assert_frame_equal(labels(direct), labels(settings))
    pd.testing.assert_frame_equal(
        Store(direct.store_path).read_release_flags().sort_values(KEY[:3]).reset_index(drop=True),
        Store(settings.store_path).read_release_flags().sort_values(KEY[:3]).reset_index(drop=True),
    )
    # The sync's own record counts what GA4 was asked.
    assert report.requests == connector.requests_made == emulator.requests_served
    assert report.tokens == connector.tokens_used == emulator.tokens_charged > 0
    assert all(len(e.body["requests"]) <= 5 for e in emulator.calls(":batchRunReports"))


@pytest.mark.parametrize("fault", ["503", "truncate", "403", "quota"])
def test_interrupted_sync_keeps_the_previous_release(
    fault: str, through_ga4, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", **WINDOW)
    settings.home.mkdir()
    shutil.copy(through_ga4[0].store_path, settings.store_path)
    before_cells, before_info = release(settings)
    before_labels = labels(settings)

    later = TODAY + timedelta(days=10)  # new days, a new week: there is something to fetch
    budget = {"tokens_per_hour": 12} if fault == "quota" else {}
    with GA4Emulator(SampleConnector(seed=7, today=later), **budget) as emulator:
        connector = ga4_for(emulator, quota_reserve=5)
        if fault != "quota":
            emulator.inject(fault, times=10, match=":batchRunReports")
        expected = QuotaExhausted if fault == "quota" else ConnectorError
        with pytest.raises(expected):
            sync(settings, connector, today=later)
        assert emulator.requests_served >= 1

    after_cells, after_info = release(settings)
    pd.testing.assert_frame_equal(before_cells, after_cells)
    assert after_info == before_info
    pd.testing.assert_frame_equal(before_labels, labels(settings))
    syncs = Store(settings.store_path).syncs()
    assert list(syncs["status"])[:2] == ["failed", "ok"]


def test_the_release_records_the_time_zone_ga4_reported_in(through_ga4) -> None:
    settings = through_ga4[0]
    info = Store(settings.store_path).release_info()
    assert info["time_zone"] == "Europe/Oslo"  # from the Data API's response metadata
    facts = summary_facts(settings, info)
    assert (facts.source, facts.time_zone) == ("ga4", "Europe/Oslo")


def test_after_a_ga4_sync_the_sample_can_neither_sync_nor_show_it(through_ga4, tmp_path) -> None:
    """The reported attack: `kanon sync --source sample` over a GA4 store fetched nothing and
    republished GA4's cells labelled "sample", which developer mode then showed to anyone."""
    from kanon import developer
    from kanon.sync import SyncError

    settings = Settings(home=tmp_path / "home", **WINDOW)
    settings.home.mkdir()
    shutil.copy(through_ga4[0].store_path, settings.store_path)
    before_cells, before_info = release(settings)
    with pytest.raises(SyncError, match="fetched from ga4"):
        sync(settings, SampleConnector(seed=7, today=TODAY), today=TODAY)
    after_cells, after_info = release(settings)
    pd.testing.assert_frame_equal(before_cells, after_cells)
    assert after_info == before_info
    assert "came from ga4" in developer.refusal(settings)
