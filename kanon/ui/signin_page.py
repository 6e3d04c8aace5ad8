"""The pages of someone without a role: sign-in, first-admin set-up, no access; and sign-out."""

from __future__ import annotations

import json
import sys
from urllib.parse import urlencode, urlparse

import streamlit as st

from kanon.access import setup
from kanon.access.oidc import Provider
from kanon.access.roles import Identity
from kanon.access.sessions import SIGNED_OUT
from kanon.i18n import _
from kanon.settings import Settings
from kanon.ui import context, format, navigation
from kanon.ui.server import base_path

GO = "_kanon_go"  # an address of Kanon's server the browser goes to at the next run
_ANNOUNCED: set[str] = set()  # set-up codes this server process has printed on its console


def sign_in_page(settings: Settings, providers: list[Provider]) -> None:
    """Name and password (Enter submits), and a button per OpenID Connect provider."""
    _left, middle, _right = st.columns([1, 2, 1])
    with middle:
        _sign_in_form(settings, providers)


def _sign_in_form(settings: Settings, providers: list[Provider]) -> None:
    st.title(_("Sign in to Kanon"))
    notice = st.session_state.pop(context.NOTICE, None)
    if notice:
        st.info(context.notice_text(notice), icon=":material/schedule:")
    with st.form("sign-in", clear_on_submit=True, enter_to_submit=True, border=True):
        name = st.text_input(_("Username"), key="signin_name", autocomplete="username")
        password = st.text_input(
            _("Password"), type="password", key="signin_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button(_("Sign in"), type="primary", key="signin_submit")
    if submitted:
        outcome = context.gate(settings).sign_in(name, password, context.client_address())
        if outcome.token:
            signed_in(settings, outcome.token)
            navigation.remember_requested_page()
            st.rerun()
        st.error(outcome.message, icon=":material/lock:")
    for provider in providers:
        args = () if provider.name is None else (provider.name,)
        st.button(
            _("Sign in with {provider}").format(provider=provider.label),
            on_click=st.login,
            args=args,
            key=f"oidc_{provider.name or 'default'}",
            icon=":material/login:",
            width="stretch",
        )
    st.caption(
        _(
            "Kanon shows aggregate statistics to the people who analyse the website's traffic. "
            "A sign-in lasts until you sign out, {minutes} minutes without activity, or {hours} "
            "hours at most."
        ).format(minutes=settings.idle_timeout_minutes, hours=settings.session_lifetime_hours)
    )


def signed_in(settings: Settings, token: str) -> None:
    """A local sign-in: this tab uses the token at once, and the next run sends the browser to
    Kanon's server, which swaps a one-time ticket for the HttpOnly cookie and comes back here
    (this address and its query), so reloads, new tabs and links stay signed in."""
    st.session_state[context.TOKEN] = token
    ticket = context.sessions(settings).ticket(token, _here())
    st.session_state[GO] = f"{base_path()}/auth/session?ticket={ticket}"


def _here() -> str:
    """This page's path and query, to come back to after the cookie is set."""
    path = urlparse(st.context.url or "").path or "/"
    query = urlencode(st.query_params.to_dict())
    return f"{path}?{query}" if query else path


def go_on() -> None:
    """Send the browser to the address a sign-in or sign-out left for this run, if any."""
    target = st.session_state.pop(GO, None)
    if not target:
        return
    st.html(
        f"<script>window.location.replace({json.dumps(target)});</script>",
        unsafe_allow_javascript=True,
    )
    if "/auth/session" in target:
        # Draw nothing else: the browser leaves, and the page it opened comes back signed in.
        st.caption(_("Signing in…"))
        st.stop()


def setup_page(settings: Settings) -> None:
    """A fresh install: the console's one-time code, then the first admin's name and password."""
    st.title(_("Set up Kanon"))
    st.info(
        _(
            "No account exists yet, so nothing is open. Enter the one-time set-up code that "
            "Kanon printed on the console where it was started (it is also in the file "
            "`setup-code` in Kanon's home folder), then choose the first admin's name and "
            "password. From a shell, `kanon users add NAME --role admin` does the same."
        ),
        icon=":material/key:",
    )
    setup_form(settings)


def setup_form(settings: Settings) -> None:
    _announce(setup.setup_code(settings.home)[0], settings)
    with st.form("first-admin", clear_on_submit=True, enter_to_submit=True):
        given = st.text_input(_("Set-up code"), key="setup_code")
        name = st.text_input(_("Admin name"), key="setup_name", autocomplete="username")
        password = st.text_input(
            _("Password (at least 12 characters)"),
            type="password",
            key="setup_password",
            autocomplete="new-password",
        )
        again = st.text_input(
            _("Password again"), type="password", key="setup_again", autocomplete="new-password"
        )
        submitted = st.form_submit_button(_("Create the first admin"), type="primary")
    if not submitted:
        return
    if password != again:
        st.error(_("The two passwords differ."), icon=":material/error:")
        return
    outcome = context.gate(settings).create_first_admin(
        given, name, password, context.client_address()
    )
    if outcome.token:
        signed_in(settings, outcome.token)
        st.rerun()
    st.error(outcome.message, icon=":material/error:")


def _announce(code: str, settings: Settings) -> None:
    """Print the set-up code on the console once per server process."""
    if code in _ANNOUNCED:
        return
    _ANNOUNCED.add(code)
    print(
        f"\nKanon set-up code: {code}\nEnter it in the browser to create the first admin "
        f"(it is also in {setup.code_path(settings.home)}), or run "
        "`kanon users add NAME --role admin`.\n",
        file=sys.stderr,
        flush=True,
    )


def no_access_page(settings: Settings, identity: Identity) -> None:
    """Signed in, but the allow-list gives no role: say so and whom to ask; show no number."""
    st.title("Kanon")
    reason = st.session_state.get(context.REFUSAL) if identity.via == "oidc" else None
    whom = settings.access_contact or _("a Kanon admin")
    text = _(
        "You are signed in as {email}, but you have no access to Kanon's statistics: no role "
        "on its allow-list is yours."
    ).format(email=format.plain(identity.email))
    if reason:
        text += " " + format.plain(reason)
    text += " " + _("Ask {whom} for access.").format(whom=format.plain(whom))
    st.warning(
        text,
        icon=":material/lock:",
    )
    sign_out_button(settings, identity, sidebar=False)


def sign_out_button(settings: Settings, identity: Identity, sidebar: bool = True) -> None:
    if identity.developer or not identity.email:
        return
    place = st.sidebar if sidebar else st
    if place.button(_("Sign out"), key="sign_out", icon=":material/logout:"):
        handle = context.session_handle()
        st.session_state.pop(context.TOKEN, None)
        if identity.via == "oidc":
            context.sessions(settings).end_oidc(handle.secret, SIGNED_OUT)
            context.gate(settings).sign_out(None, identity.email)
            st.logout()  # the browser goes to Streamlit's logout address, then back here
        else:
            context.gate(settings).sign_out(handle.secret, identity.email)
            st.session_state[GO] = f"{base_path()}/auth/signout"  # the cookie goes too
            st.rerun()
