"""Sources: where visits come from, by source / medium and by GA4's default channel group."""

import streamlit as st

from kanon.ui import page, sections

view = page.start("Sources", "sources")
by_source, by_channel = st.tabs(["Source / medium", "Channels"])
with by_source:
    sections.breakdown_section(view, "sources")
with by_channel:
    sections.breakdown_section(view, "channels")
