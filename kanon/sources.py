"""Which connector answers a sync: the sample property, the GA4 Data API or its BigQuery export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.base import Connector, ConnectorError
from kanon import i18n
from kanon.errors import InvalidInput
from kanon.settings import Settings
from reports.export import Facts

if TYPE_CHECKING:
    from connectors.bigquery import BigQueryConnector
    from connectors.ga4 import GA4Connector
    from reports.protect import Release

SOURCES = ("sample", "ga4", "bigquery")


def sample_folder(settings: Settings) -> Path:
    """Where `kanon sample` writes a regenerated property; the committed one is the default."""
    return settings.home / "sample"


def bigquery_export_folder(settings: Settings) -> Path:
    """Where `kanon sample --bigquery-export` writes the sample as GA4's BigQuery export."""
    return settings.home / "bigquery_export"


def make_connector(settings: Settings, source: str | None = None) -> Connector:
    source = source or settings.source
    if source == "ga4":
        return ga4_connector(settings)
    if source == "bigquery":
        return bigquery_connector(settings)
    if source != "sample":
        raise InvalidInput(f"Unknown source {source!r}; choose one of {', '.join(SOURCES)}.")
    from connectors.sample import SampleConnector

    folder = sample_folder(settings)
    if folder.is_dir():
        return SampleConnector(data_dir=folder)
    return SampleConnector(seed=settings.sample_seed)


def ga4_connector(settings: Settings, **overrides: Any) -> GA4Connector:
    """The Data API connector, handed only its own options (the connector never reads Settings)."""
    from connectors.ga4 import GA4Connector

    if not settings.ga4_property:
        raise ConnectorError(
            "No GA4 property configured. Set KANON_GA4_PROPERTY (or ga4_property in "
            "kanon.toml) to the numeric property id from GA4 Admin → Property settings."
        )
    options: dict[str, Any] = {
        "endpoint": settings.ga4_endpoint,
        "max_retries": settings.ga4_max_retries,
        "quota_reserve": settings.ga4_quota_reserve,
        **overrides,
    }
    return GA4Connector(settings.ga4_property, **options)


def bigquery_connector(settings: Settings, **overrides: Any) -> BigQueryConnector:
    """The export connector, handed only its own options (it never reads Settings)."""
    from connectors.bigquery import BigQueryConnector

    if not settings.bigquery_project:
        raise ConnectorError(
            "No BigQuery project configured. Set KANON_BIGQUERY_PROJECT (or bigquery_project in "
            "kanon.toml) to the Google Cloud project that runs (and pays for) the queries."
        )
    dataset = settings.bigquery_dataset
    if not dataset:
        if not settings.ga4_property:
            raise ConnectorError(
                "No BigQuery dataset configured. Set KANON_BIGQUERY_DATASET to the GA4 export's "
                "dataset (analytics_<property id>), or KANON_GA4_PROPERTY to the property id."
            )
        dataset = f"analytics_{settings.ga4_property}"
    options: dict[str, Any] = {
        "location": settings.bigquery_location,
        "max_bytes": settings.bigquery_max_bytes,
        "endpoint": settings.bigquery_endpoint,
        "time_zone": settings.bigquery_time_zone,
        **overrides,
    }
    return BigQueryConnector(settings.bigquery_project, dataset, **options)


GA4_TIME_ZONE = "the GA4 property's reporting time zone (GA4 Admin → Property settings)"


def summary_facts(settings: Settings, info: dict) -> Facts:
    """What a summary's provenance says about the property behind a release (its `info`)."""
    source = str(info.get("source") or settings.source)
    zone = info.get("time_zone")
    if not isinstance(zone, str) or not zone:  # a release from before Kanon recorded the zone
        from connectors.sample import TIME_ZONE

        zone = TIME_ZONE if source == "sample" else GA4_TIME_ZONE
    property_id = None if source == "sample" else settings.ga4_property
    return Facts(source=source, property_id=property_id, time_zone=zone)


def summary_book(
    settings: Settings,
    release: Release,
    grain: str,
    first: date,
    last: date,
    gettext: Callable[[str], str] | None = None,
) -> bytes:
    """The summary workbook of every report over [first, last], with the notes on those days
    as they are now, in `gettext`'s language (default: the current one): what `kanon export
    --summary` writes, the dashboard offers and a manager's e-mail attaches."""
    from kanon.store.duckdb_store import Store
    from kanon.store.notes import listed
    from reports.workbook import summary_workbook

    words = gettext or i18n.translations(i18n.language()).gettext
    notes = listed(Store(settings.store_path), first, last)
    facts = summary_facts(settings, release.info)
    return summary_workbook(release, grain, first, last, facts, notes=notes, gettext=words)
