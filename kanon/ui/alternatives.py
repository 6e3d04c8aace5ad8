"""Text alternatives for charts: what a screen reader reads in place of a trend chart.

A chart is an SVG of tick labels and lines that a screen reader cannot summarise, so each site
trend is followed by one sentence with its range, lowest, highest and latest figure. Breakdown
charts need none: the table below them lists every figure they draw.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from connectors.figures import LABELS
from kanon.i18n import _
from kanon.ui import format
from reports.status import PUBLISHED


def trend_summary(trend: pd.DataFrame, metric: str, grain: str) -> str:
    """One sentence on the published figures of a site trend (withheld periods only counted)."""
    published = trend[(trend["status"] == PUBLISHED) & trend[metric].notna()]
    chart = format.per_grain(_(LABELS.get(metric, metric)), grain)
    if published.empty:
        return _("Chart of {chart}: every period in this range is withheld.").format(chart=chart)
    values = published[metric].to_numpy()
    low, high = published.iloc[int(values.argmin())], published.iloc[int(values.argmax())]
    latest = published.iloc[-1]
    return _(
        "Chart of {chart}: lowest {low} ({low_day}), highest {high} ({high_day}), "
        "latest {latest} ({latest_day}); {withheld} of {periods} periods withheld."
    ).format(
        chart=chart,
        low=format.figure(low[metric], metric),
        low_day=_day(low["period"]),
        high=format.figure(high[metric], metric),
        high_day=_day(high["period"]),
        latest=format.figure(latest[metric], metric),
        latest_day=_day(latest["period"]),
        withheld=len(trend) - len(published),
        periods=len(trend),
    )


def _day(period: date | str) -> str:
    return format.day(pd.Timestamp(period).date())
