"""Settings: a TOML file, overridden by environment variables (`KANON_K`, `KANON_HOME`, ...).

The file is `KANON_SETTINGS` if set, else `kanon.toml` in the working folder if it exists.
A bad value stops start-up with a message naming the setting and what it accepts.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kanon.access.addresses import EMAIL, MAX_NAME_LENGTH
from kanon.errors import EXIT_USAGE, KanonError
from kanon.policy.config import CHECKS, HOTJAR_API_URL

RETENTION_MONTHS = 14  # the privacy policy's promise; a setting may shorten it, never extend it
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}  # each security's usual submission port
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


class SettingsError(KanonError, ValueError):
    """A setting is missing or invalid; the message names it."""

    exit_code = EXIT_USAGE


def settings_file() -> Path | None:
    explicit = os.environ.get("KANON_SETTINGS")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SettingsError(f"KANON_SETTINGS names {path}, which is not a file.")
        return path
    local = Path("kanon.toml")
    return local if local.is_file() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KANON_", extra="forbid", frozen=True)

    home: Path = Field(Path(".kanon"), description="folder for the store, access log, accounts")
    k: int = Field(10, ge=2, description="minimum visitors in a published cell")
    settle_days: int = Field(3, ge=0, le=30, description="days GA4 may still revise a day")
    retention_months: int = Field(RETENTION_MONTHS, ge=1, le=RETENTION_MONTHS)
    source: Literal["sample", "ga4", "bigquery"] = "sample"
    sample_seed: int = 7
    ga4_property: str | None = None
    ga4_endpoint: str | None = None
    ga4_max_retries: int = Field(5, ge=0, le=10)
    ga4_quota_reserve: int = Field(2000, ge=0, description="hourly tokens a sync leaves unused")
    # GA4's BigQuery export (`kanon sync --source bigquery`).
    bigquery_project: str | None = Field(None, description="billing project for query jobs")
    bigquery_dataset: str | None = Field(None, description="default analytics_<ga4_property>")
    bigquery_location: str | None = None
    bigquery_max_bytes: int = Field(
        10 * 1024**3, ge=10 * 1024**2, description="bytes one query may process and bill"
    )
    bigquery_endpoint: str | None = None
    bigquery_time_zone: str = Field("UTC", description="the property's reporting time zone")
    expected_data_retention: str = "FOURTEEN_MONTHS"
    stale_after_hours: int = Field(36, ge=1)
    default_language: Literal["nb", "en"] = Field(
        "nb", description="the dashboard's language when neither the account nor the browser says"
    )
    developer_mode: bool = False
    idle_timeout_minutes: int = Field(30, ge=1, le=24 * 60, description="idle time before sign-in")
    session_lifetime_hours: int = Field(
        12, ge=1, le=30 * 24, description="a sign-in ends this long after it began, active or not"
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="reverse proxies whose X-Forwarded-For names the client (IPs or CIDRs)"
    )
    oidc_allowed_domain: str | None = None
    oidc_provider_label: str | None = None
    access_contact: str | None = None
    # The rest of the privacy policy (`kanon check-property`, `kanon dsr`).
    required_checks: Annotated[tuple[str, ...], NoDecode] = CHECKS
    redacted_query_parameters: Annotated[tuple[str, ...], NoDecode] = ("email", "phone", "name")
    hotjar_api_url: str = HOTJAR_API_URL
    hotjar_org_id: str | None = None
    hotjar_site_id: str | None = None
    hotjar_client_id: str | None = None
    hotjar_client_secret: SecretStr | None = None
    dsr_credentials: Path | None = None
    dsr_log_retention_days: int = Field(1095, ge=1, description="how long the DSR log is kept")
    # E-mailed summaries (`kanon summaries send`); no smtp_host: nothing is sent.
    smtp_host: str | None = Field(None, max_length=253, description="the mail server to send by")
    smtp_port: int | None = Field(None, ge=1, le=65535, description="default 587, 465 or 25")
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(None, max_length=MAX_NAME_LENGTH, description="sender address")
    public_url: str | None = Field(None, max_length=2000, description="the dashboard's address")

    @field_validator("ga4_property")
    @classmethod
    def _numeric_property(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.removeprefix("properties/")
            if not value.isdigit():
                raise ValueError("must be the numeric GA4 property id, e.g. 123456789")
        return value

    @field_validator(
        "required_checks", "redacted_query_parameters", "trusted_proxies", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: "retention,access"
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network, e.g. 127.0.0.1 or 10.0.0.0/8"
                ) from None
        return value

    @field_validator("required_checks")
    @classmethod
    def _known_checks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown check(s) {', '.join(unknown)}; checks: {', '.join(CHECKS)}")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _sender_address(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.fullmatch(value.strip()):
            raise ValueError("must be an e-mail address, e.g. kanon@example.com")
        return value.strip() if value is not None else None

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value):
            raise ValueError("must be the dashboard's address, e.g. https://kanon.example.com")
        return value

    @field_validator("smtp_security")
    @classmethod
    def _clear_text_only_on_loopback(cls, value: str, info: ValidationInfo) -> str:
        # Without TLS the password and every figure cross the network readable by anyone on it.
        host = info.data.get("smtp_host")
        if value == "none" and host and not is_loopback(host):
            raise ValueError(
                f"none sends the password and the summaries unencrypted, so it is allowed "
                f"only to a loopback smtp_host (127.0.0.1, ::1, localhost), not {host!r}: use "
                "starttls (the default) or tls"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = settings_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def store_path(self) -> Path:
        return self.home / "kanon.duckdb"

    @property
    def access_log_path(self) -> Path:
        return self.home / "access.log"

    @property
    def accounts_path(self) -> Path:
        return self.home / "accounts.sqlite"

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or SMTP_PORTS[self.smtp_security]

    @property
    def policy_folder(self) -> Path:
        """The last property check, the DSR request log and its salt."""
        return self.home / "policy"


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine itself (a name, an IPv4 or an IPv6 address)."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one message that names each setting."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"]) or "settings"
            env = f"KANON_{name.upper()}"
            problems.append(f"setting {name!r} (env {env}): {item['msg']}")
        raise SettingsError("Invalid Kanon settings: " + "; ".join(problems)) from None
    except Exception as error:  # a TOML syntax error, say
        raise SettingsError(f"Could not read Kanon settings: {error}") from None
