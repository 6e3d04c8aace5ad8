import pytest

from kanon.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in [
        "KANON_K",
        "KANON_HOME",
        "KANON_SETTINGS",
        "KANON_GA4_PROPERTY",
        "KANON_GA4_ENDPOINT",
        "KANON_DEVELOPER_MODE",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_keep_the_promise():
    settings = load_settings()
    assert settings.k == 10 and settings.retention_months == 14
    assert settings.developer_mode is False


def test_toml_file_then_environment_overrides(tmp_path, monkeypatch):
    (tmp_path / "kanon.toml").write_text('k = 12\nga4_property = "123"\n')
    assert load_settings().k == 12
    monkeypatch.setenv("KANON_K", "15")
    monkeypatch.setenv("KANON_GA4_ENDPOINT", "http://127.0.0.1:9999")
    settings = load_settings()
    assert settings.k == 15 and settings.ga4_property == "123"
    assert settings.ga4_endpoint == "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("KANON_K", "1", "'k'"),
        ("KANON_K", "ten", "'k'"),
        ("KANON_GA4_PROPERTY", "my-site", "'ga4_property'"),
        ("KANON_RETENTION_MONTHS", "26", "'retention_months'"),
    ],
)
def test_bad_settings_stop_with_a_message_naming_them(monkeypatch, name, value, named):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


def test_unknown_key_in_the_file_is_named(tmp_path):
    (tmp_path / "kanon.toml").write_text("threshold = 5\n")
    with pytest.raises(SettingsError, match="threshold"):
        load_settings()


def test_broken_toml_is_reported(tmp_path):
    (tmp_path / "kanon.toml").write_text("k = = 3\n")
    with pytest.raises(SettingsError, match="Could not read"):
        load_settings()


def test_property_accepts_the_properties_prefix(monkeypatch):
    monkeypatch.setenv("KANON_GA4_PROPERTY", "properties/42")
    assert load_settings().ga4_property == "42"
