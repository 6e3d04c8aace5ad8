"""Technology: browsers, device categories and operating systems."""

import streamlit as st

from kanon.ui import page, sections

view = page.start("Technology", "technology")
tabs = st.tabs(["Browsers", "Devices", "Operating systems"])
for tab, name in zip(tabs, ["browsers", "devices", "operating_systems"], strict=True):
    with tab:
        sections.breakdown_section(view, name)
