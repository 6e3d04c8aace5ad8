"""Banners and messages every page may show: developer mode, no role, no release, stale data.

Everything data-derived (a signed-in email) is written as plain text through Streamlit's
escaping widgets, never `unsafe_allow_html`.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from kanon.access.roles import ADMINISTER, DOWNLOAD, READ_PRIVACY, VIEW, Identity
from kanon.freshness import is_stale
from kanon.i18n import N_, _
from kanon.settings import Settings
from kanon.ui import data, format

DEVELOPER_BANNER = N_(
    "Developer mode — sign-in is off; everyone here is an admin. Never use it with real data."
)
DENIED = {
    VIEW: N_("Your role does not give access to the dashboard. Ask an admin if you need it."),
    DOWNLOAD: N_("Your role does not give access to downloads. Ask an admin if you need it."),
    ADMINISTER: N_(
        "Your role does not give access to settings and sync. Ask an admin if you need it."
    ),
    READ_PRIVACY: N_(
        "Your role does not give access to the privacy page. Ask an admin if you need it."
    ),
}


def developer_banner() -> None:
    st.warning(_(DEVELOPER_BANNER), icon=":material/construction:")


def signed_out(identity: Identity, title: bool = True) -> None:
    """No role, no numbers: say who is signed in, or that signing in comes first."""
    if title:
        st.title("Kanon")
    if identity.email:
        st.warning(
            _(
                "Signed in as {email}, but no role on Kanon's allow-list grants you access. "
                "Ask an admin."
            ).format(email=format.plain(identity.email)),
            icon=":material/lock:",
        )
    else:
        st.info(
            _(
                "Sign in to see Kanon's statistics: open Kanon's start page. For offline work on "
                "the sample data only, developer mode (`KANON_DEVELOPER_MODE=1`) turns sign-in "
                "off."
            ),
            icon=":material/lock:",
        )


def denied(action: str) -> None:
    st.error(
        _(DENIED[action]),
        icon=":material/block:",
    )


def no_release() -> None:
    st.info(
        _(
            "No statistics have been published yet. An admin can publish the sample property "
            "with `kanon sync --source sample` (or the Sync button on the Admin page)."
        ),
        icon=":material/hourglass_empty:",
    )


def identity_caption(identity: Identity) -> None:
    """Who is signed in, with which roles (role names are the allow-list's own words)."""
    roles = ", ".join(sorted(identity.roles)) or _("no role")
    if identity.developer:
        who = _("developer (sign-in off)")
    else:
        who = identity.email or _("not signed in")
    text = _("Signed in: {who} · {roles}").format(who=format.plain(who), roles=format.plain(roles))
    st.sidebar.caption(text)


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
            _(
                "The statistics may be out of date: the last successful sync was {when} "
                "({hours} hours ago). An admin can sync on the Admin page."
            ).format(when=format.moment(last), hours=hours),
            icon=":material/schedule:",
        )


def last_successful_sync(settings: Settings) -> datetime | None:
    return data.last_successful_sync(str(settings.store_path))
