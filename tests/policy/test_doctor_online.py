"""`kanon doctor --online` asks each configured service once, against the configured endpoints
(the GA4 emulator and the Hotjar fake here), and says which one failed."""

from __future__ import annotations

import pytest

from kanon import doctor


@pytest.fixture
def env(monkeypatch, tmp_path, emulator, key_path, hotjar):
    for name, value in {
        "KANON_HOME": str(tmp_path / "kanon"),
        "KANON_GA4_PROPERTY": emulator.property_id,
        "KANON_GA4_ENDPOINT": emulator.endpoint,
        "KANON_GA4_MAX_RETRIES": "0",
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_path),
        "KANON_HOTJAR_API_URL": hotjar.url,
        "KANON_HOTJAR_ORG_ID": hotjar.data.org_id,
        "KANON_HOTJAR_CLIENT_ID": hotjar.data.client_id,
        "KANON_HOTJAR_CLIENT_SECRET": hotjar.data.client_secret,
    }.items():
        monkeypatch.setenv(name, value)


def _online(findings: list[doctor.Finding]) -> dict[str, doctor.Finding]:
    return {f.check: f for f in findings if f.check.endswith("_online")}


def test_without_online_nothing_is_asked(env, emulator):
    served = emulator.requests_served
    assert _online(doctor.examine()) == {}
    assert emulator.requests_served == served


def test_online_asks_ga4_and_hotjar_once_each(env, emulator, hotjar):
    found = _online(doctor.examine(online=True))
    assert found["ga4_online"].level == doctor.OK, found["ga4_online"]
    assert found["hotjar_online"].level == doctor.OK, found["hotjar_online"]
    assert found["bigquery_online"].level == doctor.OK  # not configured: not asked
    assert "not asked" in found["bigquery_online"].what
    assert len(emulator.calls("runReport")) == 1


def test_a_service_that_refuses_is_a_problem_naming_it(env, emulator, monkeypatch):
    emulator.inject("403", times=5, match="runReport")
    monkeypatch.setenv("KANON_HOTJAR_CLIENT_SECRET", "wrong")
    found = _online(doctor.examine(online=True))
    assert found["ga4_online"].level == doctor.PROBLEM
    assert found["hotjar_online"].level == doctor.PROBLEM
    assert "Hotjar refused the API key" in found["hotjar_online"].what
