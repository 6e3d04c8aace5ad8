"""The pages of someone without a role: sign-in, first-admin set-up, no access; and sign-out."""

from __future__ import annotations

import sys

import streamlit as st

from access import setup
from access.oidc import Provider
from access.roles import Identity
from kanon.settings import Settings
from ui import context, format, navigation

_ANNOUNCED: set[str] = set()  # set-up codes this server process has printed on its console


def sign_in_page(settings: Settings, providers: list[Provider]) -> None:
    """Name and password (Enter submits), and a button per OpenID Connect provider."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _sign_in_form(settings, providers)


def _sign_in_form(settings: Settings, providers: list[Provider]) -> None:
    st.title("Sign in to Kanon")
    notice = st.session_state.pop(context.NOTICE, None)
    if notice:
        st.info(notice, icon=":material/schedule:")
    with st.form("sign-in", clear_on_submit=True, enter_to_submit=True, border=True):
        name = st.text_input("Username", key="signin_name", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="signin_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary", key="signin_submit")
    if submitted:
        outcome = context.gate(settings).sign_in(name, password, context.client_address())
        if outcome.token:
            st.session_state[context.TOKEN] = outcome.token
            navigation.remember_requested_page()
            st.rerun()
        st.error(outcome.message, icon=":material/lock:")
    for provider in providers:
        args = () if provider.name is None else (provider.name,)
        st.button(
            f"Sign in with {provider.label}",
            on_click=st.login,
            args=args,
            key=f"oidc_{provider.name or 'default'}",
            icon=":material/login:",
            width="stretch",
        )
    st.caption(
        "Kanon shows aggregate statistics to the people who analyse the website's traffic. "
        "Reloading the page asks you to sign in again."
    )


def setup_page(settings: Settings) -> None:
    """A fresh install: the console's one-time code, then the first admin's name and password."""
    st.title("Set up Kanon")
    st.info(
        "No account exists yet, so nothing is open. Enter the one-time set-up code that "
        "Kanon printed on the console where it was started (it is also in the file "
        "`setup-code` in Kanon's home folder), then choose the first admin's name and password. "
        "From a shell, `kanon users add NAME --role admin` does the same.",
        icon=":material/key:",
    )
    setup_form(settings)


def setup_form(settings: Settings) -> None:
    _announce(setup.setup_code(settings.home)[0], settings)
    with st.form("first-admin", clear_on_submit=True, enter_to_submit=True):
        given = st.text_input("Set-up code", key="setup_code")
        name = st.text_input("Admin name", key="setup_name", autocomplete="username")
        password = st.text_input(
            "Password (at least 12 characters)",
            type="password",
            key="setup_password",
            autocomplete="new-password",
        )
        again = st.text_input(
            "Password again", type="password", key="setup_again", autocomplete="new-password"
        )
        submitted = st.form_submit_button("Create the first admin", type="primary")
    if not submitted:
        return
    if password != again:
        st.error("The two passwords differ.", icon=":material/error:")
        return
    outcome = context.gate(settings).create_first_admin(
        given, name, password, context.client_address()
    )
    if outcome.token:
        st.session_state[context.TOKEN] = outcome.token
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
    whom = settings.access_contact or "a Kanon admin"
    st.warning(
        f"You are signed in as {format.plain(identity.email)}, but you have no access to "
        f"Kanon's statistics: no role on its allow-list is yours. "
        f"{format.plain(reason) + ' ' if reason else ''}"
        f"Ask {format.plain(whom)} for access.",
        icon=":material/lock:",
    )
    sign_out_button(settings, identity, sidebar=False)


def sign_out_button(settings: Settings, identity: Identity, sidebar: bool = True) -> None:
    if identity.developer or not identity.email:
        return
    place = st.sidebar if sidebar else st
    if place.button("Sign out", key="sign_out", icon=":material/logout:"):
        context.gate(settings).sign_out(st.session_state.pop(context.TOKEN, None), identity.email)
        if identity.via == "oidc":
            st.logout()  # the browser goes to Streamlit's logout address, then back here
        else:
            st.rerun()
