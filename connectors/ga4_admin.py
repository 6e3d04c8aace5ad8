"""`kanon check-property`: does the GA4 property match what Kanon's privacy policy promises?

Read-only calls to the GA4 Admin API (REST transport, so `KANON_GA4_ENDPOINT` reaches a local
emulator too):

- event data retention must be the expected value (`expected_data_retention`, by default
  FOURTEEN_MONTHS, the policy's promise);
- Google signals state is reported when the (alpha) API lets us read it;
- the Data API must answer for the property and know every allow-listed field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.analytics import admin_v1alpha, admin_v1beta
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.api_core import exceptions as api_exceptions
from google.auth import credentials as ga_credentials

from connectors.base import ConnectorError
from connectors.catalog import DIMENSIONS, METRICS
from connectors.ga4 import DEFAULT_TIMEOUT, api_message, permission_message
from connectors.ga4_auth import load_credentials, prefer_self_signed_jwt

if TYPE_CHECKING:
    from kanon.settings import Settings

RETENTION_LABELS = {
    "TWO_MONTHS": "2 months",
    "FOURTEEN_MONTHS": "14 months",
    "TWENTY_SIX_MONTHS": "26 months",
    "THIRTY_EIGHT_MONTHS": "38 months",
    "FIFTY_MONTHS": "50 months",
}


@dataclass
class PropertyCheck:
    """What `check_property` found; `ok` is False when anything in `problems` needs fixing."""

    property_id: str
    expected_retention: str
    display_name: str | None = None
    time_zone: str | None = None
    event_data_retention: str | None = None
    google_signals: str | None = None  # e.g. GOOGLE_SIGNALS_DISABLED; None if unreadable
    data_api: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """A short report for the terminal, one finding per line, problems first."""
        name = f" ({self.display_name})" if self.display_name else ""
        zone = f", time zone {self.time_zone}" if self.time_zone else ""
        lines = [f"GA4 property {self.property_id}{name}{zone}"]
        lines += [f"  PROBLEM  {problem}" for problem in self.problems]
        lines += [f"  note     {note}" for note in self.notes]
        verdict = "OK" if self.ok else f"NOT OK: {len(self.problems)} problem(s) to fix"
        lines.append(f"Result: {verdict}")
        return lines


def check_property(
    settings: Settings, credentials: ga_credentials.Credentials | None = None
) -> PropertyCheck:
    """Check the configured property's retention, Google signals and Data API access."""
    if not settings.ga4_property:
        raise ConnectorError(
            "No GA4 property configured: set KANON_GA4_PROPERTY to the numeric property id from "
            "GA4 Admin → Property settings."
        )
    credentials = prefer_self_signed_jwt(credentials or load_credentials())
    check = PropertyCheck(str(settings.ga4_property), settings.expected_data_retention)
    options = _client_options(settings.ga4_endpoint)
    beta = admin_v1beta.AnalyticsAdminServiceClient(
        transport="rest", credentials=credentials, client_options=options
    )
    if not _read_property(check, beta, credentials):
        return check  # no access at all: the other calls would only repeat it
    _check_retention(check, beta, credentials)
    _read_google_signals(check, credentials, options)
    _check_data_api(check, credentials, options)
    return check


def property_time_zone(
    property_id: str,
    credentials: ga_credentials.Credentials,
    endpoint: str | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str | None:
    """The property's reporting time zone (Admin API `properties.get`)."""
    client = admin_v1beta.AnalyticsAdminServiceClient(
        transport="rest", credentials=credentials, client_options=_client_options(endpoint)
    )
    found = client.get_property(name=f"properties/{property_id}", timeout=timeout)
    return found.time_zone or None


def _client_options(endpoint: str | None) -> dict | None:
    return {"api_endpoint": endpoint} if endpoint else None


def _read_property(check: PropertyCheck, client: Any, credentials: object) -> bool:
    """Name and time zone; False when the credentials have no access to the property."""
    try:
        found = client.get_property(name=f"properties/{check.property_id}", timeout=DEFAULT_TIMEOUT)
    except api_exceptions.Forbidden as error:
        check.problems.append(_no_access(check, credentials, error))
        return False
    except api_exceptions.GoogleAPICallError as error:
        check.notes.append(f"Property details could not be read: {_short(error)}.")
        return True
    check.display_name = found.display_name or None
    check.time_zone = found.time_zone or None
    return True


def _no_access(check: PropertyCheck, credentials: object, error: Exception) -> str:
    return permission_message(check.property_id, credentials, error, then="run the check again")


def _check_retention(check: PropertyCheck, client: Any, credentials: object) -> None:
    name = f"properties/{check.property_id}/dataRetentionSettings"
    try:
        found = client.get_data_retention_settings(name=name, timeout=DEFAULT_TIMEOUT)
    except api_exceptions.Forbidden as error:
        check.problems.append(
            "Data retention could not be read. " + _no_access(check, credentials, error)
        )
        return
    except api_exceptions.GoogleAPICallError as error:
        check.problems.append(
            f"Data retention could not be read ({_short(error)}); run the check again."
        )
        return
    actual = found.event_data_retention.name
    check.event_data_retention = actual
    expected = check.expected_retention
    if actual == expected:
        check.notes.append(f"Event data retention is {_label(actual)}, as expected.")
        return
    check.problems.append(
        f"Event data retention is {_label(actual)}, but Kanon's privacy policy expects "
        f"{_label(expected)}. In GA4 open Admin → Data collection and modification → Data "
        f"retention and set Event data retention to {_label(expected)} (or change "
        "expected_data_retention if the policy changed)."
    )


def _read_google_signals(check: PropertyCheck, credentials: Any, options: dict | None) -> None:
    # Only the alpha Admin API exposes Google signals; it may be refused or change shape.
    try:
        client = admin_v1alpha.AnalyticsAdminServiceClient(
            transport="rest", credentials=credentials, client_options=options
        )
        found = client.get_google_signals_settings(
            name=f"properties/{check.property_id}/googleSignalsSettings", timeout=DEFAULT_TIMEOUT
        )
    except Exception as error:  # alpha API: anything may go wrong; it is only informative
        check.notes.append(f"Google signals state could not be read ({_short(error)}).")
        return
    state = found.state.name
    check.google_signals = state
    if state == "GOOGLE_SIGNALS_ENABLED":
        check.notes.append(
            "Google signals is ON: GA4 links signed-in Google users across devices and "
            "applies stronger thresholds. Kanon needs none of it; consider turning it off in "
            "Admin → Data collection and modification → Data collection."
        )
    elif state == "GOOGLE_SIGNALS_DISABLED":
        check.notes.append("Google signals is off.")
    else:
        check.notes.append(f"Google signals state is {state}.")


def _check_data_api(check: PropertyCheck, credentials: Any, options: dict | None) -> None:
    client = BetaAnalyticsDataClient(
        transport="rest", credentials=credentials, client_options=options
    )
    try:
        metadata = client.get_metadata(
            name=f"properties/{check.property_id}/metadata", timeout=DEFAULT_TIMEOUT
        )
    except api_exceptions.Forbidden as error:
        check.problems.append(_no_access(check, credentials, error))
        return
    except api_exceptions.GoogleAPICallError as error:
        check.problems.append(
            f"The Data API did not answer ({_short(error)}); run the check again."
        )
        return
    known = {item.api_name for item in metadata.dimensions} | {
        item.api_name for item in metadata.metrics
    }
    missing = [name for name in DIMENSIONS + METRICS if name not in known]
    if missing:
        check.problems.append(
            "The Data API does not know these allow-listed fields: "
            f"{', '.join(missing)}. Update connectors/catalog.py to GA4's current names."
        )
        return
    check.data_api = True
    check.notes.append("The Data API answers for this property and knows every allow-listed field.")


def _label(retention: str) -> str:
    label = RETENTION_LABELS.get(retention)
    return f"{label} ({retention})" if label else retention


def _short(error: BaseException) -> str:
    if isinstance(error, api_exceptions.GoogleAPICallError):
        return f"{error.code} {api_message(error)}".strip()
    return f"{type(error).__name__}: {error}"
