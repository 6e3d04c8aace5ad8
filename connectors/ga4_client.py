"""What the GA4 Data API client (`connectors.ga4`) and Admin API client (`connectors.ga4_admin`)
share: how long one request may take, and how an endpoint becomes the clients' options.

It lives apart from both so that neither imports the other for it.
"""

from __future__ import annotations

DEFAULT_TIMEOUT = 60.0  # seconds one request may take


def client_options(endpoint: str | None) -> dict[str, str] | None:
    """Google's endpoint (None), or another one such as a local emulator's."""
    return {"api_endpoint": endpoint} if endpoint else None
