"""Settings and identity for one script run: the same answer for app.py and for every page.

Pages call these themselves (not only app.py), so a page run on its own, or reached by a URL
it was not listed under, still checks who is asking before it shows anything.
"""

from __future__ import annotations

import streamlit as st

from access.roles import ANONYMOUS, Identity, developer_identity, roles_for
from kanon.settings import Settings, SettingsError, load_settings

# Sign-in is a later issue; until then nobody is on the allow-list, so signing in grants nothing.
ALLOW_LIST: dict[str, list[str]] = {}


def settings_or_stop() -> Settings:
    """The settings; a bad one stops the page with the message naming it."""
    try:
        return load_settings()
    except SettingsError as error:
        st.error(str(error), icon=":material/settings_alert:")
        st.stop()
        raise  # st.stop raises; this keeps type checkers and readers certain


def identity(settings: Settings) -> Identity:
    """Who is asking. An email alone is not a sign-in: only `is_logged_in` would be."""
    if settings.developer_mode:
        return developer_identity()
    user = st.user
    if user.get("is_logged_in") is True:
        email = str(user.get("email") or "")
        return Identity(email=email, roles=roles_for(email, ALLOW_LIST))
    return ANONYMOUS
