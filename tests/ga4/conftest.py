"""Fixtures for the GA4 tests: the sample property, an emulator in front of it, connectors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from connectors.ga4 import Backoff, GA4Connector
from connectors.sample import SampleConnector
from tests.emulator.ga4_emulator import GA4Emulator, service_account_key

TODAY = date(2025, 6, 30)
FAST = Backoff(initial=0.001, maximum=0.01, multiplier=2.0)


def fixed_clock(moment: datetime = datetime(2025, 6, 30, 12, tzinfo=UTC)) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Talk to 127.0.0.1 directly, and never pick up the developer's own Google credentials."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sample() -> SampleConnector:
    return SampleConnector(seed=7, today=TODAY)


@pytest.fixture
def emulator(sample: SampleConnector) -> Iterator[GA4Emulator]:
    with GA4Emulator(sample, fault_delay=1.2) as running:
        yield running


@pytest.fixture
def make_connector(emulator: GA4Emulator) -> Callable[..., GA4Connector]:
    """GA4Connectors aimed at the emulator: anonymous, fast backoff, a fixed clock."""

    def make(**options: Any) -> GA4Connector:
        settings: dict[str, Any] = {
            "endpoint": emulator.endpoint,
            "credentials": AnonymousCredentials(),
            "backoff": FAST,
            "timeout": 5.0,
            "max_retries": 3,
            "clock": fixed_clock(),
        }
        settings.update(options)
        return GA4Connector(emulator.property_id, **settings)

    return make


@pytest.fixture
def connector(make_connector: Callable[..., GA4Connector]) -> GA4Connector:
    return make_connector()


@pytest.fixture
def key_file(emulator: GA4Emulator, tmp_path: Path) -> tuple[Path, dict, bytes]:
    """A key file whose token_uri is the emulator's: any token exchange would be counted."""
    info, public = service_account_key(emulator.token_uri)
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path, info, public
