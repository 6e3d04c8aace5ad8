"""Which connector answers a sync: the sample property or the GA4 Data API."""

from __future__ import annotations

from pathlib import Path

from connectors.base import Connector
from kanon.settings import Settings

SOURCES = ("sample", "ga4")


def sample_folder(settings: Settings) -> Path:
    """Where `kanon sample` writes a regenerated property; the committed one is the default."""
    return settings.home / "sample"


def make_connector(settings: Settings, source: str | None = None) -> Connector:
    source = source or settings.source
    if source == "ga4":
        from connectors.ga4 import GA4Connector

        return GA4Connector.from_settings(settings)
    if source != "sample":
        raise ValueError(f"Unknown source {source!r}; choose one of {', '.join(SOURCES)}.")
    from connectors.sample import SampleConnector

    folder = sample_folder(settings)
    if folder.is_dir():
        return SampleConnector(data_dir=folder)
    return SampleConnector(seed=settings.sample_seed)
