"""Small hand-made releases with known truth, protection as `reports.protect` does it, and an
independent attacker (its own relations, built with plain loops) to cross-check the audit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from connectors.catalog import ADDITIVE, BREAKDOWNS, OVERVIEW
from reports import shape, suppress
from reports.attack import required_width
from reports.cells import FIGURES, KEY, SITE_TOTAL
from reports.grid import days_of, period_start
from reports.relations import OVERCOUNT, RESIDUAL, RESIDUALS
from reports.status import EMPTY, GA4_OTHER, GA4_OTHER_CATEGORY, PRIMARY, PUBLISHED, WITHHELD

MONDAY = date(2024, 4, 1)  # a Monday that starts a month: weeks and the month nest neatly


def figures_for(sessions: float, users: float | None = None, seed: int = 0) -> dict[str, float]:
    """Plausible figures for a cell with `sessions` sessions (all additive, all >= 0)."""
    rng = np.random.default_rng(seed)
    engaged = float(np.floor(sessions * 0.6))
    return {
        "users": float(sessions if users is None else users),
        "sessions": float(sessions),
        "views": float(sessions * 2 + rng.integers(0, 3) * (sessions > 0)),
        "engagement_seconds": float(sessions * 40 + rng.integers(0, 30) * (sessions > 0)),
        "session_seconds": float(sessions * 70 + rng.integers(0, 30) * (sessions > 0)),
        "engaged_sessions": engaged,
    }


def daily_release(
    daily: Mapping[str, Iterable[float]],
    breakdown: str = "browsers",
    first: date = MONDAY,
    users: Mapping[str, Iterable[float]] | None = None,
    grains: tuple[str, ...] = ("day", "week", "month"),
) -> pd.DataFrame:
    """Raw cells of one breakdown from per-day sessions per category, with weeks, months and
    the site total summed from the days (users of an aggregate: the sum of its days' users).
    Zero days are absent, as in GA4."""
    rows = []
    for category, series in daily.items():
        user_series = list(users[category]) if users and category in users else None
        for i, sessions in enumerate(series):
            if sessions <= 0:
                continue
            day = first + timedelta(days=i)
            figs = figures_for(sessions, user_series[i] if user_series else None, seed=i)
            rows.append(
                {
                    "breakdown": breakdown,
                    "grain": "day",
                    "period": day,
                    "category": category,
                    **figs,
                }
            )
    days = pd.DataFrame(rows)
    n_days = max(len(list(s)) for s in daily.values())
    last = first + timedelta(days=n_days - 1)
    frames = [days]
    for grain in grains:
        if grain != "day":
            frames.append(_aggregate(days, grain, first, last))
    cells = pd.concat(frames, ignore_index=True)
    overview = _overview(cells)
    cells = pd.concat([cells, overview], ignore_index=True)
    return cells[cells["grain"].isin(grains)].reset_index(drop=True)


def _aggregate(days: pd.DataFrame, grain: str, first: date, last: date) -> pd.DataFrame:
    days = days.assign(period=[period_start(d, grain) for d in days["period"]])
    whole = [p for p in sorted(set(days["period"])) if p >= first and days_of(p, grain)[-1] <= last]
    days = days[days["period"].isin(whole)]
    out = days.groupby(["breakdown", "period", "category"], as_index=False)[FIGURES].sum()
    return out.assign(grain=grain)


def _overview(cells: pd.DataFrame) -> pd.DataFrame:
    out = cells.groupby(["grain", "period"], as_index=False)[FIGURES].sum()
    return out.assign(breakdown=OVERVIEW, category=SITE_TOTAL)


def staged(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    """Statuses as `reports.protect` sets them before complementary suppression."""
    cells = cells.copy()
    cells["status"] = np.where(cells["users"] < k, PRIMARY, PUBLISHED)
    cells.loc[cells["category"] == GA4_OTHER_CATEGORY, "status"] = GA4_OTHER
    if "frozen" not in cells.columns:
        cells["frozen"] = False
    return cells


def protect(cells: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(suppressed cells with true figures, released cells with withheld figures blank)."""
    out = suppress.complementary(staged(cells, k), k)
    return out, blank(out)


def blank(cells: pd.DataFrame, listing: str = "every-period") -> pd.DataFrame:
    """The cells as a reader gets them: withheld figures blank and, as `reports.protect`
    lists them, a row for every period of every listed category (`listing="visited"`: only
    the rows GA4 returned, the shape releases had before issue 27)."""
    released = cells.copy()
    released.loc[released["status"].isin(WITHHELD), FIGURES] = np.nan
    released = released.drop(columns=["frozen"], errors="ignore")
    return shape.complete(released) if listing == "every-period" else released


def row_of(cells: pd.DataFrame, breakdown: str, grain: str, period: date, category: str) -> int:
    hit = cells.index[
        (cells["breakdown"] == breakdown)
        & (cells["grain"] == grain)
        & (cells["period"] == period)
        & (cells["category"] == category)
    ]
    assert len(hit) == 1, f"expected one cell {breakdown}/{grain}/{period}/{category}"
    return int(hit[0])


# --- an independent attacker -----------------------------------------------------------------


def equations(released: pd.DataFrame, figure: str) -> list[tuple[dict[int, float], str]]:
    """Every relation that holds for `figure`: ({row: coefficient}, sense), the sum being
    `==`, `<=` or `>=` 0. A period with a day where GA4 folded rows into (other) (or hid rows:
    unattributed) only bounds its categories' visible days."""
    cells = released.reset_index(drop=True)
    eqs: list[tuple[dict[int, float], str]] = []
    index = {tuple(r): i for i, r in enumerate(cells[KEY].itertuples(index=False))}
    for (name, grain, period), group in cells.groupby(["breakdown", "grain", "period"]):
        if name == OVERVIEW or figure not in BREAKDOWNS[name].category_additive:
            continue
        total = index.get((OVERVIEW, grain, period, SITE_TOTAL))
        if total is None:
            continue
        eq = {i: (-1.0 if cells.at[i, "category"] == OVERCOUNT else 1.0) for i in group.index}
        eq[total] = -1.0
        eqs.append((eq, "=="))
    days = cells[cells["grain"] == "day"]
    if days.empty:
        return eqs
    first, last = min(days["period"]), max(days["period"])
    folds = days[days["category"].isin([GA4_OTHER_CATEGORY, RESIDUAL])]
    for i, cell in cells[cells["grain"].isin(["week", "month"])].iterrows():
        span = days_of(cell["period"], cell["grain"])
        skip = cell["category"] in (*RESIDUALS, GA4_OTHER_CATEGORY)
        if skip or "day" not in BREAKDOWNS[cell["breakdown"]].grains:
            continue
        if span[0] < first or span[-1] > last:
            continue
        eq = {i: -1.0}
        for day in span:
            j = index.get((cell["breakdown"], "day", day, cell["category"]))
            if j is not None:
                eq[j] = 1.0
        mine = folds[(folds["breakdown"] == cell["breakdown"]) & folds["period"].isin(span)]
        if mine.empty:
            eqs.append((eq, "=="))
            continue
        eqs.append((eq, "<="))
        eqs.append(({**eq, **dict.fromkeys(mine.index, 1.0)}, ">="))
    return eqs


LINKED = ("engaged_sessions", "sessions")  # in every cell, the first is at most the second
VISITED = {"site": "sessions", "session": "sessions", "page": "views"}  # >= 1 where visited


def known_visited(released: pd.DataFrame, listing: str = "every-period") -> set[int]:
    """Rows a reader knows were visited: listed withheld rows, in a release that lists only
    visited cells (`listing="visited"`; not its EMPTY rows, if any), or else in a table
    (breakdown, grain) that leaves out some period of a listed category (or of the site
    total) between its first and last period. Listed: published in some period of the
    breakdown, or the site total."""
    cells = released.reset_index(drop=True)
    listed = {
        (b, c)
        for b, c, s in cells[["breakdown", "category", "status"]].itertuples(index=False)
        if s == PUBLISHED
    }
    listed |= {(OVERVIEW, SITE_TOTAL)}
    present = set(cells[KEY].itertuples(index=False, name=None))
    found = set()
    for grain, group in cells.groupby("grain"):
        periods = sorted(set(group["period"]))
        span, day = [], periods[0]
        while day <= periods[-1]:
            span.append(day)
            day = period_start(day + timedelta(days=len(days_of(day, grain))), grain)
        for name in set(group["breakdown"]):
            categories = {c for b, c in listed if b == name}
            holed = any((name, grain, p, c) not in present for p in span for c in categories)
            if not holed and listing != "visited":
                continue
            mine = group[(group["breakdown"] == name) & group["category"].isin(categories)]
            found |= set(mine.index[mine["status"].isin(WITHHELD) & (mine["status"] != EMPTY)])
    return found


def _system(cells: pd.DataFrame, figure: str, unknown: list[int], offset: int):
    """The figure's relations over the unknown cells (columns offset by `offset`)."""
    col = {cell: offset + j for j, cell in enumerate(unknown)}
    rows = []
    for eq, sense in equations(cells, figure):
        coeffs: dict[int, float] = {}
        rhs = 0.0
        for cell, c in eq.items():
            if cell in col:
                coeffs[col[cell]] = coeffs.get(col[cell], 0.0) + c
            else:
                rhs -= c * cells.at[cell, figure]
        if any(coeffs.values()):
            rows.append((coeffs, sense, rhs))
    return rows


@dataclass
class _System:
    """The attacker's linear system for one figure (or the linked pair) over a release's
    withheld cells, built once and solved for any target."""

    unknown: list[int]
    figures: list[str]
    a_eq: np.ndarray | None
    b_eq: list[float] | None
    a_ub: np.ndarray | None
    b_ub: list[float] | None
    bounds: list[tuple[float, float | None]]

    def interval(self, row: int, figure: str) -> tuple[float, float]:
        if self.a_eq is None and self.a_ub is None:
            return 0.0, np.inf
        cost = np.zeros(len(self.bounds))
        cost[self.figures.index(figure) * len(self.unknown) + self.unknown.index(row)] = 1.0
        system = {
            "A_eq": self.a_eq,
            "b_eq": self.b_eq,
            "A_ub": self.a_ub,
            "b_ub": self.b_ub,
            "bounds": self.bounds,
            "method": "highs",
        }
        low = linprog(cost, **system)
        high = linprog(-cost, **system)
        assert low.status == 0, "the published relations must have a solution"
        return float(low.fun), (np.inf if high.status == 3 else float(-high.fun))


def system(
    released: pd.DataFrame, figure: str, shape: bool = True, listing: str = "every-period"
) -> _System:
    """The system an attacker solves for `figure`'s withheld cells. With `shape`, the attacker
    also knows what the table's shape says (`known_visited`: >= 1) and that engaged sessions
    <= sessions in every cell (both figures solved at once)."""
    cells = released.reset_index(drop=True)
    unknown = list(np.flatnonzero(cells["status"].isin(WITHHELD).to_numpy()))
    n = len(unknown)
    figures = list(LINKED) if shape and figure in LINKED else [figure]
    rows = []
    for j, name in enumerate(figures):
        rows += _system(cells, name, unknown, j * n)
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * (n * len(figures))
    if shape:
        visited = known_visited(cells, listing)
        for j, name in enumerate(figures):
            for i, cell in enumerate(unknown):
                scope = BREAKDOWNS[cells.at[cell, "breakdown"]].scope
                if cell in visited and VISITED[scope] == name:
                    bounds[j * n + i] = (1.0, None)
        if len(figures) == 2:
            rows += [({i: 1.0, n + i: -1.0}, "<=", 0.0) for i in range(n)]
    width = n * len(figures)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for coeffs, sense, rhs in rows:
        dense = np.zeros(width)
        for j, c in coeffs.items():
            dense[j] = c
        if sense == "==":
            a_eq.append(dense)
            b_eq.append(rhs)
        else:  # as <=
            sign = 1.0 if sense == "<=" else -1.0
            a_ub.append(sign * dense)
            b_ub.append(sign * rhs)
    return _System(
        unknown,
        figures,
        np.array(a_eq) if a_eq else None,
        b_eq or None,
        np.array(a_ub) if a_ub else None,
        b_ub or None,
        bounds,
    )


def interval(
    released: pd.DataFrame,
    row: int,
    figure: str,
    shape: bool = True,
    listing: str = "every-period",
) -> tuple[float, float]:
    """Min and max of a withheld cell's figure over all solutions of the attacker's system."""
    cells = released.reset_index(drop=True)
    return system(cells, figure, shape, listing).interval(row, figure)


def exposed(
    released: pd.DataFrame, k: int, shape: bool = True, listing: str = "every-period"
) -> list[tuple]:
    """Every (row, figure, low, high) of a PRIMARY cell the attacker pins down; `shape=False`
    is the attacker before issue 27, who knew only the published figures and their sums."""
    cells = released.reset_index(drop=True)
    systems = {figure: system(cells, figure, shape, listing) for figure in ADDITIVE}
    found = []
    for row in np.flatnonzero((cells["status"] == PRIMARY).to_numpy()):
        for figure in ADDITIVE:
            low, high = systems[figure].interval(row, figure)
            counts = figure in ("sessions", "views", "engaged_sessions")
            inside = counts and low >= 1 - 1e-6 and high <= k - 1 + 1e-6
            if high - low < required_width(figure, k) - 1e-6 or inside:
                found.append((row, figure, low, high))
    return found
