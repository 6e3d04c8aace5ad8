"""Admin: the published release, the sync history, and a Sync button.

In developer mode (no sign-in, sample data only) it changes nothing real: it syncs only the
sample, and shows no accounts, access log, property check or data-subject requests.
"""

from typing import Any

import streamlit as st

from kanon.access.roles import ADMINISTER
from kanon.i18n import N_, _
from kanon.sources import SOURCES
from kanon.ui import admin_panels, data, format, messages, page, people, summary_panels


def history_columns() -> dict[str, Any]:
    """The sync history's column titles, in the reader's language."""
    when = f"{format.date_input()} HH:mm"
    return {
        "sync_id": st.column_config.NumberColumn(_("Sync")),
        "started_at": st.column_config.DatetimeColumn(_("Started"), format=when),
        "finished_at": st.column_config.DatetimeColumn(_("Finished"), format=when),
        "source": _("Source"),
        "status": _("Status"),
        "message": st.column_config.TextColumn(_("Message"), width="large"),
        "requests": st.column_config.NumberColumn(_("GA4 requests"), format="localized"),
        "tokens": st.column_config.NumberColumn(_("Quota tokens"), format="localized"),
        "tokens_left_hour": st.column_config.NumberColumn(
            _("Tokens left this hour"), format="localized"
        ),
        "tokens_left_day": st.column_config.NumberColumn(
            _("Tokens left today"), format="localized"
        ),
        "bytes_processed": st.column_config.NumberColumn(
            _("BigQuery bytes processed"), format="localized"
        ),
        "bytes_billed": st.column_config.NumberColumn(
            _("BigQuery bytes billed"), format="localized"
        ),
        "release_id": st.column_config.NumberColumn(_("Release")),
    }


DEVELOPER_SOURCES = ("sample",)

settings, identity = page.guard(N_("Admin"), ADMINISTER)
developer = settings.developer_mode or identity.developer
page.log_once(settings, identity, "admin")
admin_panels.sync_outcome()

st.header(_("Published release"))
info = data.release_info(str(settings.store_path))
if info is None:
    messages.no_release()
else:
    admin_panels.release_cards(info)

st.header(_("Sync"))
last = messages.last_successful_sync(settings)
st.caption(
    _("Last successful sync: {when}.").format(when=format.moment(last))
    if last
    else _("No successful sync yet.")
)
picker, _rest = st.columns([1, 2])
offered = DEVELOPER_SOURCES if developer else SOURCES
source = picker.selectbox(
    _("Source"),
    offered,
    index=offered.index(settings.source) if settings.source in offered else 0,
    key="sync_source",
)
if developer:
    st.caption(_("Developer mode syncs the sample property only."))
if st.button(_("Sync now"), type="primary", icon=":material/sync:", key="sync_now"):
    admin_panels.run_sync(settings, identity, source if source in offered else offered[0])

if developer:
    st.info(
        _(
            "Developer mode shows no accounts, access log, data-subject requests or GA4 "
            "property: they belong to real people and a real property. Turn developer mode off "
            "and sign in as an admin to manage them (or use `kanon users`)."
        ),
        icon=":material/lock:",
    )
    st.header(_("Sync history"))
    history = data.syncs(str(settings.store_path))
    if history.empty:
        st.caption(_("No sync has run yet."))
    else:
        st.dataframe(history, hide_index=True, key="sync-history", column_config=history_columns())
    st.stop()

st.header(_("GA4 property"))
if settings.ga4_property is None:
    st.caption(_("No GA4 property is configured (setting `ga4_property` / KANON_GA4_PROPERTY)."))
elif st.button(_("Check property settings"), icon=":material/fact_check:", key="check_property"):
    admin_panels.check_property(settings)

st.header(_("Data-subject requests"))
admin_panels.dsr_log(settings, identity)

st.header(_("Sync history"))
history = data.syncs(str(settings.store_path))
if history.empty:
    st.caption(_("No sync has run yet."))
else:
    st.dataframe(history, hide_index=True, key="sync-history", column_config=history_columns())
    for line in admin_panels.bigquery_usage(history):
        st.caption(line)

st.header(_("Accounts"))
people.accounts_section(settings, identity)

st.header(_("Summaries by e-mail"))
summary_panels.subscriptions_section(settings, identity)

st.header(_("Access log"))
people.access_log_section(settings, identity)
