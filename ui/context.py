"""Settings and identity for one script run: the same answer for dashboard.py and every page.

Pages call these themselves (not only dashboard.py), so a page run on its own, or reached by a URL
it was not listed under, still checks who is asking before it shows anything. Who is asking
comes from the server only: a signed-in session's token (kept in the server's session state,
checked against the accounts file on every run) or Streamlit's OpenID Connect identity, and
roles always from the allow-list. Nothing a visitor can set in the browser grants a role.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import streamlit as st

from access import log, oidc
from access.accounts import OIDC
from access.roles import ANONYMOUS, Identity, developer_identity
from access.signin import Gate
from kanon.developer import refusal as developer_mode_refusal
from kanon.settings import Settings, SettingsError, load_settings, settings_file

TOKEN = "_kanon_session"  # the signed-in session's token (server-side session state)
NOTICE = "_kanon_notice"  # a message for the next sign-in page, e.g. after an idle timeout
REFUSAL = "_kanon_refusal"  # why a signed-in OpenID Connect identity holds no role


def settings_or_stop() -> Settings:
    """The settings; a bad one stops the page with the message naming it."""
    try:
        return current_settings()
    except SettingsError as error:
        st.error(str(error), icon=":material/settings_alert:")
        st.stop()
        raise  # st.stop raises; this keeps type checkers and readers certain


def current_settings() -> Settings:
    """The settings as the sources say now (read again only when they change)."""
    return _settings(*_settings_sources())


def _settings_sources() -> tuple:
    """What the settings are read from: the KANON_ variables and the settings file as it is."""
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("KANON_")))
    path = settings_file()
    if path is None:
        return environment, None, None
    found = path.stat()
    return environment, str(path.resolve()), (found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=8)
def _settings(environment: tuple, path: str | None, version: tuple | None) -> Settings:
    """Read once per change of the sources: validating them took a quarter of a page's rerun.
    Settings are frozen, so every run may share them."""
    return load_settings()


def gate(settings: Settings) -> Gate:
    return Gate(
        accounts_path=settings.accounts_path,
        log_path=settings.access_log_path,
        home=settings.home,
        idle_seconds=settings.idle_timeout_minutes * 60,
    )


def client_address() -> str | None:
    try:
        return st.context.ip_address
    except Exception:  # no browser behind this run (AppTest)
        return None


def auth_section() -> Mapping | None:
    """`[auth]` of secrets.toml as a plain mapping, or None when there is none."""
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None
    return section.to_dict() if hasattr(section, "to_dict") else section


def providers_or_stop(settings: Settings) -> list[oidc.Provider]:
    """The OpenID Connect providers; an unsafe `[auth]` stops start-up saying what to fix."""
    try:
        return oidc.providers(auth_section(), settings.oidc_provider_label)
    except oidc.OidcConfigError as error:
        st.error(str(error), icon=":material/settings_alert:")
        st.stop()
        raise


def identity(settings: Settings) -> Identity:
    """Who is asking. An email alone is not a sign-in: only `is_logged_in` would be."""
    if settings.developer_mode:
        refuse_developer_mode_on_real_data(settings)
        return developer_identity()
    user = st.user
    if user.get("is_logged_in") is True:
        return _oidc_identity(settings, user)
    lookup = gate(settings).sessions.lookup(st.session_state.get(TOKEN))
    if lookup.account is None:
        if lookup.expired:
            _signed_out_when_idle(settings, lookup.expired_for)
        st.session_state.pop(TOKEN, None)
        return ANONYMOUS
    account = lookup.account
    return Identity(account.name, account.active_roles, via="password")


def _oidc_identity(settings: Settings, user: Mapping) -> Identity:
    email = str(user.get("email") or "").strip().lower()
    refusal = oidc.refusal(user, settings.oidc_allowed_domain)
    st.session_state[REFUSAL] = refusal
    account = None if refusal else gate(settings).accounts.get(email)
    if account is None or account.kind != OIDC or not account.active_roles:
        return Identity(email, frozenset(), via="oidc")
    lookup = gate(settings).sessions.lookup(st.session_state.get(TOKEN))
    if lookup.expired:
        _signed_out_when_idle(settings, email)
        st.session_state.pop(TOKEN, None)
        st.logout()  # ends the sign-in cookie too, so the next visit asks the provider again
        return ANONYMOUS
    if lookup.account is None or lookup.account.name != account.name:  # first run since sign-in
        outcome = gate(settings).open_session(account, client_address(), via="oidc")
        st.session_state[TOKEN] = outcome.token
    return Identity(email, account.active_roles, via="oidc")


def _signed_out_when_idle(settings: Settings, who: str) -> None:
    minutes = settings.idle_timeout_minutes
    st.session_state[NOTICE] = f"You were signed out after {minutes} minutes without activity."
    log.event(settings.access_log_path, who, log.IDLE_TIMEOUT)


def refuse_developer_mode_on_real_data(settings: Settings) -> None:
    """Developer mode lets everyone in: never over statistics from anything but the sample."""
    message = developer_mode_refusal(settings)
    if message:
        st.error(message, icon=":material/gpp_bad:")
        st.stop()
