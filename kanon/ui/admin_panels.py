"""The admin page's pieces: the published release, and a sync with progress and clear errors."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from kanon.access import log
from kanon.access.roles import ADMINISTER, Identity, may
from kanon.i18n import _
from kanon.settings import Settings
from kanon.sources import make_connector
from kanon.sync import sync
from kanon.ui import data, format
from kanon.ui.messages import denied


def release_cards(info: dict) -> None:
    """What was published last: threshold, size, and how much is withheld."""
    cards = [
        (_("Threshold k"), info.get("k")),
        (_("Cells"), info.get("cells")),
        (
            _("Withheld: fewer than {k} visitors").format(k=info.get("k")),
            info.get("withheld_primary"),
        ),
        (_("Withheld: protects another cell"), info.get("withheld_secondary")),
    ]
    for column, (label, value) in zip(st.columns(4), cards, strict=True):
        column.metric(label, format.figure(_number(value), "count"), border=True)
    first, last = _day(info.get("first_day")), _day(info.get("last_settled"))
    created_at: Any = info.get("created_at")  # a timestamp, as the store wrote it
    created = pd.Timestamp(created_at)
    st.caption(
        _("Release {release} from {source}, published {when}; covers {range}.").format(
            release=info.get("release_id"),
            source=format.plain(info.get("source")),
            when=format.moment(created.to_pydatetime()),
            range=format.span(first, last),
        )
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
    bar = st.progress(0.0, text=_("Starting the sync…"))

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    try:
        report = sync(settings, make_connector(settings, source), progress=progress)
    except Exception as error:  # any failure: the sync rolled back, the old release stands
        bar.empty()
        st.error(
            _(
                "The sync failed: {error}\n\nNothing was published; the previous release is "
                "unchanged and still shown."
            ).format(error=format.plain(error)),
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
        _(
            "BigQuery: the last sync processed {last}; the last 30 days' syncs processed "
            "{processed} and billed {billed} (bigquery_max_bytes caps each query)."
        ).format(
            last=_gigabytes(last["bytes_processed"]),
            processed=_gigabytes(recent["bytes_processed"].sum()),
            billed=_gigabytes(billed.sum()),
        )
    ]


def _gigabytes(value: Any) -> str:
    return _("{gigabytes} GB").format(gigabytes=format.number(float(value) / 1e9, 2))


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
        st.error(_("Could not check the property: {error}").format(error=format.plain(error)))
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
        st.caption(
            _("No data-subject request is logged. Run `kanon dsr lookup|delete` to make one.")
        )
        return
    rows = [
        {
            _("When"): entry["when"],
            _("Request"): entry["action"],
            _("By"): entry.get("by"),
            _("Identifier"): entry["subject_kind"],
            _("Person (salted hash)"): entry["subject_hash"].removeprefix("hmac-sha256:")[:16],
            **{tool: part["status"] for tool, part in entry["tools"].items()},
            _("Receipts"): "; ".join(
                f"{tool}: {part['message']}" for tool, part in entry["tools"].items()
            ),
        }
        for entry in reversed(entries)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="dsr-log")
    st.caption(
        _(
            "Kept {days} days (dsr_log_retention_days). A person is stored only as a hash "
            "salted per installation: the same person gives the same hash."
        ).format(days=settings.dsr_log_retention_days)
    )
