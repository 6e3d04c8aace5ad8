"""Privacy: the promise, what the current selection withholds and why, and GA4's own flags."""

import pandas as pd
import streamlit as st

from connectors.catalog import BREAKDOWNS
from kanon import i18n
from kanon.access.roles import READ_PRIVACY
from kanon.i18n import N_, _
from kanon.ui import data, page, privacy_panels

SHARE = N_("Traffic not in a published row (%)")


@st.cache_resource(ttl=data.VIEW_TTL, max_entries=128, show_spinner=False)
def selection_tables(query: data.Query, language: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What each report withholds in the selection, and GA4's flags: built once per query and
    language and shared (`st.dataframe` only reads them), so a rerun is one lookup, not one per
    report."""
    withheld, flags = [], []
    yes, no = _("yes"), _("no")
    for name, breakdown in BREAKDOWNS.items():
        if query.grain not in breakdown.grains:
            continue
        summary = data.withheld(query, name)
        withheld.append(
            {
                _("Report"): _(breakdown.title),
                _("Cells"): summary.cells,
                _("Withheld cells"): summary.withheld_cells,
                _(SHARE): summary.withheld_share,
            }
        )
        found = data.ga4_flags(query, name)
        flags.append(
            {
                _("Report"): _(breakdown.title),
                _("GA4 thresholding"): yes if found["subject_to_thresholding"] else no,
                _("GA4 (other) row"): yes if found["data_loss_from_other_row"] else no,
                _("Sampled"): yes if found["sampled"] else no,
            }
        )
    return pd.DataFrame(withheld), pd.DataFrame(flags)


view = page.start(N_("Privacy"), "privacy", action=READ_PRIVACY)
k = view.release.k
grain = view.selection.grain

threshold, promise = st.columns([1, 4], vertical_alignment="center")
threshold.metric(
    _("Threshold k"),
    k,
    help=_("The fewest visitors a published figure may describe."),
    border=True,
)
promise.markdown(
    _(
        "**Kanon's promise:** No number shown or downloaded — nor any sum or difference of such "
        "numbers — reveals a count of fewer than {k} visitors."
    ).format(k=k)
)
st.markdown(
    _(
        """
- **Fewer than {k} visitors:** a figure for one category in one period (or the site in one
  period) with fewer than {k} visitors is withheld, with every figure of that cell.
- **Protects another cell:** other cells are withheld too when, together with published totals,
  they would let someone work out a withheld one by adding or subtracting.
- **One mark for both:** every withheld figure reads the same, so a withheld cell does not tell
  you whether it is small or protects a small one.
- **Empty looks like withheld:** a listed category has a row in every period, and a period in
  which nobody came from it reads “withheld” too. Otherwise a withheld row would say “at least
  one visitor”, and that alone can narrow a small count down.
- **Whole periods only:** figures exist only for whole days, ISO weeks and calendar months, and do
  not change once published, so two versions cannot be subtracted either.
- **Rare names are not listed:** a category withheld in every period of the release (at every
  grain: say a browser only one visitor uses) is never named in a page, chart, table or download.
  Its figures are in one row per period, **“Other (not listed)”**: the period's published total
  minus its listed rows, which anyone could work out from the published figures already. It also
  holds that period's withheld figures of listed categories. Its visitors read “—”: visitors are
  a distinct count and do not add up across rows. Where the period's total is withheld, so is
  the row.
- **Published once is enough to keep a name:** a category published in any period keeps its name
  everywhere, and reads “withheld” where it is withheld. That period has at least {k} visitors
  behind the name, so the name describes no small group; hiding it in other views would make one
  category's figures appear in some summaries and vanish from others. So “rare” means withheld
  in every period, not published in too few.
- Kanon does not promise differential privacy, nor protection against what someone already knows
  from elsewhere.
"""
    ).format(k=k)
)

st.header(_("Withheld in this selection"))
withheld, flags = selection_tables(view.query, i18n.language())
st.dataframe(
    withheld,
    hide_index=True,
    placeholder="—",
    key="privacy-withheld",
    column_config={
        _("Cells"): st.column_config.NumberColumn(format="localized"),
        _("Withheld cells"): st.column_config.NumberColumn(format="localized"),
        _(SHARE): st.column_config.NumberColumn(format="localized"),
    },
)
if grain not in BREAKDOWNS["pages"].grains:
    st.caption(
        _("Pages are published by week and month only, so they are not part of a daily view.")
    )

st.header(_("GA4's own flags for these figures"))
st.dataframe(flags, hide_index=True, key="privacy-flags")
st.caption(
    _(
        "Thresholding: GA4 itself left out small rows before Kanon saw them. (other) row: GA4 "
        "folded rare rows into one “(other)” row, which Kanon never shows as such. Sampled: GA4 "
        "estimated the figures from a sample of events."
    )
)

privacy_panels.promises(view.settings)
