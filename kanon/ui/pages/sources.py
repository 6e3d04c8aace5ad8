"""Sources: where visits come from, by source / medium and by GA4's default channel group."""

import streamlit as st

from kanon.i18n import N_, _
from kanon.ui import page, sections

view = page.start(N_("Sources"), "sources")
by_source, by_channel = st.tabs([_("Source / medium"), _("Channels")])
with by_source:
    sections.breakdown_section(view, "sources")
with by_channel:
    sections.breakdown_section(view, "channels")
