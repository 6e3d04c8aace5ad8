"""Google credentials for the GA4 APIs, read-only.

Looked for in the order a deployment usually provides them:

1. `GOOGLE_APPLICATION_CREDENTIALS`: a key file (normally a service-account key);
2. a `[gcp_service_account]` table in `.streamlit/secrets.toml` (Streamlit Cloud's convention),
   read with tomllib so this module never imports Streamlit;
3. Application Default Credentials (`gcloud auth application-default login`, or the metadata
   server on Google Cloud).

Service accounts sign their own JWT access tokens (self-signed JWT, AIP-4111) instead of trading
a signed assertion for a token at oauth2.googleapis.com: fewer round trips, and a local emulator
never sees (or needs) a token endpoint.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import google.auth
from google.auth import credentials as ga_credentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.oauth2 import service_account

from connectors.base import ConnectorError

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
SECRETS_TABLE = "gcp_service_account"


def secrets_paths() -> list[Path]:
    """Where Streamlit keeps secrets: the project folder first, then the user's home."""
    return [Path(".streamlit") / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def load_credentials() -> ga_credentials.Credentials:
    """The first credentials found (see the module docstring), scoped to analytics.readonly."""
    key_file = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key_file:
        return _from_key_file(Path(key_file))
    info = _secrets_service_account()
    if info is not None:
        return _from_info(info, "[gcp_service_account] in .streamlit/secrets.toml")
    try:
        credentials, _ = google.auth.default(scopes=[SCOPE])
    except DefaultCredentialsError:
        raise ConnectorError(
            "No Google credentials found. Set GOOGLE_APPLICATION_CREDENTIALS to a service-account "
            "key file, or add a [gcp_service_account] table to .streamlit/secrets.toml, or run "
            f"`gcloud auth application-default login --scopes={SCOPE},"
            "https://www.googleapis.com/auth/cloud-platform`."
        ) from None
    return prefer_self_signed_jwt(credentials)


def prefer_self_signed_jwt(credentials: ga_credentials.Credentials) -> ga_credentials.Credentials:
    """Service accounts sign their own access tokens; other credentials pass through."""
    if isinstance(credentials, service_account.Credentials):
        return credentials.with_always_use_jwt_access(True)
    return credentials


def service_account_email(credentials: object) -> str | None:
    """The service account's email, for error messages that say whom to grant access."""
    email = getattr(credentials, "service_account_email", None)
    return email if isinstance(email, str) and "@" in email else None


def _from_key_file(path: Path) -> ga_credentials.Credentials:
    if not path.is_file():
        raise ConnectorError(
            f"GOOGLE_APPLICATION_CREDENTIALS names {path}, which is not a file. Point it at the "
            "service-account key (JSON) downloaded from Google Cloud → IAM → Service accounts."
        )
    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("type")
        if kind == "service_account":
            credentials = service_account.Credentials.from_service_account_file(
                str(path), scopes=[SCOPE]
            )
        else:  # a user or workload-identity file: google.auth knows how to read those
            credentials, _ = google.auth.default(scopes=[SCOPE])
    except (GoogleAuthError, ValueError, OSError, AttributeError) as error:
        raise ConnectorError(
            f"Could not read the key file {path} (GOOGLE_APPLICATION_CREDENTIALS): {error}"
        ) from None
    return prefer_self_signed_jwt(credentials)


def _secrets_service_account() -> dict | None:
    for path in secrets_paths():
        if not path.is_file():
            continue
        try:
            secrets = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConnectorError(f"Could not read {path}: {error}") from None
        table = secrets.get(SECRETS_TABLE)
        if isinstance(table, dict):
            return dict(table)
    return None


def _from_info(info: dict, where: str) -> ga_credentials.Credentials:
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    except (GoogleAuthError, ValueError, KeyError) as error:
        raise ConnectorError(
            f"The service account in {where} is incomplete ({error}). Paste every field of the "
            "downloaded JSON key (type, client_email, private_key, token_uri, ...) into it."
        ) from None
    return prefer_self_signed_jwt(credentials)
