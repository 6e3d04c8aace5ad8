"""Settings and identity for one script run: the same answer for dashboard.py and every page.

Pages call these themselves (not only dashboard.py), so a page run on its own, or reached by a URL
it was not listed under, still checks who is asking before it shows anything. Who is asking
comes from the server only: a local session's random token (from Kanon's HttpOnly cookie,
looked up in the accounts file on every run) or Streamlit's OpenID Connect identity (with
Kanon's own record of that sign-in), and roles always from the allow-list. A token the browser
presents is only a key to look up: nothing a visitor can set grants a role.

Buttons whose effect comes later (a download's bytes are made on Streamlit's own thread when it
is clicked) capture a `Handle` when drawn and call `identity_at_click` when clicked.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kanon.access import log, oidc
from kanon.access.accounts import OIDC
from kanon.access.gate import Gate
from kanon.access.roles import ANONYMOUS, DEVELOPER_EMAIL, Identity, developer_identity
from kanon.access.sessions import (
    DISABLED,
    IDLE,
    LIFETIME,
    SIGNED_OUT,
    UNKNOWN,
    Sessions,
    oidc_key,
)
from kanon.developer import refusal as developer_mode_refusal
from kanon.i18n import N_, _
from kanon.settings import Settings, SettingsError, load_settings, settings_file
from kanon.ui.handoff import CLIENT_HEADER, COOKIE

TOKEN = "_kanon_session"  # a token just signed in here, until the browser has the cookie
NOTICE = "_kanon_notice"  # (text, values) for the next sign-in page, e.g. after an idle timeout
REFUSAL = "_kanon_refusal"  # why a signed-in OpenID Connect identity holds no role
LIVE = "_kanon_live"  # this run's sign-in as a Handle, for buttons checked at their click
PASSWORD, OIDC_VIA, DEVELOPER = "password", "oidc", "developer"
EXPIRED = "expired"  # access-log action: a sign-in outlived session_lifetime_hours
ENDED = N_("Your session has ended. Sign in again.")
_LOG = logging.getLogger(__name__)


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
    """Read once per change of the sources: validating them was much of a page's rerun.
    Settings are frozen, so every run may share them."""
    return load_settings()


def gate(settings: Settings) -> Gate:
    return Gate(
        accounts_path=settings.accounts_path,
        log_path=settings.access_log_path,
        home=settings.home,
        idle_seconds=settings.idle_timeout_minutes * 60,
    )


def sessions(settings: Settings) -> Sessions:
    """The server-side sessions with this install's idle timeout and absolute lifetime."""
    return Sessions(
        settings.accounts_path,
        settings.idle_timeout_minutes * 60,
        settings.session_lifetime_hours * 3600,
    )


def client_address() -> str | None:
    """The client's address as Kanon's server worked it out (`app.py`'s middleware: the peer,
    or the proxy's X-Forwarded-For when the peer is a trusted proxy); it replaces any header of
    that name the browser sent. Without that middleware (AppTest), Streamlit's own guess."""
    try:
        found = st.context.headers.get(CLIENT_HEADER)
        return found or st.context.ip_address
    except Exception:  # no browser behind this run
        return None


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (AppTest)
        return None
    return token if isinstance(token, str) and token else None


def auth_section() -> Mapping | None:
    """`[auth]` of secrets.toml as a plain mapping, or None when there is none."""
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None
    if section is None:
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
    """Who is asking. An email alone is not a sign-in: only `is_logged_in` would be.

    A local sign-in's token comes from this tab's session state (just signed in, before the
    browser has its cookie) or from the HttpOnly cookie; either is looked up on the server."""
    if settings.developer_mode:
        refuse_developer_mode_on_real_data(settings)
        st.session_state[LIVE] = Handle(DEVELOPER, None, DEVELOPER_EMAIL)
        return developer_identity()
    st.session_state.pop(LIVE, None)
    user = st.user
    if user.get("is_logged_in") is True:
        return _oidc_identity(settings, user)
    store = sessions(settings)
    for token in (st.session_state.get(TOKEN), _cookie_token()):
        if not token:
            continue
        lookup = store.lookup(token)
        if lookup.account is not None:
            account = lookup.account
            st.session_state[LIVE] = Handle(PASSWORD, token, account.name)
            return Identity(account.name, account.active_roles, via=PASSWORD)
        if token == st.session_state.get(TOKEN):
            st.session_state.pop(TOKEN)  # over (or swapped for the cookie's): never again
        if lookup.expired:
            _signed_out(settings, lookup.expired_for, lookup.reason)
        elif lookup.reason == DISABLED:
            st.session_state[NOTICE] = (ENDED, {})
    return ANONYMOUS


def _claims(user: Mapping) -> dict:
    plain = (str, int, float, bool, type(None), list, dict)
    return {name: user[name] for name in user if isinstance(user[name], plain)}


def _oidc_identity(settings: Settings, user: Mapping) -> Identity:
    email = str(user.get("email") or "").strip().lower()
    refusal = oidc.refusal(user, settings.oidc_allowed_domain)
    st.session_state[REFUSAL] = refusal
    account = None if refusal else gate(settings).accounts.get(email)
    claims = _claims(user)
    key = oidc_key(claims)
    store = sessions(settings)
    if account is None or account.kind != OIDC or not account.active_roles:
        if account is not None and account.disabled:
            store.end_oidc(key, DISABLED)  # enabling the account later does not revive it
        return Identity(email, frozenset(), via="oidc")
    issued = claims.get("iat")
    visit = store.oidc_visit(key, account.name, issued if isinstance(issued, int | float) else None)
    if visit.ended:
        if visit.just_ended and visit.ended in (IDLE, LIFETIME):
            _signed_out(settings, email, visit.ended)
        elif visit.ended in (IDLE, LIFETIME):
            st.session_state[NOTICE] = _notice(settings, visit.ended)
        st.logout()  # ends Streamlit's identity cookie, so the next visit asks the provider
        return ANONYMOUS
    if visit.new:
        log.event(
            settings.access_log_path, email, log.SIGN_IN, via="oidc", address=client_address()
        )
    st.session_state[LIVE] = Handle(OIDC_VIA, key, account.name)
    return Identity(email, account.active_roles, via=OIDC_VIA)


def _notice(settings: Settings, reason: str) -> tuple[str, dict[str, int]]:
    """The sign-in page's notice, translated when shown (the language is chosen later)."""
    if reason == LIFETIME:
        hours = settings.session_lifetime_hours
        return N_("You were signed out: a sign-in lasts at most {hours} hours."), {"hours": hours}
    minutes = settings.idle_timeout_minutes
    return N_("You were signed out after {minutes} minutes without activity."), {"minutes": minutes}


def notice_text(notice: tuple[str, dict[str, int]]) -> str:
    text, values = notice
    return _(text).format(**values)


def _signed_out(settings: Settings, who: str, reason: str) -> None:
    st.session_state[NOTICE] = _notice(settings, reason)
    action = log.IDLE_TIMEOUT if reason == IDLE else EXPIRED
    log.event(settings.access_log_path, who, action)


# --- the click: who is asking now, read again from the server -----------------------------


@dataclass(frozen=True)
class Handle:
    """What a click needs to find this run's sign-in again on the server: how it was made, its
    token (local) or key (OpenID Connect), and whose it was. Never a role."""

    via: str
    secret: str | None
    who: str
    streamlit_session: str | None = None  # told about a refusal, so the page can say why


def session_handle() -> Handle:
    """This run's sign-in as a `Handle` (captured when a button is drawn, checked at its click)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:  # not inside a page run: nobody's sign-in
        return Handle("", None, "")
    live = st.session_state.get(LIVE)
    found = live if isinstance(live, Handle) else Handle("", None, "")
    return replace(found, streamlit_session=ctx.session_id)


def identity_at_click(handle: Handle) -> tuple[Identity | None, str]:
    """Who `handle`'s sign-in belongs to now, with the roles the allow-list gives now; or None
    and why (idle, lifetime, disabled, signed-out, unknown, settings). Runs outside any page
    run (Streamlit calls a download's data on its own thread), so it reads no Streamlit state."""
    try:
        settings = current_settings()
    except SettingsError:
        return None, "settings"
    if handle.via == DEVELOPER:
        return (developer_identity(), "") if settings.developer_mode else (None, "settings")
    if settings.developer_mode:
        return None, "settings"
    store = sessions(settings)
    if handle.via == PASSWORD:
        lookup = store.lookup(handle.secret)
        account = lookup.account
        if account is None:
            return None, lookup.reason or UNKNOWN
        return Identity(account.name, account.active_roles, via=PASSWORD), ""
    if handle.via == OIDC_VIA:
        ended = store.oidc_check(handle.secret, handle.who)
        if ended:
            return None, ended
        if oidc.refusal(
            {"email": handle.who, "email_verified": True}, settings.oidc_allowed_domain
        ):
            return None, "settings"  # oidc_allowed_domain changed since the sign-in
        account = gate(settings).accounts.get(handle.who)
        if account is None or account.kind != OIDC:
            return None, UNKNOWN
        if account.disabled:
            store.end_oidc(handle.secret, DISABLED)
            return None, DISABLED
        return Identity(account.name, account.active_roles, via=OIDC_VIA), ""
    return None, UNKNOWN


REASONS = {
    IDLE: N_("No file: your session was idle for too long."),
    LIFETIME: N_("No file: your sign-in is older than a session may last."),
    DISABLED: N_("No file: your account is disabled."),
    SIGNED_OUT: N_("No file: you have signed out."),
    UNKNOWN: N_(
        "No file: your session has ended (signed out, or the account was removed or changed)."
    ),
    "settings": N_("No file: Kanon's settings changed."),
    "role": N_("No file: your roles no longer allow it."),
}

# The same reasons for a change that a click no longer may make (a note, a subscription).
CHANGE_REFUSED = {
    IDLE: N_("Nothing was changed: your session was idle for too long."),
    LIFETIME: N_("Nothing was changed: your sign-in is older than a session may last."),
    DISABLED: N_("Nothing was changed: your account is disabled."),
    SIGNED_OUT: N_("Nothing was changed: you have signed out."),
    UNKNOWN: N_(
        "Nothing was changed: your session has ended (signed out, or the account was removed "
        "or changed)."
    ),
    "settings": N_("Nothing was changed: Kanon's settings changed."),
    "role": N_("Nothing was changed: your roles no longer allow it."),
}


def change_refused(reason: str | None) -> str:
    """Why a click changed nothing, in the reader's language."""
    return _(CHANGE_REFUSED.get(reason or "role", CHANGE_REFUSED[UNKNOWN]))


_TOLD: dict[str, str] = {}  # Streamlit session id -> a refusal to show at its next run
_TOLD_LOCK = threading.Lock()


def tell(handle: Handle, message: str) -> None:
    """Leave `message` for the page that drew the button, and ask that page to run again so it
    shows it (and whatever the refusal changed: a sign-in page, a page without the button).
    Best effort: without it the click still gets no file."""
    session_id = handle.streamlit_session
    if not session_id:
        return
    with _TOLD_LOCK:
        _TOLD[session_id] = message
    try:
        from streamlit.runtime import Runtime

        session = Runtime.instance().get_app_session(session_id)
        if session is not None:
            # AppSession's methods belong on its event loop; this runs on a worker thread.
            session._event_loop.call_soon_threadsafe(session.request_rerun, session._client_state)
    except Exception:  # no runtime (AppTest), or a Streamlit that moved these
        _LOG.debug("could not ask the page to run again", exc_info=True)


def told() -> str | None:
    """A refusal left for this page by a click since its last run."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    with _TOLD_LOCK:
        return _TOLD.pop(ctx.session_id, None)


def refuse_developer_mode_on_real_data(settings: Settings) -> None:
    """Developer mode lets everyone in: never over statistics from anything but the sample."""
    message = developer_mode_refusal(settings)
    if message:
        st.error(message, icon=":material/gpp_bad:")
        st.stop()
