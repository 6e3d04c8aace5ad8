"""The linear relations an attacker can use: which published figures add up to which.

Every relation bounds a sum over the rows of one cells frame (row position = cell id),
`low <= sum(coefficient * cell) <= high`, and binds only the figures for which it holds:

- **category** (equality): in each (breakdown, grain, period), the categories sum to the overview
  cell of that grain and period, for the breakdown's `category_additive` figures
  (session-scoped breakdowns: all of ADDITIVE; pages: views and engagement seconds; users
  never). Residual rows (`RESIDUAL`, added by `reports.suppress` where GA4's rows do not add up
  to the site total) are ordinary categories; `OVERCOUNT` rows enter with coefficient -1.
- **time** (equality): for breakdowns published by day, the day cells of a category sum to its
  ISO-week and month cells, for every ADDITIVE figure, where every day of the week or month lies
  inside the frame's range of days. Absent cells are zero (GA4 omits all-zero rows). Residual
  and GA4 `(other)` rows have no time relation: GA4 folds different rows into them per query.
- **time, folded** (two inequalities): where a day of the period has an `(other)` or
  `RESIDUAL` row in that breakdown, a category may be hidden in it that day, so its visible
  days sum to at most its week or month cell, and at least that cell minus those folded rows.

Pages have no day grain, and weeks do not nest in months, so pages have no time relation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from connectors.catalog import ADDITIVE, BREAKDOWNS, OVERVIEW
from reports.status import GA4_OTHER_CATEGORY

RESIDUAL = "(unattributed)"  # total minus the sum of GA4's rows, when positive
OVERCOUNT = "(overcounted)"  # the sum of GA4's rows minus the total, when positive
RESIDUALS = (RESIDUAL, OVERCOUNT)
_NO_TIME_RELATION = (*RESIDUALS, GA4_OTHER_CATEGORY)
_FOLDS = (GA4_OTHER_CATEGORY, RESIDUAL)  # rows that may hide a category on a day

CATEGORY = "category"
TIME = "time"
FOLDED = "time, folded"


@dataclass(frozen=True)
class Relations:
    """Sparse relations (rows) over cells (columns), their bounds, and the figures they bind."""

    matrix: sp.csr_array  # relations x cells; coefficients +1 (parts) and -1 (aggregate)
    low: np.ndarray  # 0 for equalities, -inf or 0 for inequalities
    high: np.ndarray
    binds: np.ndarray  # bool, relations x len(ADDITIVE)
    labels: pd.DataFrame  # kind, breakdown, grain, period, category (time relations only)

    @property
    def n_cells(self) -> int:
        return self.matrix.shape[1]

    @property
    def equality(self) -> np.ndarray:
        return self.low == self.high

    def for_figure(self, figure: str) -> sp.csr_array:
        """The relations that hold for `figure` (rows of other relations are dropped)."""
        return self.matrix[self.rows_for_figure(figure)]

    def rows_for_figure(self, figure: str) -> np.ndarray:
        return np.flatnonzero(self.binds[:, ADDITIVE.index(figure)])


def build(cells: pd.DataFrame) -> Relations:
    """All category and time relations of a cells frame (any index; ids are row positions)."""
    frame = _keyed(cells)
    parts = [p for p in (_category_relations(frame), *_time_relations(frame)) if p is not None]
    if not parts:
        empty = np.zeros(0)
        return Relations(
            sp.csr_array((0, len(frame))),
            empty,
            empty,
            np.zeros((0, len(ADDITIVE)), bool),
            _no_labels(),
        )
    rows, cols, coef, low, high, binds, labels = [], [], [], [], [], [], []
    offset = 0
    for part in parts:
        rows.append(part.entries["relation"].to_numpy() + offset)
        cols.append(part.entries["cell"].to_numpy())
        coef.append(part.entries["coef"].to_numpy())
        n = len(part.labels)
        low.append(np.full(n, part.low))
        high.append(np.full(n, part.high))
        binds.append(part.binds)
        labels.append(part.labels)
        offset += n
    matrix = sp.csr_array(
        (np.concatenate(coef).astype(float), (np.concatenate(rows), np.concatenate(cols))),
        shape=(offset, len(frame)),
    )
    matrix.sum_duplicates()
    return Relations(
        matrix,
        np.concatenate(low),
        np.concatenate(high),
        np.vstack(binds),
        pd.concat(labels, ignore_index=True),
    )


@dataclass
class _Part:
    entries: pd.DataFrame  # relation, cell, coef
    binds: np.ndarray
    labels: pd.DataFrame
    low: float = 0.0
    high: float = 0.0


def _no_labels() -> pd.DataFrame:
    return pd.DataFrame(columns=["kind", "breakdown", "grain", "period", "category"])


def _keyed(cells: pd.DataFrame) -> pd.DataFrame:
    """Key columns plus the cell id (row position) and the period as a day ordinal."""
    frame = cells[["breakdown", "grain", "period", "category"]].reset_index(drop=True)
    # As categoricals, the filters, merges and de-duplications below compare integer codes
    # instead of text, which is quicker (relations are built twice a sync: bench_sync.py).
    for column in ("breakdown", "grain", "category"):
        frame[column] = frame[column].astype("category")
    frame["cell"] = np.arange(len(frame))
    frame["day"] = ordinals(frame["period"])
    return frame


_EPOCH = 719163  # date(1970, 1, 1).toordinal(): numpy's day 0


def ordinals(periods: pd.Series) -> np.ndarray:
    """Each period's first day as `date.toordinal()`, vectorised.

    A release holds a few hundred distinct periods in hundreds of thousands of rows: only the
    distinct ones are parsed."""
    codes, uniques = pd.factorize(periods, use_na_sentinel=False)
    days = pd.to_datetime(uniques).to_numpy().astype("datetime64[D]").astype(np.int64)
    return (days + _EPOCH)[codes]


def days_in_month(day: np.ndarray) -> np.ndarray:
    """The length of the month holding each day (`date.toordinal()` values)."""
    month = _months(day)
    return ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int)


def _months(day: np.ndarray) -> np.ndarray:
    """The month (numpy `datetime64[M]`) holding each day (`date.toordinal()` values)."""
    return (np.asarray(day) - _EPOCH).astype("datetime64[D]").astype("datetime64[M]")


def _category_relations(frame: pd.DataFrame) -> _Part | None:
    """Per (breakdown, grain, period): categories minus the overview cell."""
    additive = [name for name, b in BREAKDOWNS.items() if b.category_additive]
    # Long text columns are slow to copy: the coefficient is read off `category` in place.
    overcount = (frame["category"] == OVERCOUNT).to_numpy()
    chosen = frame["breakdown"].isin(additive).to_numpy()
    parts = frame.loc[chosen, ["breakdown", "grain", "day", "period", "cell"]]
    parts["coef"] = np.where(overcount[chosen], -1.0, 1.0)
    totals = frame.loc[frame["breakdown"] == OVERVIEW, ["grain", "day", "cell"]]
    if parts.empty or totals.empty:
        return None
    groups = parts[["breakdown", "grain", "day", "period"]].drop_duplicates(  # day: period
        ["breakdown", "grain", "day"]
    )
    groups = groups.merge(totals.rename(columns={"cell": "total"}), on=["grain", "day"])
    groups = groups.sort_values(["breakdown", "grain", "day"], ignore_index=True)
    groups["relation"] = np.arange(len(groups))
    members = parts.merge(groups[["breakdown", "grain", "day", "relation"]])
    aggregate = groups.assign(cell=groups["total"], coef=-1.0)
    entries = pd.concat(
        [members[["relation", "cell", "coef"]], aggregate[["relation", "cell", "coef"]]]
    )
    binds = np.array(
        [[f in BREAKDOWNS[b].category_additive for f in ADDITIVE] for b in groups["breakdown"]],
        dtype=bool,
    ).reshape(len(groups), len(ADDITIVE))
    labels = groups[["breakdown", "grain", "period"]].assign(kind=CATEGORY, category=None)
    return _Part(entries, binds, labels[_no_labels().columns])


def _time_relations(frame: pd.DataFrame) -> tuple[_Part | None, ...]:
    """Per (breakdown, category, week or month): its day cells against the aggregate cell."""
    daily = {name for name, b in BREAKDOWNS.items() if "day" in b.grains}
    frame = frame[frame["breakdown"].isin(daily)]
    days = _with_periods(frame[frame["grain"] == "day"])
    if days.empty:
        return (None,)
    aggregates = _whole_aggregates(frame, days["day"].min(), days["day"].max())
    if aggregates.empty:
        return (None,)
    folds = days[days["category"].isin(_FOLDS)]
    visible = days[~days["category"].isin(_NO_TIME_RELATION)]
    members = _days_of(aggregates, visible, on_category=True)
    folded = _days_of(aggregates, folds, on_category=False)
    is_folded = aggregates["relation"].isin(folded["relation"]).to_numpy()
    aggregate = aggregates[["relation", "cell"]].assign(coef=-1.0)
    entries = pd.concat([members.assign(coef=1.0), aggregate])
    labels = aggregates[["breakdown", "grain", "period", "category"]].assign(kind=TIME)
    labels = labels[_no_labels().columns].reset_index(drop=True)
    exact = _subset(entries, labels, ~is_folded, TIME)
    # Folded: visible days <= aggregate, and aggregate <= visible days + folded rows.
    at_most = _subset(entries, labels, is_folded, FOLDED, low=-np.inf, high=0.0)
    widened = pd.concat([entries, folded.assign(coef=1.0)])
    at_least = _subset(widened, labels, is_folded, FOLDED, low=0.0, high=np.inf)
    return exact, at_most, at_least


def _with_periods(days: pd.DataFrame) -> pd.DataFrame:
    """Day cells with the first day of their ISO week and of their month (ordinals)."""
    day = days["day"].to_numpy()
    first_of_month = _months(day).astype("datetime64[D]").astype(np.int64) + _EPOCH
    return days.assign(week=day - (day - 1) % 7, month=first_of_month)  # ordinal 1: a Monday


def _whole_aggregates(frame: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Week and month cells (with a time relation) whose days all lie in [first, last]."""
    aggregates = frame[
        frame["grain"].isin(["week", "month"]) & ~frame["category"].isin(_NO_TIME_RELATION)
    ].copy()
    length = np.where(aggregates["grain"] == "week", 7, days_in_month(aggregates["day"].to_numpy()))
    aggregates = aggregates[(aggregates["day"] >= first) & (aggregates["day"] + length - 1 <= last)]
    aggregates = aggregates.sort_values(["breakdown", "category", "grain", "day"])
    return aggregates.assign(relation=np.arange(len(aggregates)))


def _days_of(aggregates: pd.DataFrame, days: pd.DataFrame, on_category: bool) -> pd.DataFrame:
    """(relation, cell) for the day cells inside each aggregate's period."""
    found = []
    for grain in ("week", "month"):
        mine = aggregates[aggregates["grain"] == grain]
        keys = ["breakdown", grain] + (["category"] if on_category else [])
        agg = mine.rename(columns={"day": grain})[[*keys, "relation"]]
        found.append(days.merge(agg, on=keys)[["relation", "cell"]])
    return pd.concat(found, ignore_index=True)


def _subset(
    entries: pd.DataFrame,
    labels: pd.DataFrame,
    keep: np.ndarray,
    kind: str,
    low: float = 0.0,
    high: float = 0.0,
) -> _Part | None:
    """The relations flagged in `keep`, renumbered from 0."""
    if not keep.any():
        return None
    renumber = np.full(len(keep), -1)
    renumber[keep] = np.arange(keep.sum())
    entries = entries.assign(relation=renumber[entries["relation"].to_numpy()])
    entries = entries[entries["relation"] >= 0]
    binds = np.ones((int(keep.sum()), len(ADDITIVE)), dtype=bool)
    chosen = labels[keep].assign(kind=kind).reset_index(drop=True)
    return _Part(entries, binds, chosen, low, high)
