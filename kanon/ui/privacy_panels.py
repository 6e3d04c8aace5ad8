"""The Privacy page's pieces: its "What the policy promises, and what Kanon checked" section."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kanon.policy.promises import promise_rows
from kanon.policy.property_check import load_report
from kanon.policy_setup import last_check_path
from kanon.settings import Settings


def promises(settings: Settings) -> None:
    """Each promise with the last property check's result and time (every signed-in role)."""
    st.header("What the policy promises, and what Kanon checked")
    report = load_report(last_check_path(settings))
    st.dataframe(
        pd.DataFrame(promise_rows(report)),
        hide_index=True,
        key="privacy-promises",
        column_config={
            "Promise": st.column_config.TextColumn(width="medium"),
            "What Kanon found": st.column_config.TextColumn(width="large"),
        },
    )
    if report is None:
        st.caption(
            "No property check has run yet: an admin runs `kanon check-property` or the check "
            "on the Admin page."
        )
    else:
        st.caption(
            f"Last checked {report.checked_at} against GA4 property {report.property_id} "
            "through the GA4 Admin API."
        )
