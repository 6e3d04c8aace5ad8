"""The admin page's pieces: the published release, and a sync with progress and clear errors."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from access import log
from access.roles import ADMINISTER, Identity, may
from kanon.settings import Settings
from kanon.sources import make_connector
from kanon.sync import sync
from ui import data, format
from ui.components import denied


def release_cards(info: dict) -> None:
    """What was published last: threshold, size, and how much is withheld."""
    cards = [
        ("Threshold k", info.get("k")),
        ("Cells", info.get("cells")),
        (f"Withheld: fewer than {info.get('k')} visitors", info.get("withheld_primary")),
        ("Withheld: protects another cell", info.get("withheld_secondary")),
    ]
    for column, (label, value) in zip(st.columns(4), cards, strict=True):
        column.metric(label, format.figure(_number(value), "count"), border=True)
    first, last = _day(info.get("first_day")), _day(info.get("last_settled"))
    created = pd.Timestamp(info.get("created_at"))
    st.caption(
        f"Release {info.get('release_id')} from {format.plain(info.get('source'))}, published "
        f"{created:%Y-%m-%d %H:%M}; covers {format.span(first, last)}."
    )


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _day(value: object) -> date:
    return pd.Timestamp(value).date()


def run_sync(settings: Settings, identity: Identity, source: str) -> None:
    """Pull, protect and publish with a progress bar; on failure say why and keep the old data."""
    if not may(identity, ADMINISTER):
        denied(ADMINISTER)
        return
    bar = st.progress(0.0, text="Starting the sync…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    try:
        report = sync(settings, make_connector(settings, source), progress=progress)
    except Exception as error:  # any failure: the sync rolled back, the old release stands
        bar.empty()
        st.error(
            f"The sync failed: {format.plain(error)}\n\nNothing was published; the previous "
            "release is unchanged and still shown.",
            icon=":material/sync_problem:",
        )
        return
    finally:
        data.forget()
    log.record(settings.access_log_path, identity.email, "sync", source)
    st.session_state["_kanon_sync_outcome"] = report.lines()
    st.rerun()  # redraw every figure and banner from the new release


def sync_outcome() -> None:
    """The result of the sync that just ran (kept across the rerun that follows it)."""
    lines = st.session_state.pop("_kanon_sync_outcome", None)
    if lines:
        st.success("\n\n".join(lines), icon=":material/check_circle:")


def check_property(settings: Settings) -> None:
    """The GA4 property's retention and signals, read through the Admin API."""
    from connectors.base import ConnectorError
    from connectors.ga4_admin import check_property as read_property

    try:
        result = read_property(settings)
    except (ConnectorError, ValueError) as error:
        st.error(f"Could not read the property: {format.plain(error)}")
        return
    text = "\n".join(f"- {format.plain(line)}" for line in result.lines())
    if result.ok:
        st.success(text, icon=":material/verified:")
    else:
        st.error(text, icon=":material/report:")
