"""Kanon's dashboard server: `streamlit run app.py` serves `dashboard.py`.

The only thing added to Streamlit's own server is start-up work: while the first visitor's
browser loads Streamlit's scripts (about two seconds), a background thread imports the
dashboard's modules and loads the last release (`ui.startup`), so the first page is drawn from
warm caches instead of paying for both one after the other.
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st

from ui import startup


@asynccontextmanager
async def _warm_up_in_background(app: st.App):
    threading.Thread(target=startup.warm_up, name="kanon-warm-up", daemon=True).start()
    yield


app = st.App("dashboard.py", lifespan=_warm_up_in_background)
