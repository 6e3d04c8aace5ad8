"""OpenID Connect, as Streamlit's `st.login` is configured: which providers, and who may pass.

Streamlit reads `[auth]` in `.streamlit/secrets.toml`: either one provider in `[auth]` itself,
or named providers in `[auth.NAME]` tables. This module only reads that configuration (the UI
hands it over as a plain mapping), so the rules are testable without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kanon.errors import KanonError

MIN_COOKIE_SECRET = 32  # characters; Streamlit signs the identity cookie with it
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


class OidcConfigError(KanonError, ValueError):
    """`[auth]` in secrets.toml is incomplete or unsafe; the message says what to set."""


@dataclass(frozen=True)
class Provider:
    name: str | None  # None: the provider configured in [auth] itself
    label: str  # shown on the button: "Sign in with <label>"


def providers(auth: Mapping | None, label: str | None = None) -> list[Provider]:
    """The providers `[auth]` configures (none when there is no `[auth]`), checked for safety."""
    if not auth:
        return []
    found = [Provider(None, label or "single sign-on")] if "client_id" in auth else []
    for name, section in auth.items():
        if isinstance(section, Mapping) and "client_id" in section:
            found.append(Provider(name, label or name.replace("-", " ").title()))
    if not found:
        raise OidcConfigError(
            "[auth] in .streamlit/secrets.toml names no provider: set client_id, client_secret "
            "and server_metadata_url in [auth] or in an [auth.NAME] table."
        )
    _check(auth, found)
    return found


def _check(auth: Mapping, found: list[Provider]) -> None:
    secret = str(auth.get("cookie_secret") or "")
    if len(secret) < MIN_COOKIE_SECRET:
        raise OidcConfigError(
            f"[auth] cookie_secret in .streamlit/secrets.toml must be at least "
            f"{MIN_COOKIE_SECRET} random characters (it signs the sign-in cookie); make one with "
            '`python3 -c "import secrets; print(secrets.token_urlsafe(48))"`.'
        )
    if not str(auth.get("redirect_uri") or "").endswith("/oauth2callback"):
        raise OidcConfigError(
            "[auth] redirect_uri in .streamlit/secrets.toml must be Kanon's address followed by "
            "/oauth2callback, e.g. https://kanon.example.no/oauth2callback."
        )
    for provider in found:
        section = auth if provider.name is None else auth[provider.name]
        missing = [key for key in PROVIDER_KEYS if not section.get(key)]
        if missing:
            where = "[auth]" if provider.name is None else f"[auth.{provider.name}]"
            raise OidcConfigError(f"{where} in .streamlit/secrets.toml lacks {', '.join(missing)}.")


def refusal(user: Mapping, allowed_domain: str | None) -> str | None:
    """Why a signed-in OpenID Connect user may not pass, or None. Roles are decided elsewhere."""
    email = str(user.get("email") or "").strip().lower()
    if not email:
        return "Your identity provider did not tell Kanon your email address."
    if user.get("email_verified") is not True:
        return f"Your identity provider has not verified {email}."
    if allowed_domain and not email.endswith("@" + allowed_domain.strip().lower().lstrip("@")):
        return f"Only {allowed_domain} addresses may sign in to Kanon."
    return None
