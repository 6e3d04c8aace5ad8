"""The choke point: raw aggregates in, the protected release out.

This is the only module that turns raw cells into something people may see, and the only one
that can build a `Release`. Views, charts, CSV summaries, the audit and the CLI read a Release,
never raw cells.

Steps: keep whole settled periods inside the retention window; withhold every figure of a cell
with fewer than k users (primary suppression); withhold complementary cells so no withheld cell
can be pinned down from what is published (secondary suppression, `reports.suppress`); carry
every period already published forward unchanged, so two releases cannot be subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.catalog import BREAKDOWNS
from connectors.errors import KanonError
from reports import shape
from reports.cells import COLUMNS, FIGURES, KEY
from reports.grid import Window, as_dates
from reports.status import (
    EMPTY,
    GA4_OTHER,
    GA4_OTHER_CATEGORY,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    WITHHELD,
)

if TYPE_CHECKING:  # the audit needs SciPy and HiGHS: the dashboard imports this module
    from reports.attack import FoundPoints

_BUILDER = object()  # only this module holds the key to Release's constructor


class ReleaseError(KanonError, RuntimeError):
    """The release is missing or breaks an invariant; it must not be shown."""


@dataclass(frozen=True)
class Release:
    """Protected figures: withheld cells carry a status and no numbers at all."""

    cells: pd.DataFrame
    k: int
    info: dict = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)
    _built_by: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._built_by is not _BUILDER:
            raise TypeError("A Release is built only by reports.protect (protect or load).")
        _check_invariants(self.cells, self.k)

    def table(self, breakdown: str, grain: str) -> pd.DataFrame:
        cells = self.cells
        return cells[(cells["breakdown"] == breakdown) & (cells["grain"] == grain)]

    def periods(self, grain: str) -> list[date]:
        cells = self.cells
        return sorted(set(cells.loc[cells["grain"] == grain, "period"]))

    def label(self, breakdown: str, category: str) -> str:
        return self.labels.get((breakdown, category), category)


TEXT_KEY = ["breakdown", "grain", "category"]


# The attacker model a release was protected against (PRIVACY.md, "The attacker"). 2: the
# release's shape (empty cells listed like withheld ones) and engaged sessions <= sessions.
# A release protected against an earlier model is protected again at the next sync.
MODEL = 2
EVERY_PERIOD: Final = "every-period"  # a listed category has a row in every period (default)
VISITED: Final = "visited"  # rows only where GA4 saw the category (measured in bench_protect)
Listing = Literal["every-period", "visited"]


def listing_of(info: dict) -> Listing:
    """How a stored release lists its rows; releases from before the setting listed only
    visited cells."""
    return EVERY_PERIOD if info.get("listing") == EVERY_PERIOD else VISITED


def model_of(info: dict) -> int:
    """The attacker model a stored release was protected against (1: before issue 27)."""
    model = info.get("model")
    return int(model) if isinstance(model, int | float) and model == model else 1


def protect(
    raw: pd.DataFrame,
    k: int,
    window: Window,
    previous: Release | None = None,
    labels: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    listing: Listing = EVERY_PERIOD,
) -> Release:
    """Build the release from raw cells; periods published before keep their figures."""
    return protect_with_points(raw, k, window, previous, labels, flags, listing)[0]


def protect_with_points(
    raw: pd.DataFrame,
    k: int,
    window: Window,
    previous: Release | None = None,
    labels: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    listing: Listing = EVERY_PERIOD,
) -> tuple[Release, FoundPoints | None]:
    """`protect`, and the feasible points of the attacker's systems its search found, for the
    sync's audit to check and start from (true figures: they never leave the sync).

    `listing` is the release's shape: EVERY_PERIOD lists each listed category in every period
    (empty cells read "withheld", so a row never says "visited"); VISITED lists only cells GA4
    returned and protects against the lower bounds that shape reveals (`reports.shape`)."""
    cells = _publishable(raw, window)
    cells["status"] = np.where(cells["users"] < k, PRIMARY, PUBLISHED)
    cells.loc[cells["category"] == GA4_OTHER_CATEGORY, "status"] = GA4_OTHER

    cells["frozen"] = False
    cells = _with_frozen(cells, _frozen_cells(previous, k, window))
    if previous is not None and model_of(previous.info) != MODEL:
        # Protected against a weaker attacker: what it published may be withheld now (never
        # the reverse), so its published cells take part in the search again.
        cells.loc[cells["status"] == PUBLISHED, "frozen"] = False
    # Suppression sorts, filters and takes rows of every cell (476,000 at scale 100): on
    # categorical codes several times faster than on text. Sorted categories (astype's) keep
    # the rows in text order.
    cells = cells.astype({column: "category" for column in TEXT_KEY})
    cells, points = _withhold(cells, k, visited=listing == VISITED)
    cells = cells.drop(columns="frozen")
    if listing == EVERY_PERIOD:
        cells = _with_empty_rows(cells)
    cells = cells.sort_values(KEY)
    if points is not None:
        points = points.renumbered(cells.index.to_numpy())
    cells = _as_text(cells.reset_index(drop=True), TEXT_KEY)
    release = Release(
        cells=cells,
        k=k,
        info={"k": k, "model": MODEL, "listing": listing, **summary(cells)},
        labels=_label_map(labels),
        flags=flags if flags is not None else pd.DataFrame(),
        _built_by=_BUILDER,
    )
    return release, points


def load(cells: pd.DataFrame, info: dict, labels: pd.DataFrame, flags: pd.DataFrame) -> Release:
    """Rebuild a stored release, checking that it still keeps the promise."""
    cells = cells.assign(period=as_dates(cells["period"]))
    return Release(
        cells=cells,
        k=int(info["k"]),
        info=info,
        labels=_label_map(labels),
        flags=flags,
        _built_by=_BUILDER,
    )


def summary(cells: pd.DataFrame) -> dict[str, int]:
    status = cells["status"]
    return {
        "cells": int(len(cells)),
        "withheld_primary": int((status == PRIMARY).sum()),
        "withheld_secondary": int((status == SECONDARY).sum()),
        "empty": int((status == EMPTY).sum()),
    }


def _publishable(raw: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Raw cells of the breakdowns' published grains, in whole settled periods in the window."""
    wanted = [
        pd.DataFrame({"breakdown": b.name, "grain": grain, "period": window.periods(grain)})
        for b in BREAKDOWNS.values()
        for grain in b.grains
    ]
    grid = pd.concat(wanted, ignore_index=True)
    raw = raw[COLUMNS].assign(period=as_dates(raw["period"]))
    return raw.merge(grid, on=["breakdown", "grain", "period"], how="inner")


def carries_forward(previous: Release | None, k: int) -> bool:
    """Whether a release built with threshold `k` keeps `previous`'s cells as they are (the
    same threshold); a new threshold re-protects everything instead."""
    return previous is not None and previous.k == k


def _frozen_cells(previous: Release | None, k: int, window: Window) -> pd.DataFrame:
    """Cells already published; a new threshold re-protects everything instead."""
    if previous is None or not carries_forward(previous, k):
        return pd.DataFrame()
    cells = previous.cells
    cells = cells[(cells["status"] != EMPTY).to_numpy()]  # listed anew after the search
    kept = (cells["period"] >= window.first_day).to_numpy()
    return cells if kept.all() else cells[kept]


def _as_text(cells: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns as text, as the store reads them (a categorical one, or one that residual
    rows turned into objects). Through Arrow: decoding a release's categories this way is far
    quicker than pandas' own conversion (benchmarks/bench_sync.py). `cells` has a RangeIndex."""
    text = {}
    for column in columns:
        values = pa.array(cells[column])
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        text[column] = values.to_pandas()
    return cells.assign(**text)


def _with_frozen(cells: pd.DataFrame, frozen: pd.DataFrame) -> pd.DataFrame:
    """The frozen cells, marked so, in place of the new cells of the periods they cover.

    A function of its own so its intermediate frames are gone before suppression starts."""
    if frozen.empty:
        return cells
    frozen = _with_true_figures(frozen, cells)
    already = pd.MultiIndex.from_frame(frozen[["breakdown", "grain", "period"]])
    fresh = ~pd.MultiIndex.from_frame(cells[["breakdown", "grain", "period"]]).isin(already)
    return pd.concat([frozen.assign(frozen=True), cells[fresh]], ignore_index=True)


def _with_true_figures(frozen: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Frozen withheld cells with their raw figures, where the store still holds them.

    The earlier release blanked them; the search for complements needs a feasible point, and
    the true figures are one, found without solving an LP over every frozen block. They are
    blanked again before the release is built (`_withhold`).
    """
    held = frozen["status"].isin(WITHHELD).to_numpy()
    if not held.any():
        return frozen
    stored = raw[KEY + FIGURES]
    found = frozen.loc[held, KEY].merge(stored, on=KEY, how="left", validate="many_to_one")
    columns = {}  # new figure columns; the others are shared, not copied
    for figure in FIGURES:
        values = frozen[figure].to_numpy(dtype=float, copy=True)
        values[held] = found[figure].to_numpy(dtype=float)
        columns[figure] = values
    return frozen.assign(**columns)


def _withhold(
    cells: pd.DataFrame, k: int, visited: bool
) -> tuple[pd.DataFrame, FoundPoints | None]:
    """Complementary suppression, then blank every figure of every withheld cell."""
    from reports import suppress  # SciPy and HiGHS: only a sync needs them, not the dashboard

    cells, points = suppress.complementary_with_points(cells, k, visited)
    withheld = cells["status"].isin(WITHHELD)
    cells.loc[withheld, FIGURES] = np.nan
    return cells, points


def _with_empty_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells and an EMPTY row wherever a listed category (or the site total) has none in
    a period of its table (`reports.shape`). New rows take index values after the last, so
    the search's row numbers (its points') still name the same cells."""
    rows = shape.empty_rows(cells)
    if rows.empty:
        return cells
    rows.index = pd.RangeIndex(int(cells.index.max()) + 1, int(cells.index.max()) + 1 + len(rows))
    rows = rows.astype({column: cells[column].dtype for column in TEXT_KEY})
    return pd.concat([cells, rows])


def _label_map(labels: pd.DataFrame | None) -> dict[tuple[str, str], str]:
    if labels is None or labels.empty:
        return {}
    keys = zip(labels["breakdown"].astype(str), labels["category"].astype(str), strict=True)
    return dict(zip(keys, labels["label"].astype(str), strict=True))


def _check_invariants(cells: pd.DataFrame, k: int) -> None:
    missing = set(COLUMNS + ["status"]) - set(cells.columns)
    if missing:
        raise ReleaseError(f"Release is missing columns {sorted(missing)}; run `kanon sync`.")
    withheld = cells["status"].isin(WITHHELD)
    if cells.loc[withheld, FIGURES].notna().any().any():
        raise ReleaseError("A withheld cell carries a figure; refusing to show this release.")
    if (cells.loc[~withheld, "users"] < k).any():
        raise ReleaseError(f"A published cell has fewer than k={k} users; refusing to show it.")
