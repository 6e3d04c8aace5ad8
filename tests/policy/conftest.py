"""Fixtures for the policy tests: a GA4 emulator with its Admin API fake, a Hotjar fake, keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from connectors.sample import SampleConnector
from kanon.policy.config import HotjarConfig, PropertyConfig, Retry
from tests.emulator.admin_emulator import AdminProperty
from tests.emulator.ga4_emulator import GA4Emulator, service_account_key
from tests.emulator.hotjar_fake import HotjarData, HotjarFake

FAST = Retry(max_retries=3, initial=0.001, maximum=0.01)
ANALYST_EMAIL = "ana@example.com"


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Talk to 127.0.0.1 directly, and never pick up the developer's own credentials."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "KANON_SETTINGS", "KANON_DSR_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sample() -> SampleConnector:
    return SampleConnector(seed=7, scale=0.05, today=date(2025, 6, 30))


@pytest.fixture
def admin() -> AdminProperty:
    """A compliant property; tests change it before the emulator answers."""
    state = AdminProperty()
    state.access_bindings.append((ANALYST_EMAIL, ["predefinedRoles/analyst"]))
    return state


@pytest.fixture
def emulator(sample: SampleConnector, admin: AdminProperty) -> Iterator[GA4Emulator]:
    with GA4Emulator(sample, admin=admin, time_zone="Europe/Oslo") as running:
        yield running


@pytest.fixture
def config(emulator: GA4Emulator) -> PropertyConfig:
    return PropertyConfig(
        property_id=emulator.property_id,
        endpoint=emulator.endpoint,
        role_holders={ANALYST_EMAIL: frozenset({"analyst"})},
        retry=FAST,
        timeout=5.0,
    )


@pytest.fixture
def key_path(emulator: GA4Emulator, tmp_path: Path) -> Path:
    """A throwaway service-account key (kanon-reader@...) whose token_uri is the emulator's."""
    info, _ = service_account_key(emulator.token_uri)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


@pytest.fixture
def hotjar() -> Iterator[HotjarFake]:
    data = HotjarData(
        by_email={"person@example.com": {"777": 12}},
        by_user_id={("777", "u-42"): 3},
    )
    with HotjarFake(data) as fake:
        yield fake


@pytest.fixture
def hotjar_config(hotjar: HotjarFake) -> HotjarConfig:
    return HotjarConfig(
        org_id=hotjar.data.org_id,
        client_id=hotjar.data.client_id,
        client_secret=hotjar.data.client_secret,
        api_url=hotjar.url,
        site_id="777",
        retry=FAST,
        timeout=5.0,
    )
