"""Views: KPIs, trend series, breakdown tables and comparisons, computed from a Release only.

Every number here is a published figure or a sum or ratio of published figures, so nothing a
view shows can reveal more than the release already does. Users are a distinct count: they are
shown per period (or as an average of per-period figures), never summed across periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import numpy as np
import pandas as pd

from connectors.catalog import ADDITIVE, BREAKDOWNS, OVERVIEW
from connectors.figures import DECIMALS, LABELS, complements, ratios
from reports.cells import FIGURES, KEY
from reports.grid import Selection, period_end, snap
from reports.protect import Release
from reports.status import PUBLISHED, SHOWN_WITHHELD, shown

OTHER = "Other (not listed)"  # the one row per period that carries every category not listed

ADDITIVE_SHOWN = list(ADDITIVE)  # a list: pandas selects columns by a list

# The figures of a KPI card row, a trend picker and a breakdown table, in that order.
HEADLINE_FIGURES = (
    "users",
    "sessions",
    "views",
    "views_per_session",
    "avg_session_duration",
    "engagement_rate",
    "bounce_rate",
)


def select(release: Release, grain: str, first: date, last: date) -> Selection:
    """The range [first, last] snapped to whole published periods at `grain`."""
    return snap(first, last, grain, release.periods(grain))


def withheld_text(k: int) -> str:
    """One wording for every withheld cell, whichever the reason (see `status.shown`)."""
    return f"withheld: fewer than {k} visitors (none, possibly), or protects such a cell"


def series(release: Release, breakdown: str, selection: Selection) -> pd.DataFrame:
    """One row per listed cell in the selection, and one "Other (not listed)" row per period
    that withholds anything, with rounded derived figures. Rare categories are never named."""
    cells = _selected(release, breakdown, selection)
    cells["other"] = False
    if breakdown != OVERVIEW:
        rare = rare_categories(release, breakdown)
        listed = cells[~cells["category"].isin(rare)]
        other = _other_rows(release, breakdown, selection, cells)
        cells = pd.concat([listed, other]) if len(other) else listed.copy()
        cells[FIGURES] = cells[FIGURES].astype("float64")
    cells["label"] = [
        OTHER if other else release.label(breakdown, c)
        for c, other in zip(cells["category"], cells["other"], strict=True)
    ]
    cells["period_end"] = [period_end(p, selection.grain) for p in cells["period"]]
    cells = add_ratios(cells)
    return cells.sort_values(
        ["period", "other", "sessions", "views", "category"],
        ascending=[True, True, False, False, True],
        ignore_index=True,
    )


def rare_categories(release: Release, breakdown: str) -> frozenset[str]:
    """Categories withheld in every period of the release, at every grain: never named.

    The whole release decides, not the selection, so a category is listed or folded the same
    way in every view and download. A category published in any period keeps its name: that
    period has at least k visitors behind it, so the name describes no small group.
    """
    cells = release.cells
    mine = cells[cells["breakdown"] == breakdown]
    published = set(mine.loc[mine["status"] == PUBLISHED, "category"])
    return frozenset(set(mine["category"]) - published)


def _selected(release: Release, breakdown: str, selection: Selection) -> pd.DataFrame:
    """The release's cells of the selection, statuses as people see them."""
    table = release.table(breakdown, selection.grain)
    cells = table[table["period"].isin(selection.periods)].copy()
    cells["status"] = cells["status"].map(shown)
    return cells


def _other_rows(
    release: Release, breakdown: str, selection: Selection, cells: pd.DataFrame
) -> pd.DataFrame:
    """One "Other (not listed)" row per period with a withheld cell.

    Its additive figures are the period's published site total minus the period's published
    rows: a difference of published figures, so it reveals nothing the release does not
    (tests/unit/test_summaries.py proves it with the attacker's LP and audit). Where the site
    total is withheld, so is the row. Visitors, and figures that do not add up across this
    breakdown's rows (sessions across pages), stay blank: they are not sums of rows.
    """
    periods = sorted(set(cells.loc[cells["status"] == SHOWN_WITHHELD, "period"]))
    columns = [*KEY, *FIGURES, "status", "other"]
    if not periods:
        return pd.DataFrame(columns=columns)
    site = _selected(release, OVERVIEW, selection).set_index("period")
    published = cells[cells["status"] == PUBLISHED].groupby("period")[list(ADDITIVE)].sum()
    additive = BREAKDOWNS[breakdown].category_additive
    rows = []
    for period in periods:
        row = {"breakdown": breakdown, "grain": selection.grain, "period": period}
        row.update(category=OTHER, other=True, status=SHOWN_WITHHELD)
        row.update(dict.fromkeys(FIGURES, np.nan))
        if period in site.index and site.at[period, "status"] == PUBLISHED:
            row["status"] = PUBLISHED
            for figure in additive:
                listed = published.at[period, figure] if period in published.index else 0.0
                total = cast(float, site.at[period, figure])
                row[figure] = round(float(total) - float(cast(float, listed)), 3)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def add_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates and averages (connectors.figures' derived figures), rounded, where both numerator
    and denominator are published."""
    frame = frame.copy()
    for name, ratio in ratios():
        top = frame[ratio.numerator].astype("float64")
        bottom = frame[ratio.denominator].astype("float64").where(frame[ratio.denominator] > 0)
        frame[name] = (top / bottom * ratio.scale).round(DECIMALS[name])
    for name, complement in complements():
        frame[name] = (complement.whole - frame[complement.of]).round(DECIMALS[name])
    return frame


def breakdown_table(release: Release, breakdown: str, selection: Selection) -> pd.DataFrame:
    """Per category over the selection: sums of published periods and the periods withheld."""
    cells = series(release, breakdown, selection)
    if cells.empty:
        return pd.DataFrame(
            columns=["category", "label", "other", "users", *ADDITIVE_SHOWN, "status"]
        )
    cells["is_withheld"] = cells["status"] == SHOWN_WITHHELD
    grouped = cells.groupby(["category", "label", "other"], sort=False)
    table = grouped[ADDITIVE_SHOWN].sum(min_count=1)
    table["users"] = grouped["users"].mean().round(0)  # an average of per-period counts
    table["periods"] = grouped.size()
    table["withheld_periods"] = grouped["is_withheld"].sum().astype(int)
    table["status"] = grouped["status"].agg(_range_status)
    table = add_ratios(table.reset_index())
    return table.sort_values(
        ["other", "sessions", "views", "category"],
        ascending=[True, False, False, True],
        na_position="last",
        ignore_index=True,
    )


def _range_status(statuses: pd.Series) -> str:
    withheld = statuses == SHOWN_WITHHELD
    if not withheld.any():
        return PUBLISHED
    return SHOWN_WITHHELD if withheld.all() else "partial"


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    value: float | None
    previous: float | None
    withheld_periods: int

    @property
    def change(self) -> float | None:
        """Relative change against the previous run of periods, in percent."""
        if self.value is None or not self.previous:
            return None
        return round((self.value - self.previous) / self.previous * 100.0, 1)


def kpis(release: Release, selection: Selection) -> list[Kpi]:
    """Site-wide cards for the selection, each against the same number of periods before."""
    now = _site_totals(release, selection.grain, selection.periods)
    before = _site_totals(release, selection.grain, selection.previous)
    cards = []
    for name in HEADLINE_FIGURES:
        label = LABELS[name]
        if name == "users":
            label = f"{label} per {selection.grain} (average)"
        cards.append(
            Kpi(name, label, now.get(name), before.get(name), int(now.get("withheld_periods", 0)))
        )
    return cards


def _site_totals(release: Release, grain: str, periods: tuple[date, ...]) -> dict:
    if not periods:
        return {}
    table = release.table(OVERVIEW, grain)
    cells = table[table["period"].isin(periods)]
    published = cells[cells["status"] == PUBLISHED]
    if published.empty:
        return {"withheld_periods": len(cells)}
    sums = published[ADDITIVE_SHOWN].sum().to_frame().T
    sums["users"] = np.round(published["users"].mean(), 0)
    totals = add_ratios(sums).iloc[0].to_dict()
    totals["withheld_periods"] = int(len(cells) - len(published))
    return {k: (None if pd.isna(v) else float(v)) for k, v in totals.items()}


def site_trend(release: Release, selection: Selection) -> pd.DataFrame:
    """The site total per period, with the previous run of periods aligned beside it."""
    current = series(release, OVERVIEW, selection)
    previous = series(release, OVERVIEW, Selection(selection.grain, selection.previous, ()))
    current["offset"] = np.arange(len(current))
    previous["offset"] = np.arange(len(previous))
    return current.merge(
        previous[
            [
                "offset",
                *FIGURES,
                "engagement_rate",
                "avg_session_duration",
                "views_per_session",
                "bounce_rate",
            ]
        ],
        on="offset",
        how="left",
        suffixes=("", "_previous"),
    )


@dataclass(frozen=True)
class Withheld:
    """How much of a breakdown's traffic in the selection is withheld (from published sums)."""

    cells: int
    withheld_cells: int
    figure: str
    withheld_share: float | None  # share of the site's figure not attributed to a published cell


def withheld(release: Release, breakdown: str, selection: Selection) -> Withheld:
    """Counts of the release's cells in the selection, and the share of the main figure."""
    cells = _selected(release, breakdown, selection)
    figure = "views" if BREAKDOWNS[breakdown].scope == "page" else "sessions"
    return Withheld(
        cells=len(cells),
        withheld_cells=int((cells["status"] == SHOWN_WITHHELD).sum()),
        figure=figure,
        withheld_share=withheld_shares(release, breakdown, selection).get(figure),
    )


def withheld_shares(
    release: Release, breakdown: str, selection: Selection
) -> dict[str, float | None]:
    """Per figure that adds up across the breakdown's rows: the percentage of the site's figure
    not in a published row. Only periods whose site total is published count, so each share is
    a function of published figures alone; None where there is nothing to divide by."""
    site = _selected(release, OVERVIEW, selection)
    site = site[site["status"] == PUBLISHED]
    cells = _selected(release, breakdown, selection)
    shown = cells[cells["period"].isin(site["period"]) & (cells["status"] == PUBLISHED)]
    shares: dict[str, float | None] = {}
    for figure in BREAKDOWNS[breakdown].category_additive:
        total = float(site[figure].sum())
        missing = max(total - float(shown[figure].sum()), 0.0)
        shares[figure] = round(missing / total * 100.0, 1) if total > 0 else None
    return shares


def ga4_flags(release: Release, breakdown: str, selection: Selection) -> dict[str, bool]:
    """GA4's own warnings for the figures in the selection."""
    flags = release.flags
    names = ["subject_to_thresholding", "data_loss_from_other_row", "sampled"]
    if flags is None or flags.empty:
        return dict.fromkeys(names, False)
    periods = pd.to_datetime(pd.Series(selection.periods)).dt.date.tolist()
    chosen = flags[
        (flags["breakdown"] == breakdown)
        & (flags["grain"] == selection.grain)
        & (pd.to_datetime(flags["period"]).dt.date.isin(periods))
    ]
    return {name: bool(chosen[name].any()) if name in chosen else False for name in names}
