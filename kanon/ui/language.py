"""Which language a page speaks: the account's own choice (the sidebar's control), else the
browser's (`st.context.locale`), else the `default_language` setting.

The choice is read from the accounts file once per browser session and account, and kept in
the session's state, so a rerun costs no file access.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3

import streamlit as st

from kanon import i18n
from kanon.access import preferences
from kanon.access.roles import Identity
from kanon.i18n import _
from kanon.settings import Settings

CHOSEN = "_kanon_language"  # (account, its language or None), read once per session
PICKER = "language_picker"
LANG_SCRIPT = "kanon_page_language"
SPOKEN = "_kanon_spoken"  # the language the session's last page was drawn in


def apply(settings: Settings, identity: Identity) -> str:
    """Speak this person's language for the rest of the run; returns it."""
    language = (
        account_language(settings, identity)
        or i18n.from_tag(st.context.locale)
        or settings.default_language
    )
    i18n.use(language)
    st.session_state[SPOKEN] = language
    return language


def declare(language: str) -> None:
    """Tell the browser the page's language (`<html lang>`), so a screen reader reads Bokmål
    with a Norwegian voice (WCAG 3.1.1). Streamlit's page says `lang="en"` whatever it shows
    and has no setting for it: a one-line script does it, in a container hidden by CSS (a
    style-only `st.html` takes no room; the script still runs)."""
    st.html(f"<style>.st-key-{LANG_SCRIPT} {{display: none}}</style>")
    with st.container(key=LANG_SCRIPT):
        st.html(
            f"<script>document.documentElement.lang = {json.dumps(language)};</script>",
            unsafe_allow_javascript=True,
        )


def resume() -> None:
    """For a widget's callback, which runs before the page (and perhaps in a new thread, whose
    language is the code's): speak the language the page was drawn in."""
    i18n.use(st.session_state.get(SPOKEN, i18n.language()))


def account_language(settings: Settings, identity: Identity) -> str | None:
    account = identity.email
    if not account:
        return None
    kept = st.session_state.get(CHOSEN)
    if kept is None or kept[0] != account:
        stored = None if identity.developer else _stored(settings, account)
        kept = (account, stored)
        st.session_state[CHOSEN] = kept
    return kept[1]


def _stored(settings: Settings, account: str) -> str | None:
    try:
        return preferences.language(settings.accounts_path, account)
    except (OSError, sqlite3.Error):  # an unreadable file: the browser decides
        return None


def picker(settings: Settings, identity: Identity) -> None:
    """The sidebar's language control; a change is kept with the account and shown at once."""
    current = i18n.language()
    chosen = st.sidebar.selectbox(
        _("Language"),
        i18n.LANGUAGES,
        index=i18n.LANGUAGES.index(current),
        format_func=i18n.NAMES.__getitem__,
        key=PICKER,
    )
    if chosen == current or chosen is None:
        return
    st.session_state[CHOSEN] = (identity.email, chosen)
    if not identity.developer:
        # an identity without an account row (OpenID Connect rules): this session only
        with contextlib.suppress(preferences.PreferenceError):
            preferences.set_language(settings.accounts_path, identity.email, chosen)
    st.rerun()
