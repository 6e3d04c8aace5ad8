"""Fixtures for the BigQuery tests: a small sample export, the fake in front of it, connectors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from connectors.bigquery import BigQueryConnector
from connectors.sample import SampleConnector
from connectors.sample_export import write_export
from tests.emulator.bigquery_fake import BigQueryFake

TODAY = date(2025, 6, 30)
# Ten weeks: more than the one-month window the sync tests keep, every grain at least twice.
EXPORT_FROM = TODAY - timedelta(days=70)
PROJECT, DATASET = "kanon-test", "analytics_123456789"


def clock(day: date = TODAY) -> Callable[[], datetime]:
    return lambda: datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Talk to 127.0.0.1 directly, and never pick up the developer's own Google credentials."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)


@pytest.fixture(scope="session")
def sample() -> SampleConnector:
    return SampleConnector(seed=7, today=TODAY)


@pytest.fixture(scope="session")
def export(sample: SampleConnector, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"), sample.data, first=EXPORT_FROM)


@pytest.fixture
def fake(export: Path) -> Iterator[BigQueryFake]:
    with BigQueryFake(export) as running:
        yield running


def connector_for(fake: BigQueryFake, **options: Any) -> BigQueryConnector:
    settings: dict[str, Any] = {
        "endpoint": fake.endpoint,
        "credentials": AnonymousCredentials(),
        "time_zone": "Europe/Oslo",
        "clock": clock(),
        "timeout": 30.0,
    }
    settings.update(options)
    return BigQueryConnector(PROJECT, DATASET, **settings)
