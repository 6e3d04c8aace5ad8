"""The admin page's pieces: the published release, and a sync with progress and clear errors."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from kanon.access import log
from kanon.access.roles import ADMINISTER, Identity, may
from kanon.settings import Settings
from kanon.sources import make_connector
from kanon.sync import sync
from kanon.ui import data, format
from kanon.ui.messages import denied


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
    created_at: Any = info.get("created_at")  # a timestamp, as the store wrote it
    created = pd.Timestamp(created_at)
    st.caption(
        f"Release {info.get('release_id')} from {format.plain(info.get('source'))}, published "
        f"{created:%Y-%m-%d %H:%M}; covers {format.span(first, last)}."
    )


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _day(value: Any) -> date:
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


def bigquery_usage(history: pd.DataFrame) -> list[str]:
    """What BigQuery syncs processed and billed: the last one, and the last 30 days.

    Reads the sync history's `bytes_processed` and `bytes_billed` columns; a store without them
    (or with no BigQuery sync) gives nothing to say."""
    if "bytes_processed" not in history.columns or history.empty:
        return []
    runs = history[(history["source"] == "bigquery") & history["bytes_processed"].notna()]
    if runs.empty:
        return []
    last = runs.iloc[0]
    started = pd.to_datetime(runs["started_at"])
    recent = runs[started >= started.max() - pd.Timedelta(days=30)]
    billed = (
        recent["bytes_billed"] if "bytes_billed" in recent.columns else recent["bytes_processed"]
    )
    return [
        f"BigQuery: the last sync processed {_gigabytes(last['bytes_processed'])}; the last 30 "
        f"days' syncs processed {_gigabytes(recent['bytes_processed'].sum())} and billed "
        f"{_gigabytes(billed.sum())} (bigquery_max_bytes caps each query)."
    ]


def _gigabytes(value: Any) -> str:
    return f"{float(value) / 1e9:,.2f} GB"


def sync_outcome() -> None:
    """The result of the sync that just ran (kept across the rerun that follows it)."""
    lines = st.session_state.pop("_kanon_sync_outcome", None)
    if lines:
        st.success("\n\n".join(lines), icon=":material/check_circle:")


def check_property(settings: Settings) -> None:
    """Run `kanon check-property`'s checks, keep the result, and show every finding."""
    from connectors.base import ConnectorError
    from connectors.ga4_auth import load_credentials
    from kanon.policy import property_check as checks
    from kanon.policy.config import PolicyError
    from kanon.policy_setup import last_check_path, property_config

    try:
        report = checks.check_property(property_config(settings), load_credentials())
    except (PolicyError, ConnectorError, ValueError) as error:
        st.error(f"Could not check the property: {format.plain(error)}")
        return
    checks.save_report(report, last_check_path(settings))
    text = "\n".join(f"- {format.plain(line.strip())}" for line in report.lines())
    if report.exit_code == checks.EXIT_OK:
        st.success(text, icon=":material/verified:")
    elif report.exit_code == checks.EXIT_BROKEN:
        st.error(text, icon=":material/report:")
    else:
        st.warning(text, icon=":material/help:")


def dsr_log(settings: Settings, identity: Identity) -> None:
    """The data-subject request log, identifiers hashed (admins only)."""
    from kanon.policy import request_log

    if not may(identity, ADMINISTER):
        denied(ADMINISTER)
        return
    entries = request_log.read(settings.policy_folder, settings.dsr_log_retention_days)
    if not entries:
        st.caption("No data-subject request is logged. Run `kanon dsr lookup|delete` to make one.")
        return
    rows = [
        {
            "When": entry["when"],
            "Request": entry["action"],
            "By": entry.get("by"),
            "Identifier": entry["subject_kind"],
            "Person (salted hash)": entry["subject_hash"].removeprefix("hmac-sha256:")[:16],
            **{tool: part["status"] for tool, part in entry["tools"].items()},
            "Receipts": "; ".join(
                f"{tool}: {part['message']}" for tool, part in entry["tools"].items()
            ),
        }
        for entry in reversed(entries)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="dsr-log")
    st.caption(
        f"Kept {settings.dsr_log_retention_days} days (dsr_log_retention_days). A person is "
        "stored only as a hash salted per installation: the same person gives the same hash."
    )
