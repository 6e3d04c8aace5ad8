"""The pages, in the order the navigation lists them, and the action a role needs to see each.

One flat list, without sections: Streamlit draws a section's heading and its links inside the
navigation's `<ul>` as a `<div>`, which screen readers and axe-core's `list` and `listitem`
rules reject; a flat list is a valid `<ul>` of `<li>`. The order still groups them: the
dashboard's pages, then Privacy, then Admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import streamlit as st

from kanon.access.roles import ADMINISTER, READ_PRIVACY, VIEW, Identity, may
from kanon.i18n import N_, _

WANTED = "_kanon_wanted_page"  # the page address opened before signing in


@dataclass(frozen=True)
class PageSpec:
    script: str  # relative to dashboard.py
    title: str
    icon: str
    url_path: str
    action: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "kanon/ui/pages/overview.py",
        N_("Overview"),
        ":material/dashboard:",
        "overview",
        VIEW,
    ),
    PageSpec("kanon/ui/pages/top_pages.py", N_("Pages"), ":material/article:", "pages", VIEW),
    PageSpec(
        "kanon/ui/pages/sources.py",
        N_("Sources"),
        ":material/call_split:",
        "sources",
        VIEW,
    ),
    PageSpec(
        "kanon/ui/pages/technology.py",
        N_("Technology"),
        ":material/devices:",
        "technology",
        VIEW,
    ),
    PageSpec(
        "kanon/ui/pages/countries.py",
        N_("Countries"),
        ":material/public:",
        "countries",
        VIEW,
    ),
    PageSpec(
        "kanon/ui/pages/engagement.py",
        N_("Engagement"),
        ":material/timer:",
        "engagement",
        VIEW,
    ),
    PageSpec(
        "kanon/ui/pages/privacy.py",
        N_("Privacy"),
        ":material/shield_lock:",
        "privacy",
        READ_PRIVACY,
    ),
    PageSpec(
        "kanon/ui/pages/admin.py",
        N_("Admin"),
        ":material/admin_panel_settings:",
        "admin",
        ADMINISTER,
    ),
)


def allowed(identity: Identity) -> list[PageSpec]:
    return [spec for spec in PAGES if may(identity, spec.action)]


def pages_for(identity: Identity) -> list[st.Page]:
    """`st.navigation`'s pages: only those this identity may open.

    Every page keeps its own address (`/overview` too): the root address is a hidden start
    page that moves on to the first page this identity may open, keeping the query string.
    """
    pages = [
        st.Page(spec.script, title=_(spec.title), icon=spec.icon, url_path=spec.url_path)
        for spec in allowed(identity)
    ]
    if not pages:
        return []
    start = st.Page(
        lambda: _go_on(pages), title="Kanon", url_path="start", default=True, visibility="hidden"
    )
    return [start, *pages]


def remember_requested_page() -> None:
    """Before sign-in: the page whose address was opened, so signing in lands there."""
    url = st.context.url or ""
    st.session_state[WANTED] = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]


def _go_on(pages: list[st.Page]) -> None:
    wanted = st.session_state.pop(WANTED, None)
    target = next((page for page in pages if page.url_path == wanted), pages[0])
    st.switch_page(target, query_params=st.query_params.to_dict())
