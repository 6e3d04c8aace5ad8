"""What the policy code needs to know, as plain dataclasses (built from Settings in `kanon/`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connectors.errors import KanonError

# Every check `kanon check-property` can run, in the order it reports them.
CHECKS = (
    "retention",
    "google_signals",
    "data_sharing",
    "user_provided_data",
    "data_redaction",
    "access",
    "data_api",
)
HOTJAR_API_URL = "https://api.hotjar.io"


class PolicyError(KanonError):
    """A policy command cannot go on; the message says what to set or do."""


@dataclass(frozen=True)
class Retry:
    """How often and how patiently to retry 429 and 5xx answers (exponential, jittered)."""

    max_retries: int = 5
    initial: float = 1.0
    maximum: float = 32.0


@dataclass(frozen=True)
class PropertyConfig:
    """One GA4 property and what the policy expects of it."""

    property_id: str
    endpoint: str | None = None  # None: Google's; else e.g. http://127.0.0.1:PORT
    expected_retention: str = "FOURTEEN_MONTHS"
    required_checks: tuple[str, ...] = CHECKS
    redacted_query_parameters: tuple[str, ...] = ("email", "phone", "name")
    # email (lower case) -> Kanon roles: who may have access to the data in GA4
    role_holders: Mapping[str, frozenset[str]] = field(default_factory=dict)
    retry: Retry = Retry()
    timeout: float = 60.0


@dataclass(frozen=True)
class HotjarConfig:
    """Hotjar's API and the OAuth client (an API key made in Hotjar → Settings → API)."""

    org_id: str
    client_id: str
    client_secret: str
    api_url: str = HOTJAR_API_URL
    site_id: str | None = None  # needed to look a user up by the user id sent to Hotjar
    retry: Retry = Retry()
    timeout: float = 30.0


@dataclass(frozen=True)
class DsrConfig:
    """Data-subject requests: where the request log and its salt live, and how long it is kept."""

    folder: Path
    log_retention_days: int = 1095
    property: PropertyConfig | None = None  # None: GA4 is skipped (no property configured)
    ga4_key: Path | None = None  # service-account key allowed analytics.edit (user deletion)
    hotjar: HotjarConfig | None = None  # None: Hotjar is skipped (not configured)
    hotjar_missing: str = ""  # what is missing, said when Hotjar is skipped
