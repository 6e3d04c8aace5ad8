"""Kanon's dashboard: settings, who is asking, then the pages that person's roles allow.

Run with `streamlit run app.py`. Every page checks the role again itself (see `ui.page`).
"""

import streamlit as st

from ui import components, context, navigation

st.set_page_config(
    page_title="Kanon",
    page_icon=":material/shield_lock:",
    layout="wide",
    initial_sidebar_state="expanded",
)

settings = context.settings_or_stop()
identity = context.identity(settings)
if identity.developer:
    components.developer_banner()

sections = navigation.pages_for(identity)
if not sections:
    components.signed_out(identity)
    st.stop()

current = st.navigation(sections)
components.identity_caption(identity)
components.stale_banner(settings)
current.run()
