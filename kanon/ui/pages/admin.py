"""Admin: the published release, the sync history, and a Sync button.

In developer mode (no sign-in, sample data only) it changes nothing real: it syncs only the
sample, and shows no accounts, access log, property check or data-subject requests.
"""

from typing import Any

import streamlit as st

from kanon.access.roles import ADMINISTER
from kanon.sources import SOURCES
from kanon.ui import admin_panels, data, messages, page, people, summary_panels

HISTORY_COLUMNS: dict[str, Any] = {
    "sync_id": st.column_config.NumberColumn("Sync"),
    "started_at": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm"),
    "finished_at": st.column_config.DatetimeColumn("Finished", format="YYYY-MM-DD HH:mm"),
    "source": "Source",
    "status": "Status",
    "message": st.column_config.TextColumn("Message", width="large"),
    "requests": st.column_config.NumberColumn("GA4 requests"),
    "tokens": st.column_config.NumberColumn("Quota tokens"),
    "tokens_left_hour": st.column_config.NumberColumn("Tokens left this hour"),
    "tokens_left_day": st.column_config.NumberColumn("Tokens left today"),
    "bytes_processed": st.column_config.NumberColumn("BigQuery bytes processed"),
    "bytes_billed": st.column_config.NumberColumn("BigQuery bytes billed"),
    "release_id": st.column_config.NumberColumn("Release"),
}
DEVELOPER_SOURCES = ("sample",)

settings, identity = page.guard("Admin", ADMINISTER)
developer = settings.developer_mode or identity.developer
page.log_once(settings, identity, "admin")
admin_panels.sync_outcome()

st.header("Published release")
info = data.release_info(str(settings.store_path))
if info is None:
    messages.no_release()
else:
    admin_panels.release_cards(info)

st.header("Sync")
last = messages.last_successful_sync(settings)
st.caption(f"Last successful sync: {last:%Y-%m-%d %H:%M}." if last else "No successful sync yet.")
picker, _ = st.columns([1, 2])
offered = DEVELOPER_SOURCES if developer else SOURCES
source = picker.selectbox(
    "Source",
    offered,
    index=offered.index(settings.source) if settings.source in offered else 0,
    key="sync_source",
)
if developer:
    st.caption("Developer mode syncs the sample property only.")
if st.button("Sync now", type="primary", icon=":material/sync:", key="sync_now"):
    admin_panels.run_sync(settings, identity, source if source in offered else offered[0])

if developer:
    st.info(
        "Developer mode shows no accounts, access log, data-subject requests or GA4 property: "
        "they belong to real people and a real property. Turn developer mode off and sign in "
        "as an admin to manage them (or use `kanon users`).",
        icon=":material/lock:",
    )
    st.header("Sync history")
    history = data.syncs(str(settings.store_path))
    if history.empty:
        st.caption("No sync has run yet.")
    else:
        st.dataframe(history, hide_index=True, key="sync-history", column_config=HISTORY_COLUMNS)
    st.stop()

st.header("GA4 property")
if settings.ga4_property is None:
    st.caption("No GA4 property is configured (setting `ga4_property` / KANON_GA4_PROPERTY).")
elif st.button("Check property settings", icon=":material/fact_check:", key="check_property"):
    admin_panels.check_property(settings)

st.header("Data-subject requests")
admin_panels.dsr_log(settings, identity)

st.header("Sync history")
history = data.syncs(str(settings.store_path))
if history.empty:
    st.caption("No sync has run yet.")
else:
    st.dataframe(history, hide_index=True, key="sync-history", column_config=HISTORY_COLUMNS)
    for line in admin_panels.bigquery_usage(history):
        st.caption(line)

st.header("Accounts")
people.accounts_section(settings, identity)

st.header("Summaries by e-mail")
summary_panels.subscriptions_section(settings, identity)

st.header("Access log")
people.access_log_section(settings, identity)
