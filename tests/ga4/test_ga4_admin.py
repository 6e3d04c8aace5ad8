"""check_property: the GA4 property's settings against the privacy policy, via the Admin API."""

from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials

from connectors.base import ConnectorError
from connectors.ga4_admin import PropertyCheck, check_property
from connectors.sample import SampleConnector
from kanon.settings import Settings
from tests.emulator.ga4_emulator import GA4Emulator


def settings_for(emulator: GA4Emulator, tmp_path, **changes) -> Settings:
    values = {
        "home": tmp_path,
        "ga4_property": emulator.property_id,
        "ga4_endpoint": emulator.endpoint,
    }
    values.update(changes)
    return Settings(**values)


def check(emulator: GA4Emulator, tmp_path, **changes) -> PropertyCheck:
    return check_property(settings_for(emulator, tmp_path, **changes), AnonymousCredentials())


def test_conforming_property(emulator: GA4Emulator, tmp_path) -> None:
    result = check(emulator, tmp_path)
    assert result.ok and not result.problems
    assert result.event_data_retention == "FOURTEEN_MONTHS"
    assert result.google_signals == "GOOGLE_SIGNALS_DISABLED"
    assert result.data_api and result.time_zone == "Europe/Oslo"
    text = "\n".join(result.lines())
    assert "14 months" in text and "Google signals is off" in text
    assert text.splitlines()[-1] == "Result: OK"


def test_short_retention_is_not_ok(sample: SampleConnector, tmp_path) -> None:
    with GA4Emulator(sample, data_retention="TWO_MONTHS") as emulator:
        result = check(emulator, tmp_path)
    assert not result.ok
    assert result.event_data_retention == "TWO_MONTHS"
    text = "\n".join(result.lines())
    assert "PROBLEM  Event data retention is 2 months (TWO_MONTHS)" in text
    assert "Data retention" in text and "NOT OK" in text


def test_expected_retention_is_a_setting(sample: SampleConnector, tmp_path) -> None:
    with GA4Emulator(sample, data_retention="TWO_MONTHS") as emulator:
        assert check(emulator, tmp_path, expected_data_retention="TWO_MONTHS").ok


def test_google_signals_on_is_reported(sample: SampleConnector, tmp_path) -> None:
    with GA4Emulator(sample, google_signals="GOOGLE_SIGNALS_ENABLED") as emulator:
        result = check(emulator, tmp_path)
    assert result.google_signals == "GOOGLE_SIGNALS_ENABLED"
    assert any("Google signals is ON" in note for note in result.notes)


def test_unreadable_google_signals(sample: SampleConnector, tmp_path) -> None:
    with GA4Emulator(sample, google_signals=None) as emulator:
        result = check(emulator, tmp_path)
    assert result.ok and result.google_signals is None
    assert any("could not be read" in note for note in result.notes)


def test_no_access_is_not_ok(emulator: GA4Emulator, tmp_path) -> None:
    result = check(emulator, tmp_path, ga4_property="42")
    assert not result.ok and not result.data_api
    [problem] = result.problems  # said once, not once per API call
    assert "Property access management" in problem and "run the check again" in problem


def test_emulator_down_is_not_ok(emulator: GA4Emulator, tmp_path) -> None:
    emulator.inject("503", times=10)
    result = check(emulator, tmp_path)
    assert not result.ok
    assert any("run the check again" in problem for problem in result.problems)


def test_needs_a_property(tmp_path) -> None:
    with pytest.raises(ConnectorError, match="KANON_GA4_PROPERTY"):
        check_property(Settings(home=tmp_path), AnonymousCredentials())
