"""What a release's shape tells an attacker, and the shape that tells nothing.

A table lists rows. If it lists a category in a period only when GA4 saw that category then,
a row that reads "withheld" says the cell had at least one visitor: a lower bound that,
beside the published figures, can pin a small cell (PRIVACY.md, "What the shape reveals").

Kanon publishes the other shape: in every table (breakdown and grain), each listed category
has a row in every period from the table's first to its last, and an empty cell reads exactly
like a withheld one (`complete`, Statistics Norway's "protect zeros"). Categories never
published are not listed at all: their rows fold into "Other (not listed)" (`reports.views`),
so their presence says nothing either.

`floors` is the attacker's side: for a release of either shape, what each withheld cell is
known to be at least. A complete table gives nothing beyond 0; in a table with holes, every
listed withheld row is a visited cell: sessions >= visitors >= 1 in session-scoped
breakdowns, views >= 1 in page-scoped ones. `reports.audit` and `reports.suppress` use it, so
the attacker protect defends against and the one the audit plays are the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.catalog import ADDITIVE, BREAKDOWNS, OVERVIEW
from reports.cells import FIGURES, KEY, SITE_TOTAL
from reports.status import EMPTY, PUBLISHED, WITHHELD

TABLE = ["breakdown", "grain"]

# What a visited (listed) row is at least, per breakdown scope: a visitor brings a session;
# a page row is a page someone viewed.
VISITED_FLOOR = {"site": {"sessions": 1.0}, "session": {"sessions": 1.0}, "page": {"views": 1.0}}


def listed_categories(cells: pd.DataFrame) -> pd.DataFrame:
    """(breakdown, category) of every category published in some period, at any grain: the
    rows a table names. The others are rare and never named (`views.rare_categories`)."""
    published = cells.loc[cells["status"] == PUBLISHED, ["breakdown", "category"]]
    return published.drop_duplicates().reset_index(drop=True)


def table_periods(cells: pd.DataFrame) -> pd.DataFrame:
    """(grain, period) of every period from the first to the last the release holds, per grain:
    the periods every table of that grain spans."""
    frames = []
    for grain, group in cells.groupby("grain", observed=True, sort=True):
        held = pd.to_datetime(pd.Series(pd.unique(group["period"]))).sort_values()
        if held.empty:
            continue
        frequency = {"day": "D", "week": "W-MON", "month": "MS"}[str(grain)]
        span = pd.date_range(held.iloc[0], held.iloc[-1], freq=frequency)
        frames.append(pd.DataFrame({"grain": str(grain), "period": span.date}))
    if not frames:
        return pd.DataFrame({"grain": pd.Series(dtype=object), "period": pd.Series(dtype=object)})
    return pd.concat(frames, ignore_index=True)


def missing_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """Keys (breakdown, grain, period, category) of listed categories absent from a period of
    their table, and of periods a site-total table lacks: where the shape would say 'empty'."""
    periods = table_periods(cells)
    # The tables the release has: one it never fetched (a grain of no period) is not invented.
    grains = cells[TABLE].astype(str).drop_duplicates()
    listed = listed_categories(cells)
    site = pd.DataFrame({"breakdown": [OVERVIEW], "category": [SITE_TOTAL]})
    wanted = (
        pd.concat([listed, site], ignore_index=True)
        .drop_duplicates()
        .merge(grains, on="breakdown")
        .merge(periods, on="grain")
    )
    have = cells[KEY].astype({"breakdown": str, "grain": str, "category": str})
    have = have.assign(period=pd.to_datetime(have["period"]).dt.date, present=True)
    found = wanted.merge(have, on=KEY, how="left")
    return found.loc[found["present"].isna().to_numpy(), KEY].reset_index(drop=True)


def empty_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """An EMPTY row (withheld, no figures) for each key of `missing_rows`, with `cells`'
    columns."""
    absent = missing_rows(cells)
    rows = absent.assign(status=EMPTY)
    for column in cells.columns:
        if column not in rows:
            rows[column] = np.nan
    figures = [c for c in FIGURES if c in cells.columns]
    return rows[cells.columns].astype({c: cells[c].dtype for c in figures})


def complete(cells: pd.DataFrame) -> pd.DataFrame:
    """The release's cells plus an EMPTY row wherever a listed category or the site total has
    no row in a period of its table."""
    rows = empty_rows(cells)
    return cells if rows.empty else pd.concat([cells, rows], ignore_index=True)


def floors(cells: pd.DataFrame, listing: str = "every-period") -> np.ndarray:
    """Per cell (row position) and ADDITIVE figure: the least value the attacker knows it has.

    0 everywhere, except where a listed withheld row says "visited" (`VISITED_FLOOR`): in a
    release listing only visited cells (`listing="visited"`, every release before issue 27),
    every listed withheld row that is not EMPTY; in one listing every period, the rows of a
    table that nonetheless leaves a period of a listed category out."""
    cells = cells.reset_index(drop=True)
    found = np.zeros((len(cells), len(ADDITIVE)))
    site = pd.DataFrame({"breakdown": [OVERVIEW], "category": [SITE_TOTAL]})
    listed = pd.concat([listed_categories(cells), site]).drop_duplicates().assign(listed=True)
    keys = cells[["breakdown", "grain", "category"]].astype(str)
    keys = keys.merge(listed, on=["breakdown", "category"], how="left")
    telling = keys["listed"].notna().to_numpy().copy()
    if listing == "visited":
        telling &= (cells["status"] != EMPTY).to_numpy()
    else:
        absent = missing_rows(cells)
        if absent.empty:
            return found
        holed = absent[TABLE].drop_duplicates().assign(holed=True)
        telling &= keys[TABLE].merge(holed, on=TABLE, how="left")["holed"].notna().to_numpy()
    visited = telling & cells["status"].isin(WITHHELD).to_numpy()
    return visited_floors(keys["breakdown"].to_numpy(), visited)


def visited_floors(breakdowns: np.ndarray, visited: np.ndarray) -> np.ndarray:
    """Per cell and ADDITIVE figure: `VISITED_FLOOR` of its breakdown's scope where `visited`,
    else 0."""
    found = np.zeros((len(breakdowns), len(ADDITIVE)))
    scope = np.array([BREAKDOWNS[str(b)].scope for b in breakdowns], dtype=object)
    for name, figures in VISITED_FLOOR.items():
        for figure, least in figures.items():
            found[visited & (scope == name), ADDITIVE.index(figure)] = least
    return found
