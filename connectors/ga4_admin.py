"""The one Admin API read the GA4 connector needs: the property's reporting time zone.

Everything else the Admin API offers Kanon (the property against the privacy policy, user
deletion) lives in `kanon/policy/`.
"""

from __future__ import annotations

from google.analytics import admin_v1beta
from google.auth import credentials as ga_credentials

from connectors.ga4_client import DEFAULT_TIMEOUT, client_options


def property_time_zone(
    property_id: str,
    credentials: ga_credentials.Credentials,
    endpoint: str | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str | None:
    """The property's reporting time zone (Admin API `properties.get`)."""
    options = client_options(endpoint)
    client = admin_v1beta.AnalyticsAdminServiceClient(
        transport="rest", credentials=credentials, client_options=options
    )
    found = client.get_property(name=f"properties/{property_id}", timeout=timeout)
    return found.time_zone or None
