"""The `bigquery_*` settings, and `make_connector` handing the connector only its own options."""

from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials

from connectors.base import ConnectorError
from kanon.settings import Settings, SettingsError, load_settings
from kanon.sources import bigquery_connector, make_connector


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("KANON_SETTINGS", "KANON_GA4_PROPERTY", "KANON_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANON_SOURCE", "bigquery")
    monkeypatch.setenv("KANON_BIGQUERY_PROJECT", "kanon-billing")
    monkeypatch.setenv("KANON_BIGQUERY_MAX_BYTES", "20971520")
    monkeypatch.setenv("KANON_BIGQUERY_ENDPOINT", "http://127.0.0.1:9050")
    settings = load_settings()
    assert settings.source == "bigquery" and settings.bigquery_project == "kanon-billing"
    assert settings.bigquery_max_bytes == 20 * 1024**2
    assert settings.bigquery_endpoint == "http://127.0.0.1:9050"


def test_a_budget_below_bigquerys_minimum_bill_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("KANON_BIGQUERY_MAX_BYTES", "1000")
    with pytest.raises(SettingsError, match="bigquery_max_bytes"):
        load_settings()


def test_the_dataset_defaults_to_the_properties_export() -> None:
    settings = Settings(ga4_property="123456789", bigquery_project="kanon-billing")
    connector = bigquery_connector(settings, credentials=AnonymousCredentials())
    assert (connector.data_project, connector.dataset) == ("kanon-billing", "analytics_123456789")
    assert connector.table == "`kanon-billing.analytics_123456789.events_*`"


def test_a_dataset_in_another_project() -> None:
    settings = Settings(bigquery_project="kanon-billing", bigquery_dataset="ga-data.analytics_9")
    connector = bigquery_connector(settings, credentials=AnonymousCredentials())
    assert connector.project == "kanon-billing"
    assert connector.table == "`ga-data.analytics_9.events_*`"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "KANON_BIGQUERY_PROJECT"),
        ({"bigquery_project": "kanon-billing"}, "KANON_BIGQUERY_DATASET"),
    ],
)
def test_missing_settings_are_named(settings: dict, named: str) -> None:
    with pytest.raises(ConnectorError, match=named):
        make_connector(Settings(**settings), "bigquery")
