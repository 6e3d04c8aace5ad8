"""Kanon's dashboard: settings, who is asking, then the pages that person's roles allow.

The page script of `streamlit run app.py` (app.py starts the server and warms it up). Every
page checks the role again itself (see `kanon.ui.page`).
"""

from pathlib import Path

import streamlit as st

from kanon.i18n import _
from kanon.private import make_private
from kanon.ui import context, language, messages, navigation, signin_page, summary_panels

# A file served by Kanon itself: a `:material/...` favicon would make every visitor's browser
# fetch it from Google's font servers.
ICON = Path(__file__).parent / "kanon" / "ui" / "assets" / "kanon-icon.png"

st.set_page_config(
    page_title="Kanon",
    page_icon=str(ICON),
    layout="wide",
    # Open beside the page on a wide screen, closed on a phone (Streamlit's breakpoint), where
    # an open sidebar covers the page: the first thing a phone shows is the title and figures.
    initial_sidebar_state="auto",
)

settings = context.settings_or_stop()
make_private(settings.home)  # umask 077, lax modes under KANON_HOME fixed (once per process)
providers = context.providers_or_stop(settings)
identity = context.identity(settings)
spoken = language.apply(settings, identity)  # the account's choice, the browser's, the setting
language.declare(spoken)
# a sign-in or sign-out just made here: Kanon's server sets or clears the cookie
signin_page.go_on()
if identity.developer:
    messages.developer_banner()
refused = context.told()  # a download refused at its click since the last run
if refused:
    st.error(_(refused), icon=":material/block:")

pages = navigation.pages_for(identity)
if not pages:
    accounts = context.gate(settings).accounts
    if identity.email:
        signin_page.no_access_page(settings, identity)
    elif accounts.is_empty():  # a fresh install: nothing is open until the first admin exists
        signin_page.setup_page(settings)
    else:
        signin_page.sign_in_page(settings, providers)
        if not accounts.has_admin():
            with st.expander("No admin yet: set up the first admin"):
                signin_page.setup_form(settings)
    st.stop()

current = st.navigation(pages)
messages.identity_caption(identity)
language.picker(settings, identity)
signin_page.sign_out_button(settings, identity)
summary_panels.my_summaries(settings, identity)
messages.stale_banner(settings)
current.run()
