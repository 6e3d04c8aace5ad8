"""Technology: browsers, device categories and operating systems."""

import streamlit as st

from kanon.i18n import N_, _
from kanon.ui import page, sections

view = page.start(N_("Technology"), "technology")
tabs = st.tabs([_("Browsers"), _("Devices"), _("Operating systems")])
for tab, name in zip(tabs, ["browsers", "devices", "operating_systems"], strict=True):
    with tab:
        sections.breakdown_section(view, name)
