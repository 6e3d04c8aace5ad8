"""The Privacy page's pieces: its "What the policy promises, and what Kanon checked" section."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kanon.i18n import _
from kanon.policy.promises import promise_rows
from kanon.policy.property_check import load_report
from kanon.policy_setup import last_check_path
from kanon.settings import Settings


def promises(settings: Settings) -> None:
    """Each promise with the last property check's result and time (every signed-in role)."""
    st.header(_("What the policy promises, and what Kanon checked"))
    report = load_report(last_check_path(settings))
    # Every cell through `_`: the promises and results are catalog texts; a finding's own text
    # has no translation and reads as the property check wrote it.
    rows = [{_(column): _(value) for column, value in row.items()} for row in promise_rows(report)]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="privacy-promises",
        column_config={
            _("Promise"): st.column_config.TextColumn(width="medium"),
            _("What Kanon found"): st.column_config.TextColumn(width="large"),
        },
    )
    if report is None:
        st.caption(
            _(
                "No property check has run yet: an admin runs `kanon check-property` or the "
                "check on the Admin page."
            )
        )
    else:
        st.caption(
            _(
                "Last checked {when} against GA4 property {property} through the GA4 Admin API."
            ).format(when=report.checked_at, property=report.property_id)
        )
