"""Kanon's dashboard server: `streamlit run app.py` serves `dashboard.py`.

What Kanon adds to Streamlit's own server (`kanon.ui.server`): the routes that set and clear the
sign-in cookie (`/auth/session`, `/auth/signout`), middleware that works out the client's
address (`trusted_proxies`) and puts safe headers on every response, and safe defaults that
hold whatever folder the server is started from (`.streamlit/config.toml` is read only from
the working folder): listen on 127.0.0.1 unless told otherwise, and never show a visitor an
error's details.

Start-up work: while the first visitor's browser loads Streamlit's scripts (about two
seconds), a background thread imports the dashboard's modules and loads the last release
(`kanon.ui.startup`), so the first page is drawn from warm caches instead of paying for both one
after the other.
"""

import logging
import threading
from contextlib import asynccontextmanager

import streamlit as st
from streamlit import config

from kanon.ui import server, startup

# Readable colours (WCAG AA contrast), for the light theme they are made for: the reasons are
# in .streamlit/config.toml, which holds the same.
THEME = {
    "theme.textColor": "#0e1117",
    "theme.primaryColor": "#b0303e",
    "theme.codeTextColor": "#0e1117",
}

# Safe defaults in code too: a value given on the command line, in the environment or in a
# config file still wins for the address; error details stay off whatever was given.
if not config.is_manually_set("server.address"):
    config.set_option("server.address", "127.0.0.1", "kanon app.py")
config.set_option("client.showErrorDetails", "none", "kanon app.py")
if config.get_option("theme.base") in (None, "light"):
    config.set_option("theme.base", "light", "kanon app.py")
    for option, colour in THEME.items():
        if not config.is_manually_set(option):
            config.set_option(option, colour, "kanon app.py")


@asynccontextmanager
async def _warm_up_in_background(app: st.App):
    for warning in server.start_up_warnings(
        server._settings(), config.get_option("server.address")
    ):
        logging.getLogger("kanon.server").warning(warning)
    threading.Thread(target=startup.warm_up, name="kanon-warm-up", daemon=True).start()
    yield


app = st.App(
    "dashboard.py",
    lifespan=_warm_up_in_background,
    routes=server.routes(),
    middleware=server.middleware(),
)
