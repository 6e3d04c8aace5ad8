"""Banners and messages every page may show: developer mode, no role, no release, stale data.

Everything data-derived (a signed-in email) is written as plain text through Streamlit's
escaping widgets, never `unsafe_allow_html`.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from kanon.access.roles import ADMINISTER, DOWNLOAD, READ_PRIVACY, VIEW, Identity, describe
from kanon.freshness import is_stale
from kanon.settings import Settings
from kanon.ui import data, format

DEVELOPER_BANNER = (
    "Developer mode — sign-in is off; everyone here is an admin. Never use it with real data."
)
ACTION_WORDS = {
    VIEW: "the dashboard",
    DOWNLOAD: "downloads",
    ADMINISTER: "settings and sync",
    READ_PRIVACY: "the privacy page",
}


def developer_banner() -> None:
    st.warning(DEVELOPER_BANNER, icon=":material/construction:")


def signed_out(identity: Identity, title: bool = True) -> None:
    """No role, no numbers: say who is signed in, or that signing in comes first."""
    if title:
        st.title("Kanon")
    if identity.email:
        st.warning(
            f"Signed in as {format.plain(identity.email)}, but no role on Kanon's allow-list "
            "grants you access. Ask an admin.",
            icon=":material/lock:",
        )
    else:
        st.info(
            "Sign in to see Kanon's statistics: open Kanon's start page. For offline work on "
            "the sample data only, developer mode (`KANON_DEVELOPER_MODE=1`) turns sign-in off.",
            icon=":material/lock:",
        )


def denied(action: str) -> None:
    st.error(
        f"Your role does not give access to {ACTION_WORDS.get(action, action)}. "
        "Ask an admin if you need it.",
        icon=":material/block:",
    )


def no_release() -> None:
    st.info(
        "No statistics have been published yet. An admin can publish the sample property with "
        "`kanon sync --source sample` (or the Sync button on the Admin page).",
        icon=":material/hourglass_empty:",
    )


def identity_caption(identity: Identity) -> None:
    st.sidebar.caption(f"Signed in: {format.plain(describe(identity))}")


def stale_banner(settings: Settings) -> None:
    """Warn on every page when the last successful sync is older than `stale_after_hours`."""
    last = last_successful_sync(settings)
    if last is None:
        return
    now = datetime.now()
    if is_stale(last, settings.stale_after_hours, now):  # the rule /healthz and doctor apply
        age = now - last
        hours = int(age.total_seconds() // 3600)
        st.warning(
            f"The statistics may be out of date: the last successful sync was "
            f"{last:%Y-%m-%d %H:%M} ({hours} hours ago). An admin can sync on the Admin page.",
            icon=":material/schedule:",
        )


def last_successful_sync(settings: Settings) -> datetime | None:
    return data.last_successful_sync(str(settings.store_path))
