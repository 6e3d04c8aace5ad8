"""Small hand-made releases with known truth, protection as `reports.protect` does it, and an
independent attacker (its own relations, built with plain loops) to cross-check the audit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from connectors.catalog import ADDITIVE, BREAKDOWNS, OVERVIEW
from reports import suppress
from reports.audit import required_width
from reports.cells import FIGURES, KEY, SITE_TOTAL
from reports.grid import days_of, period_start
from reports.relations import OVERCOUNT, RESIDUAL, RESIDUALS
from reports.status import GA4_OTHER, GA4_OTHER_CATEGORY, PRIMARY, PUBLISHED, WITHHELD

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


def blank(cells: pd.DataFrame) -> pd.DataFrame:
    released = cells.copy()
    released.loc[released["status"].isin(WITHHELD), FIGURES] = np.nan
    return released.drop(columns=["frozen"], errors="ignore")


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


def interval(released: pd.DataFrame, row: int, figure: str) -> tuple[float, float]:
    """Min and max of a withheld cell's figure over all solutions of the published relations."""
    cells = released.reset_index(drop=True)
    unknown = list(np.flatnonzero(cells["status"].isin(WITHHELD).to_numpy()))
    col = {cell: j for j, cell in enumerate(unknown)}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for eq, sense in equations(cells, figure):
        coeffs = np.zeros(len(unknown))
        rhs = 0.0
        for cell, c in eq.items():
            if cell in col:
                coeffs[col[cell]] += c
            else:
                rhs -= c * cells.at[cell, figure]
        if not coeffs.any():
            continue
        if sense == "==":
            a_eq.append(coeffs)
            b_eq.append(rhs)
        else:  # as <=
            sign = 1.0 if sense == "<=" else -1.0
            a_ub.append(sign * coeffs)
            b_ub.append(sign * rhs)
    if not a_eq and not a_ub:
        return 0.0, np.inf
    cost = np.zeros(len(unknown))
    cost[col[row]] = 1.0
    system = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": b_eq or None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": b_ub or None,
        "bounds": [(0, None)] * len(unknown),
        "method": "highs",
    }
    low = linprog(cost, **system)
    high = linprog(-cost, **system)
    assert low.status == 0, "the published relations must have a solution"
    return float(low.fun), (np.inf if high.status == 3 else float(-high.fun))


def exposed(released: pd.DataFrame, k: int) -> list[tuple]:
    """Every (row, figure, low, high) of a PRIMARY cell the attacker pins down."""
    cells = released.reset_index(drop=True)
    found = []
    for row in np.flatnonzero((cells["status"] == PRIMARY).to_numpy()):
        for figure in ADDITIVE:
            low, high = interval(cells, row, figure)
            counts = figure in ("sessions", "views", "engaged_sessions")
            inside = counts and low >= 1 - 1e-6 and high <= k - 1 + 1e-6
            if high - low < required_width(figure, k) - 1e-6 or inside:
                found.append((row, figure, low, high))
    return found
