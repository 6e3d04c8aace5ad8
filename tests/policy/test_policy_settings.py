"""The policy's settings: defaults, environment lists, what they become in kanon.policy.config."""

from __future__ import annotations

import pytest

from kanon.policy.config import CHECKS, HOTJAR_API_URL, PolicyError
from kanon.policy_setup import dsr_config, hotjar_config, property_config
from kanon.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    for name in ("KANON_SETTINGS", "KANON_GA4_PROPERTY", "KANON_HOTJAR_ORG_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_require_every_check_and_aim_at_hotjar():
    settings = load_settings()
    assert settings.required_checks == CHECKS and settings.hotjar_api_url == HOTJAR_API_URL
    assert settings.dsr_log_retention_days == 1095
    config, missing = hotjar_config(settings)
    assert config is None and "KANON_HOTJAR_ORG_ID" in missing
    with pytest.raises(PolicyError, match="KANON_GA4_PROPERTY"):
        property_config(settings)


def test_lists_come_from_the_environment_comma_separated(monkeypatch):
    monkeypatch.setenv("KANON_REQUIRED_CHECKS", "retention, access")
    monkeypatch.setenv("KANON_REDACTED_QUERY_PARAMETERS", "email,token")
    monkeypatch.setenv("KANON_GA4_PROPERTY", "123")
    config = property_config(load_settings())
    assert config.required_checks == ("retention", "access")
    assert config.redacted_query_parameters == ("email", "token")


def test_an_unknown_check_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("KANON_REQUIRED_CHECKS", "retention,vibes")
    with pytest.raises(SettingsError, match="required_checks.*vibes"):
        load_settings()


def test_the_deletion_key_falls_back_to_google_application_credentials(monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "reader.json"))
    monkeypatch.delenv("KANON_DSR_CREDENTIALS", raising=False)
    assert dsr_config(load_settings()).ga4_key == tmp_path / "reader.json"
    monkeypatch.setenv("KANON_DSR_CREDENTIALS", str(tmp_path / "editor.json"))
    config = dsr_config(load_settings())
    assert config.ga4_key == tmp_path / "editor.json" and config.property is None


def test_the_hotjar_secret_is_not_shown_in_the_settings(monkeypatch):
    monkeypatch.setenv("KANON_HOTJAR_CLIENT_SECRET", "s3cret-value")
    assert "s3cret-value" not in repr(load_settings())
