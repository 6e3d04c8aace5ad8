"""Kanon's settings turned into `kanon.policy.config` dataclasses, and where policy results live.

The policy package never reads settings itself; the CLI and the Admin page build its
configuration here.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from connectors.ga4_auth import secrets_paths
from kanon.access.accounts import OIDC, Accounts
from kanon.policy.config import DsrConfig, HotjarConfig, PolicyError, PropertyConfig, Retry
from kanon.settings import Settings

SECRETS_TABLE = "hotjar"


def last_check_path(settings: Settings) -> Path:
    return settings.policy_folder / "last_check.json"


def property_config(settings: Settings) -> PropertyConfig:
    """The configured property and what the policy expects of it."""
    if not settings.ga4_property:
        raise PolicyError(
            "No GA4 property configured: set KANON_GA4_PROPERTY to the numeric property id from "
            "GA4 Admin → Property settings."
        )
    return PropertyConfig(
        property_id=str(settings.ga4_property),
        endpoint=settings.ga4_endpoint,
        expected_retention=settings.expected_data_retention,
        required_checks=tuple(settings.required_checks),
        redacted_query_parameters=tuple(settings.redacted_query_parameters),
        role_holders=kanon_role_holders(settings),
        retry=Retry(max_retries=settings.ga4_max_retries),
    )


def kanon_role_holders(settings: Settings) -> dict[str, frozenset[str]]:
    """Everyone who holds a Kanon role, by email (lower case): the allow-list's OpenID Connect
    accounts (local accounts have user names, not emails, so they match no GA4 user)."""
    accounts = Accounts(settings.accounts_path).all()
    return {a.name: a.active_roles for a in accounts if a.kind == OIDC and a.active_roles}


def hotjar_config(settings: Settings) -> tuple[HotjarConfig | None, str]:
    """Hotjar's configuration, or None and what is missing."""
    client_id = settings.hotjar_client_id
    secret = (
        settings.hotjar_client_secret.get_secret_value() if settings.hotjar_client_secret else None
    )
    if not (client_id and secret):
        table = _secrets_table()
        client_id = client_id or table.get("client_id")
        secret = secret or table.get("client_secret")
    missing = [
        name
        for name, value in (
            ("KANON_HOTJAR_ORG_ID", settings.hotjar_org_id),
            ("KANON_HOTJAR_CLIENT_ID", client_id),
            ("KANON_HOTJAR_CLIENT_SECRET", secret),
        )
        if not value
    ]
    if missing:
        return None, "set " + ", ".join(
            missing
        ) + " (or a [hotjar] table in .streamlit/secrets.toml)"
    config = HotjarConfig(
        org_id=str(settings.hotjar_org_id),
        client_id=str(client_id),
        client_secret=str(secret),
        api_url=settings.hotjar_api_url,
        site_id=settings.hotjar_site_id,
        retry=Retry(max_retries=settings.ga4_max_retries),
    )
    return config, ""


def dsr_config(settings: Settings) -> DsrConfig:
    hotjar, missing = hotjar_config(settings)
    prop = property_config(settings) if settings.ga4_property else None
    key = settings.dsr_credentials or _env_path("GOOGLE_APPLICATION_CREDENTIALS")
    return DsrConfig(
        folder=settings.policy_folder,
        log_retention_days=settings.dsr_log_retention_days,
        property=prop,
        ga4_key=key,
        hotjar=hotjar,
        hotjar_missing=missing,
    )


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _secrets_table() -> dict:
    for path in secrets_paths():
        if path.is_file():
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8")).get(SECRETS_TABLE)
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise PolicyError(f"Could not read {path}: {error}") from None
            if isinstance(table, dict):
                return {key: str(value) for key, value in table.items()}
    return {}
