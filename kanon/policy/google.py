"""The GA4 Admin API as the policy code uses it: clients over REST, scopes, retries, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from google.analytics import admin_v1alpha, admin_v1beta
from google.api_core import exceptions as api_exceptions
from google.auth import credentials as ga_credentials
from google.auth.exceptions import GoogleAuthError
from google.oauth2 import service_account

from connectors.ga4 import api_message
from connectors.ga4_auth import prefer_self_signed_jwt, service_account_email
from connectors.retry import backoff
from connectors.retry import retrying as retry_call
from kanon.policy.config import PolicyError, Retry

READONLY = "https://www.googleapis.com/auth/analytics.readonly"
USERS_READONLY = "https://www.googleapis.com/auth/analytics.manage.users.readonly"
EDIT = "https://www.googleapis.com/auth/analytics.edit"
SCOPE_REASON = "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
TRANSIENT = (
    api_exceptions.TooManyRequests,
    api_exceptions.InternalServerError,
    api_exceptions.BadGateway,
    api_exceptions.ServiceUnavailable,
    api_exceptions.GatewayTimeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)
# What a call to Google may raise that means "could not be read", not a bug in Kanon.
CALL_ERRORS = (api_exceptions.GoogleAPICallError, requests.exceptions.RequestException)

T = TypeVar("T")


def with_scopes(
    credentials: ga_credentials.Credentials, scopes: list[str]
) -> ga_credentials.Credentials:
    """The same credentials asking for `scopes` (service accounts, ADC); others pass through."""
    if isinstance(credentials, ga_credentials.Scoped):
        credentials = credentials.with_scopes(scopes)
    return prefer_self_signed_jwt(credentials)


def admin_clients(credentials: ga_credentials.Credentials, endpoint: str | None) -> tuple[Any, Any]:
    """(v1beta, v1alpha) Admin API clients over REST, aimed at `endpoint` when one is set."""
    options = {"api_endpoint": endpoint} if endpoint else None
    beta = admin_v1beta.AnalyticsAdminServiceClient(
        transport="rest", credentials=credentials, client_options=options
    )
    alpha = admin_v1alpha.AnalyticsAdminServiceClient(
        transport="rest", credentials=credentials, client_options=options
    )
    return beta, alpha


def retrying(call: Callable[[], T], retry: Retry, sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, retried on 429, 5xx and dropped connections with jittered exponential backoff."""
    delays = backoff(retry.max_retries, retry.initial, retry.maximum)
    return retry_call(call, retry_on=TRANSIENT, delays=delays, sleep=sleep)


def is_scope_error(error: BaseException) -> bool:
    """Whether Google refused because the access token lacks a scope (not a missing role)."""
    if not isinstance(error, api_exceptions.Forbidden):
        return False
    return getattr(error, "reason", None) == SCOPE_REASON or "scope" in api_message(error).lower()


def scope_message(scope: str, credentials: object, what: str) -> str:
    """What to do when `what` needs `scope` and the token lacks it."""
    who = service_account_email(credentials)
    if who:
        return (
            f"{what} needs the OAuth scope {scope}, which the token for {who} lacks. Kanon asks "
            "for it itself with a service-account key; check that nothing restricts the key's "
            "scopes (domain-wide delegation settings, a proxy)."
        )
    return (
        f"{what} needs the OAuth scope {scope}, which the credentials in use lack. Use a "
        "service-account key (GOOGLE_APPLICATION_CREDENTIALS), or sign in again with "
        f"`gcloud auth application-default login --scopes={scope},{READONLY},"
        "https://www.googleapis.com/auth/cloud-platform`."
    )


def describe(error: BaseException) -> str:
    """Google's own words for an error, short: `503 The service is currently unavailable.`"""
    if isinstance(error, api_exceptions.GoogleAPICallError):
        return f"{error.code} {api_message(error)}".strip()
    if isinstance(error, requests.exceptions.RequestException):
        return f"connection problem ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"


def key_credentials(path: Path | None, scopes: list[str]) -> ga_credentials.Credentials:
    """A service-account key file's credentials asking for `scopes` (for user deletion)."""
    if path is None:
        raise PolicyError(
            "GA4 user deletion needs a service-account key whose account is an Editor of the "
            "property: set KANON_DSR_CREDENTIALS to its JSON key file (else "
            "GOOGLE_APPLICATION_CREDENTIALS is used). Keep the dashboard's own key a Viewer."
        )
    if not path.is_file():
        raise PolicyError(f"The key file {path} (KANON_DSR_CREDENTIALS) does not exist.")
    try:
        credentials = service_account.Credentials.from_service_account_file(
            str(path), scopes=scopes
        )
    except (GoogleAuthError, ValueError, KeyError, OSError) as error:
        raise PolicyError(
            f"Could not read the service-account key {path} (KANON_DSR_CREDENTIALS): {error}"
        ) from None
    return prefer_self_signed_jwt(credentials)
