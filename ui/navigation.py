"""The pages, the section each sits in, and the action a role needs to see it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from access.roles import ADMINISTER, READ_PRIVACY, VIEW, Identity, may


@dataclass(frozen=True)
class PageSpec:
    script: str  # relative to app.py
    title: str
    icon: str
    url_path: str
    section: str
    action: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "ui/pages/overview.py", "Overview", ":material/dashboard:", "overview", "Dashboard", VIEW
    ),
    PageSpec("ui/pages/top_pages.py", "Pages", ":material/article:", "pages", "Dashboard", VIEW),
    PageSpec(
        "ui/pages/sources.py", "Sources", ":material/call_split:", "sources", "Dashboard", VIEW
    ),
    PageSpec(
        "ui/pages/technology.py",
        "Technology",
        ":material/devices:",
        "technology",
        "Dashboard",
        VIEW,
    ),
    PageSpec(
        "ui/pages/countries.py", "Countries", ":material/public:", "countries", "Dashboard", VIEW
    ),
    PageSpec(
        "ui/pages/engagement.py", "Engagement", ":material/timer:", "engagement", "Dashboard", VIEW
    ),
    PageSpec(
        "ui/pages/privacy.py",
        "Privacy",
        ":material/shield_lock:",
        "privacy",
        "About the data",
        READ_PRIVACY,
    ),
    PageSpec(
        "ui/pages/admin.py",
        "Admin",
        ":material/admin_panel_settings:",
        "admin",
        "Admin",
        ADMINISTER,
    ),
)


def allowed(identity: Identity) -> list[PageSpec]:
    return [spec for spec in PAGES if may(identity, spec.action)]


def pages_for(identity: Identity) -> dict[str, list[st.Page]]:
    """`st.navigation`'s sections, holding only the pages this identity may open."""
    sections: dict[str, list[st.Page]] = {}
    for index, spec in enumerate(allowed(identity)):
        page = st.Page(
            spec.script,
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=index == 0,
        )
        sections.setdefault(spec.section, []).append(page)
    return sections
