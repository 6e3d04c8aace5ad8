"""Secondary (complementary) suppression: withhold enough published cells that no protected cell
can be pinned down from what remains, losing as little as possible.

`complementary(cells, k)` takes the whole release being built (true figures on every row,
statuses from primary suppression, `frozen` for cells of an earlier release) and returns the
same rows, plus any residual cells, with status SECONDARY on the complements it chose. It never
publishes a PRIMARY or GA4 `(other)` cell and never changes a frozen cell's status.

The attacker and the exposure rule are `reports.attack`'s (PRIVACY.md, "The attacker"). The
method (PRIVACY.md, "The method"): residual cells where GA4's rows do not add up; local rules
over the equality relations; then, unit by unit (`attack.UNITS`), the attacker's LP rounds
seeded with the true figures and a repair LP per open figure (the cheapest move reaching the
required width; the cells it moves are withheld); last, a clean-up of unneeded complements in
small regions, each change checked by exact LPs. Every step is deterministic (rows are
processed in key order). The feasible points found are handed to the audit (`FoundPoints`).

Frozen cells (published in an earlier release) never change status: frozen published cells
are constants; frozen withheld cells stay withheld, and since their figures are blank in the
earlier release, a feasible completion stands in for them. One row per cell, so a cell has
one status in every view.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from connectors.catalog import ADDITIVE, BREAKDOWNS, OVERVIEW
from connectors.figures import FIGURE, Kind
from reports import attack, lp, relations, shape
from reports.cells import KEY
from reports.relations import OVERCOUNT, RESIDUAL, RESIDUALS
from reports.status import (
    EMPTY,
    GA4_OTHER,
    GA4_OTHER_CATEGORY,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    WITHHELD,
)

__all__ = ["RESIDUAL", "OVERCOUNT", "RESIDUALS", "complementary"]

log = logging.getLogger(__name__)

# Gaps below these are rounding (of GA4's averages), not hidden rows: they widen the band only.
_RESIDUAL_MIN = pd.Series({f: 1.0 if FIGURE[f].kind is Kind.SECONDS else 0.5 for f in ADDITIVE})
_MAX_REPAIRS = 6
_EPSILON = 1e-6  # cost of moving a cell that is already withheld
_CLEANUP_MAX_CELLS = 60  # larger blocks keep their complements: re-solving them is slow
_GRAIN_RANK = {"month": 0, "week": 1, "day": 2}  # repair coarse cells first


def complementary(cells: pd.DataFrame, k: int, visited: bool = False) -> pd.DataFrame:
    """The same cells (plus residual cells) with status SECONDARY on the complementary cells."""
    return complementary_with_points(cells, k, visited)[0]


def complementary_with_points(
    cells: pd.DataFrame, k: int, visited: bool = False
) -> tuple[pd.DataFrame, attack.FoundPoints | None]:
    """`complementary`, and the feasible points its attacks and repairs found: the audit
    checks them against the release and needs an LP only where they do not prove enough.

    `visited`: the release will list only visited cells, so the attacker knows every listed
    withheld cell is at least `shape.VISITED_FLOOR` (protect's default lists empty cells
    instead, and the attacker knows only that figures are >= 0)."""
    frame = add_residuals(cells)
    if frame.empty:
        return frame, None
    # Work in key order, so ties break the same way whatever order the rows came in. Only the
    # sorted frame lives during the search (a scale-100 sync's peak memory is here); the rows
    # go back to their order once it is done.
    order = np.lexsort([pd.factorize(frame[c], sort=True)[0] for c in reversed(KEY)])
    frame = frame.iloc[order].reset_index(drop=True)
    state = _State.build(frame, k, visited)
    state.local_rules()
    open_ = pd.concat([_attack_and_repair(state, (figure,)) for figure in ADDITIVE])
    exposed = state.open_figures(only=open_, exact=True) if not open_.empty else open_
    if not exposed.empty:  # no move protects them: every neighbour is frozen, say
        log.warning("%d protected figures stay exposed: %s", len(exposed), exposed.head())
    else:
        state.release_unneeded()
    frame["status"] = state.status()
    # The search's cell r is row order[r] of the frame returned.
    found = {**state.points, _key(attack.LINKED): state.linked_points()}
    points = attack.FoundPoints(cells=order, values=state.truth, points=found)
    del state
    return frame.iloc[np.argsort(order)].reset_index(drop=True), points


def _attack_and_repair(state: _State, unit: tuple[str, ...]) -> pd.DataFrame:
    """One figure's attack and repairs; the figures it leaves open (none, as a rule).

    Figures go one after another, so each attack sees the cells earlier figures' repairs
    withheld: a wider system, proven safe with fewer rounds and needing fewer repairs (fewer
    complements on bench_protect's releases than attacking every figure before any repair).

    The linked pair (engaged sessions <= sessions) is searched figure by figure, in boxes that
    make every point found one of the pair (`_State.problem`): solving the pair as one system
    made the search many times slower. The audit solves it as one.
    """
    open_ = state.open_figures(unit=unit)
    for _ in range(_MAX_REPAIRS):
        if open_.empty:
            break
        failed = state.repair(open_)
        if len(failed) == len(open_):
            break
        open_ = state.open_figures(only=failed, unit=unit)  # withholding only widens intervals
    return open_


# --- residual cells -------------------------------------------------------------------------


def add_residuals(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells plus a residual cell wherever a breakdown's rows do not add up to the site total."""
    frame = cells.reset_index(drop=True)  # copy-on-write: the caller's frame stays as it was
    if "frozen" not in frame.columns:
        frame["frozen"] = False
    frame["frozen"] = frame["frozen"].fillna(False).astype(bool)
    gaps = _gaps(frame)
    rows = []
    for category, sign in ((RESIDUAL, 1.0), (OVERCOUNT, -1.0)):
        side = (gaps[list(ADDITIVE)] * sign).clip(lower=0)
        chosen = side[(side >= _RESIDUAL_MIN).any(axis=1)]
        if chosen.empty:
            continue
        extra = gaps.loc[chosen.index, ["breakdown", "grain", "period"]].assign(
            category=category, users=np.nan, **{f: chosen[f] for f in ADDITIVE}
        )
        rows.append(extra.assign(status=PRIMARY, frozen=False))
    if not rows:
        return frame
    return pd.concat([frame, *rows], ignore_index=True)


def _gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (breakdown, grain, period) not yet frozen: site total minus the sum of the rows."""
    key = ["breakdown", "grain", "period"]
    additive = {name: b.category_additive for name, b in BREAKDOWNS.items() if b.category_additive}
    candidate = frame["breakdown"].isin(list(additive)).to_numpy()
    # A group holding a frozen cell gets no residual: only periods with a fresh cell matter
    # (in a daily sync, a few of hundreds), so only their rows are copied.
    fresh = candidate & ~frame["frozen"].to_numpy(dtype=bool)
    periods = pd.unique(frame["period"].to_numpy()[fresh])
    parts = frame[candidate & frame["period"].isin(periods).to_numpy()]
    if parts.empty:  # only site totals: nothing to add up
        return pd.DataFrame(columns=[*key, *ADDITIVE])
    # observed=True: protect hands over categorical keys, whose unused combinations are no groups
    groups = [parts[c] for c in key]
    has_residual = parts["category"].isin(RESIDUALS).groupby(groups, observed=True).any()
    frozen = parts.groupby(key, observed=True)["frozen"].any()
    sums = parts.groupby(key, observed=True)[list(ADDITIVE)].sum(min_count=1)
    sums = sums[~(has_residual | frozen).reindex(sums.index).to_numpy()].reset_index()
    totals = frame.loc[frame["breakdown"] == OVERVIEW, ["grain", "period", *ADDITIVE]]
    merged = sums.merge(totals, on=["grain", "period"], suffixes=("", "_total"))
    gaps = merged[key].copy()
    for figure in ADDITIVE:
        holds = merged["breakdown"].isin([b for b, binds in additive.items() if figure in binds])
        gaps[figure] = (merged[f"{figure}_total"] - merged[figure]).where(holds)
    return gaps


def _distrust_revised(
    rel: relations.Relations, truth: np.ndarray, frozen_withheld: np.ndarray
) -> np.ndarray:
    """Blank the raw figures of frozen withheld cells where they break a relation.

    Raw figures GA4 revised after a period was published need not agree with the published
    ones; a point that breaks the attacker's relations would mislead the search, so those
    cells are filled by an LP instead (`_complete`).
    """
    truth = truth.copy()
    for i, figure in enumerate(ADDITIVE):
        rows = rel.rows_for_figure(figure)
        matrix = rel.matrix[rows]
        sums = matrix @ truth[:, i]  # NaN where a member is unknown: nothing to check
        base, per_term = attack.BAND["counts" if figure in attack.COUNTS else "seconds"]
        band = base + per_term * np.diff(matrix.indptr)
        broken = (rel.low[rows] - sums > band) | (sums - rel.high[rows] > band)
        if broken.any():
            members = abs(matrix[np.flatnonzero(broken)]).sum(axis=0) > 0
            truth[members & frozen_withheld, i] = np.nan
    return truth


def _fill_determined(rel: relations.Relations, truth: np.ndarray) -> np.ndarray:
    """Unknown figures an equality fixes by itself: the one unknown of its relation.

    Residual cells of frozen periods are blank in the earlier release, and the store keeps no
    raw residual; each is its period's total minus its rows, so no LP is needed to fill it.
    """
    truth = truth.copy()
    equality = rel.equality
    for i, figure in enumerate(ADDITIVE):
        rows = rel.rows_for_figure(figure)
        matrix = rel.matrix[rows[equality[rows]]]
        for _ in range(3):  # a filled cell may leave another relation with one unknown
            unknown = np.isnan(truth[:, i])
            if not unknown.any():
                break
            lone = (abs(matrix) @ unknown.astype(float)) == 1
            if not lone.any():
                break
            part = sp.csr_array(matrix[np.flatnonzero(lone)])
            known_sum = part @ np.nan_to_num(truth[:, i])
            coo = sp.coo_array(part.multiply(unknown[None, :]))
            coo.eliminate_zeros()
            value = np.maximum(-known_sum[coo.row] / coo.data, 0.0)
            truth[coo.col, i] = value
    return truth


def _complete(
    rel: relations.Relations,
    truth: np.ndarray,
    withheld: np.ndarray,
    band: np.ndarray,
    k: int,
    floor: np.ndarray,
) -> np.ndarray:
    """Fill the figures of cells withheld in an earlier release with a feasible point.

    Those figures are blank in the earlier release; any values satisfying the published
    relations (and the attacker's floors) serve as well as the true ones to start the
    attacker's search and the repairs.
    """
    truth = truth.copy()
    for i, figure in enumerate(ADDITIVE):
        if not np.isnan(truth[withheld, i]).any():
            continue
        rows = rel.rows_for_figure(figure)
        prob = attack.problem(
            rel, figure, withheld, truth[:, i], extra_band=band[rows, i], floor=floor[:, i]
        )
        lift = attack.required_width(figure, k)
        truth[prob.cells, i] = attack.feasible_point(prob, truth[prob.cells, i], lift)
    return truth


def _visited_floors(frame: pd.DataFrame, truth: np.ndarray) -> np.ndarray:
    """`shape.VISITED_FLOOR` for every cell GA4 returned (not residual or `(other)` rows),
    wherever the true figures meet it: what a release listing only visited cells tells."""
    category = frame["category"].astype(str)
    returned = ~category.isin([*RESIDUALS, GA4_OTHER_CATEGORY]).to_numpy()
    returned &= frame["status"].astype(str).ne(EMPTY).to_numpy()
    found = shape.visited_floors(frame["breakdown"].astype(str).to_numpy(), returned)
    known = ~np.isnan(truth)
    found[known] = np.minimum(found[known], truth[known])
    return found


def _link_scale(
    move: np.ndarray, small: np.ndarray, large: np.ndarray, moving_small: bool
) -> np.ndarray:
    """Per point (column of `move`: the change of one figure of the linked pair in each cell),
    a factor t for the other figure's change, t * move, that keeps 0 <= small <= large in
    every cell; NaN where no t does. `small`, `large`: the true figures per cell.

    Each cell bounds t by one linear inequality (coefficient * t >= least); of the interval
    they leave, the t nearest 1 (both figures moved alike) is taken."""
    small, large = small[:, None], large[:, None]
    if moving_small:  # large + t * move >= small + move, and >= 0
        rows = [(move, move - (large - small)), (move, -large)]
    else:  # small + t * move >= 0, and <= large + move
        rows = [(move, -small), (-move, -(large + move - small))]
    low = np.full(move.shape[1], -np.inf)
    high = np.full(move.shape[1], np.inf)
    for coefficient, least in rows:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = least / coefficient
        up, down = coefficient > 1e-12, coefficient < -1e-12
        low = np.fmax(low, np.where(up, ratio, -np.inf).max(axis=0, initial=-np.inf))
        high = np.fmin(high, np.where(down, ratio, np.inf).min(axis=0, initial=np.inf))
        flat = ~(up | down) & (least > 1e-9)  # 0 * t >= something positive: no t at all
        low[flat.any(axis=0)] = np.inf
    return np.where(low <= high + 1e-12, np.clip(1.0, low, high), np.nan)


def _key(unit: tuple[str, ...]) -> str:
    """The name a unit's feasible points go under (`attack.FoundPoints.points`)."""
    return "+".join(unit)


def _shared_text(column: pd.Series) -> np.ndarray:
    """A text column as an object array in which equal values are one Python string: a text
    column's own `to_numpy` makes a string per row (a large search's peak memory rises)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return np.asarray(uniques, dtype=object)[codes]


# --- the state of the search ----------------------------------------------------------------


@dataclass
class _State:
    frame: pd.DataFrame
    k: int
    rel: relations.Relations
    truth: np.ndarray  # cells x ADDITIVE (NaN where unknown: frozen withheld)
    withheld: np.ndarray
    locked: np.ndarray  # frozen: status may not change
    protect: np.ndarray  # cells whose figures must not be pinned
    cost: np.ndarray
    start: np.ndarray  # first and last day of each cell's period (ordinals)
    end: np.ndarray
    band: np.ndarray  # relations x ADDITIVE: extra band where a relation does not close
    by_cell: sp.csr_array  # cells x relations
    original: np.ndarray  # status on input
    by_figure: dict  # figure -> (relations x cells as CSC, relation rows)
    names: np.ndarray  # breakdown of each cell
    grains: np.ndarray
    groups: dict  # breakdown -> its cells
    sums: np.ndarray  # relations x ADDITIVE: each relation's sum at the (completed) true figures
    fresh: np.ndarray  # relations holding a cell that is not frozen
    points: dict[str, list[attack.BlockPoints]]  # unit -> [(ids, ids x points)], for the audit
    floor: np.ndarray  # cells x ADDITIVE: what the attacker knows each figure is at least

    @classmethod
    def build(cls, frame: pd.DataFrame, k: int, visited: bool = False) -> _State:
        rel = relations.build(frame)
        truth = frame[list(ADDITIVE)].to_numpy(dtype=float)
        status = _shared_text(frame["status"])
        users = frame["users"].to_numpy(dtype=float)
        withheld = np.isin(status, WITHHELD)
        protect = (status == PRIMARY) | ((status == GA4_OTHER) & (users < k))
        names = _shared_text(frame["breakdown"])
        grains = _shared_text(frame["grain"])
        start = relations.ordinals(frame["period"])
        month_length = relations.days_in_month(start)
        end = start + np.select([grains == "day", grains == "week"], [0, 6], month_length - 1)
        frozen_withheld = frame["frozen"].to_numpy(dtype=bool) & withheld
        truth = _fill_determined(rel, _distrust_revised(rel, truth, frozen_withheld))
        sums = rel.matrix @ np.nan_to_num(truth)
        missed = np.maximum(rel.low[:, None] - sums, sums - rel.high[:, None]).clip(min=0)
        known = (rel.matrix.astype(bool) @ np.isnan(truth).astype(float)) == 0
        band = np.where(known, missed, 0.0)  # where the true figures break a relation
        floor = _visited_floors(frame, truth) if visited else np.zeros(truth.shape)
        truth = _complete(rel, truth, withheld, band, k, floor)
        return cls(
            frame=frame,
            k=k,
            rel=rel,
            truth=truth,
            withheld=withheld,
            locked=frame["frozen"].to_numpy(dtype=bool),
            protect=protect & withheld,
            cost=np.nan_to_num(frame["sessions"].to_numpy(dtype=float)) + 1.0,
            start=start,
            end=end,
            band=band,
            by_cell=sp.csr_array(rel.matrix.T),
            sums=rel.matrix @ np.nan_to_num(truth),
            fresh=(abs(rel.matrix) @ (~frame["frozen"].to_numpy(dtype=bool)).astype(float)) > 0,
            original=status,
            names=names,
            grains=grains,
            groups={b: np.flatnonzero(names == b) for b in pd.unique(names)},
            by_figure={
                f: (sp.csc_array(rel.for_figure(f)), rel.rows_for_figure(f)) for f in ADDITIVE
            },
            points={_key(unit): [] for unit in (*attack.UNITS, *((f,) for f in ADDITIVE))},
            floor=floor,
        )

    def status(self) -> np.ndarray:
        status = self.original.astype(object).copy()
        added = self.withheld & (status == PUBLISHED) & ~self.locked
        status[added] = SECONDARY
        return status

    def width(self, figure: str) -> float:
        return attack.required_width(figure, self.k)

    def eligible(self, cells: np.ndarray) -> np.ndarray:
        return cells[~self.withheld[cells] & ~self.locked[cells]]

    # --- 2. local rules ---------------------------------------------------------------------

    def local_rules(self) -> None:
        # Only a relation holding a fresh cell can have a cell to withhold (frozen ones are
        # locked): in a daily sync, a few of every relation.
        queue = deque(np.flatnonzero(self.fresh).tolist())
        queued = self.fresh.copy()
        while queue:
            r = queue.popleft()
            queued[r] = False
            pick = self._violation(r)
            if pick is None:
                continue
            self.withheld[pick] = True
            for r2 in self.by_cell.indices[
                self.by_cell.indptr[pick] : self.by_cell.indptr[pick + 1]
            ]:
                if not queued[r2]:
                    queued[r2] = True
                    queue.append(r2)
            if not queued[r]:
                queued[r] = True
                queue.append(r)

    def _members(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.rel.matrix.indptr[r], self.rel.matrix.indptr[r + 1]
        return self.rel.matrix.indices[lo:hi], self.rel.matrix.data[lo:hi]

    def _violation(self, r: int) -> int | None:
        """The cell to withhold for relation r to satisfy the local rules, if it violates them."""
        if not self.rel.equality[r]:
            return None  # an inequality pins nothing by itself
        cells, coef = self._members(r)
        held = self.withheld[cells]
        if not held.any():
            return None
        lone = held.sum() == 1 and self._worth_freeing(cells[held][0])
        deficit = self._deficit(r, cells, coef, held)
        if not lone and not (deficit > 0).any():
            return None
        candidates = self.eligible(cells)
        if len(candidates) == 0:
            return None
        return self._cheapest(r, candidates, deficit)

    def _worth_freeing(self, cell: int) -> bool:
        """A lone withheld cell matters if it is protected or was withheld as a complement."""
        return bool(self.protect[cell] or self.original[cell] in (PUBLISHED, SECONDARY))

    def _deficit(self, r: int, cells: np.ndarray, coef: np.ndarray, held: np.ndarray) -> np.ndarray:
        """Per figure: how much more withheld mass the relation needs (0 if none)."""
        deficit = np.zeros(len(ADDITIVE))
        if len(np.unique(coef[held])) > 1:
            return deficit  # an aggregate withheld with its parts leaves no bound here
        if not any(self._worth_freeing(c) for c in cells[held]):
            return deficit
        binds = self.rel.binds[r]
        published = cells[~held]
        mass = np.abs(coef[~held] @ np.nan_to_num(self.truth[published]))
        known = self.floor[cells[held]].sum(axis=0)  # mass the attacker places for certain
        for i, figure in enumerate(ADDITIVE):
            if binds[i]:
                deficit[i] = max(self.width(figure) - mass[i] + known[i] + self.band[r, i], 0.0)
        return deficit

    def _cheapest(self, r: int, candidates: np.ndarray, deficit: np.ndarray) -> int:
        values = np.nan_to_num(self.truth[candidates])
        covers = (values >= deficit - 1e-9).all(axis=1)
        cost = self.cost[candidates] + self._lookahead(r, candidates)
        if covers.any():
            pool = np.flatnonzero(covers)
        else:  # nothing covers alone: take the cell covering most of the deficit
            need = deficit > 0
            share = np.minimum(values[:, need] / deficit[need], 1.0).sum(axis=1)
            pool = np.flatnonzero(share >= share.max() - 1e-9)
        best = pool[np.lexsort((candidates[pool], cost[pool]))[0]]
        return int(candidates[best])

    def _lookahead(self, r: int, candidates: np.ndarray) -> np.ndarray:
        """For each candidate: the cost of partnering it in the other relations it enters alone."""
        extra = np.zeros(len(candidates))
        for i, cell in enumerate(candidates):
            lo, hi = self.by_cell.indptr[cell], self.by_cell.indptr[cell + 1]
            for r2 in self.by_cell.indices[lo:hi]:
                if r2 == r:
                    continue
                others, _ = self._members(r2)
                if self.withheld[others].any():
                    continue
                pool = self.eligible(others[others != cell])
                extra[i] += self.cost[pool].min() if len(pool) else 1e9
        return extra

    # --- 3. attack and repair ---------------------------------------------------------------

    def open_figures(
        self,
        only: pd.DataFrame | None = None,
        exact: bool = False,
        unit: tuple[str, ...] | None = None,
    ) -> pd.DataFrame:
        """Protected figures not yet proven safe: cell, figure, and inner bounds low, high;
        of every unit (`attack.UNITS`), or of `unit` alone.

        The true figures are a feasible point, so the LP rounds start from them; no LP is spent
        proving exposure, since a repair is cheaper than an exact interval.
        """
        n = len(self.withheld)

        def attack_unit(unit: tuple[str, ...]) -> pd.DataFrame | None:
            chosen = [self._targets(figure, only) for figure in unit]
            if not any(len(t) for t in chosen):
                return None
            prob = self.problem(unit)
            ids = np.concatenate([t + j * n for j, t in enumerate(chosen)])
            if only is None and self.locked.any():
                ids = self._touched(prob, ids)
            point = np.concatenate([self.truth[:, ADDITIVE.index(f)] for f in unit])
            found = []
            for figure in unit:
                j = unit.index(figure)
                mine = ids[(ids >= j * n) & (ids < (j + 1) * n)]
                if len(mine) == 0:
                    continue
                if exact:
                    hits = attack.exposed(prob, mine, self.width(figure), start=point)
                else:
                    hits = attack.unproven(
                        prob, mine, self.width(figure), point, points_out=self.points[_key(unit)]
                    )
                found.append(hits.assign(cell=hits["cell"].to_numpy() % n, figure=figure))
            return pd.concat(found, ignore_index=True) if found else None

        units = tuple((f,) for f in ADDITIVE) if unit is None else (unit,)
        if len(units) == 1:  # one unit: its blocks still share the cores
            found = [hits for hits in [attack_unit(units[0])] if hits is not None]
        else:
            found = [hits for hits in attack.for_each_unit(attack_unit) if hits is not None]
        if not found:
            return pd.DataFrame({"cell": [], "low": [], "high": [], "figure": []})
        return pd.concat(found, ignore_index=True)

    def _targets(self, figure: str, only: pd.DataFrame | None) -> np.ndarray:
        if only is None:
            return np.flatnonzero(self.protect & self.withheld)
        return np.unique(only.loc[only["figure"] == figure, "cell"].to_numpy(dtype=int))

    def problem(self, unit: tuple[str, ...]) -> attack.Problem:
        """The attacker's system for a unit: a figure alone, or a linked pair as one."""
        parts = []
        for figure in unit:
            i = ADDITIVE.index(figure)
            rows = self.by_figure[figure][1]
            parts.append(
                attack.problem(
                    self.rel,
                    figure,
                    self.withheld,
                    self.truth[:, i],
                    extra_band=self.band[rows, i],
                    floor=self.floor[:, i],
                )
            )
        if len(parts) == 1:
            return parts[0]
        return attack.joint(parts[0], parts[1], len(self.withheld))

    def linked_points(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The points found for one figure of the linked pair as points of the pair, for the
        audit, which solves the two as one (ids offset by the cell count for the second).

        A point moves one figure by d from the true figures; the other moves by t*d, which
        keeps every equality (the two figures share their relations) and, for some t, the
        link in every cell: `_link_scale`. Points no t makes a pair are left out: the audit
        then solves that block's LPs itself."""
        n = len(self.withheld)
        small, large = (ADDITIVE.index(f) for f in attack.LINKED)
        found = []
        for moving, other in ((small, large), (large, small)):
            for ids, values in self.points[ADDITIVE[moving]]:
                truth = self.truth[ids]
                if np.isnan(truth[:, [small, large]]).any():
                    continue
                move = values - truth[:, moving][:, None]
                scale = _link_scale(move, truth[:, small], truth[:, large], moving == small)
                keep = np.isfinite(scale)
                if not keep.any():
                    continue
                partner = truth[:, other][:, None] + move[:, keep] * scale[keep]
                pair = {moving: values[:, keep], other: partner}
                found.append(
                    (np.concatenate([ids, ids + n]), np.vstack([pair[small], pair[large]]))
                )
        return found

    def release_unneeded(self) -> bool:
        """Publish again the complements no protected figure needs, and swap a published cell
        for complements worth more, where the cells linked to them are few; whether any was.

        A complement chosen for one cell is often made redundant by those chosen after it, and
        one cell may do the work of two (the clean-up and exchange steps of Fischetti and
        Salazar-Gonzalez's heuristic). Every change is checked with the attacker's exact LPs on
        the blocks it touches; larger blocks keep their complements, as re-solving them for
        every cell would cost more than the search that chose them.
        """
        complements = self.withheld & (self.original == PUBLISHED) & ~self.locked & ~self.protect
        scope = self._cleanup_scope(complements)
        if scope is None:
            return False  # the usual case beyond small tables: nothing to re-solve
        checks = [_Cleanup(self, figure, scope) for figure in ADDITIVE]
        small = np.all([check.small for check in checks], axis=0) & ~self.locked & ~self.protect
        chosen = np.flatnonzero(small & complements)
        if len(chosen) == 0:
            return False
        released = [c for c in self._costliest(chosen) if self._try_release(checks, c)]
        near_targets = np.any([check.near_targets for check in checks], axis=0)
        for cell in self._costliest(np.flatnonzero(small & near_targets & ~self.withheld))[::-1]:
            near = np.unique(np.concatenate([check.linked(cell) for check in checks]))
            near = near[small[near] & self.withheld[near] & (self.original[near] == PUBLISHED)]
            if self.cost[near].sum() <= self.cost[cell]:
                continue  # freeing every complement nearby would not pay for this one
            self._set(checks, cell, withheld=True)
            freed = [c for c in self._costliest(near) if self._try_release(checks, c)]
            if self.cost[freed].sum() > self.cost[cell] + 1e-9:
                released.extend(freed)
                continue
            for c in freed:
                self._set(checks, c, withheld=True)
            self._set(checks, cell, withheld=False)
        released = [c for c in released if not self.withheld[c]]
        if released:
            for check in checks:
                self.points[check.figure].extend(check.points())
            self._forget_points_moving(np.array(released))
        return bool(released)

    def _cleanup_scope(self, complements: np.ndarray) -> np.ndarray | None:
        """The cells the clean-up models (a mask), or None when there is nothing to clean up:
        no region (cells linked through any figure's relations, frozen published cells being
        constants) is small and holds a protected cell.

        Only the regions holding a complement it may publish are modelled: every figure's
        blocks lie inside one region each, so those blocks are the same as in the whole
        system, and a daily sync's few new cells do not pay for a model of every cell.
        """
        variable = np.flatnonzero(self.withheld | ~self.locked)
        labels = attack.linked_columns(sp.csr_array(self.rel.matrix[:, variable]))
        sizes = np.bincount(labels)
        guarded = np.zeros(len(sizes), bool)
        guarded[labels[self.protect[variable]]] = True
        if not (guarded & (sizes <= _CLEANUP_MAX_CELLS)).any():
            return None
        wanted = np.zeros(len(sizes), bool)
        wanted[labels[complements[variable]]] = True
        if not wanted.any():
            return None
        scope = np.zeros(len(self.withheld), bool)
        scope[variable[wanted[labels]]] = True
        return scope

    def _costliest(self, cells: np.ndarray) -> np.ndarray:
        return cells[np.lexsort((cells, -self.cost[cells]))]

    def _set(self, checks: list[_Cleanup], cell: int, withheld: bool) -> None:
        self.withheld[cell] = withheld
        for check in checks:
            check.set(cell, withheld)

    def _try_release(self, checks: list[_Cleanup], cell: int) -> bool:
        """Publish `cell` if every protected figure near it stays wide enough."""
        self._set(checks, cell, withheld=False)
        if all(check.safe(cell) for check in checks):
            return True
        self._set(checks, cell, withheld=True)
        return False

    def _forget_points_moving(self, cells: np.ndarray) -> None:
        """Drop the feasible points that move cells published again: no longer feasible."""
        n = len(self.withheld)
        now_published = np.zeros(len(self.withheld), bool)
        now_published[cells] = True
        for key, points in self.points.items():
            figures = np.array([ADDITIVE.index(f) for f in key.split("+")])
            kept = []
            for moved, values in points:
                cell, figure = moved % n, figures[moved // n]
                rows = now_published[cell]
                truth = self.truth[cell[rows], figure[rows]][:, None]
                still = np.all(np.abs(values[rows] - truth) <= 1e-6 * (1 + np.abs(truth)), axis=0)
                if still.any():
                    kept.append((moved, values[:, still]))
            self.points[key] = kept

    def _touched(self, prob: attack.Problem, targets: np.ndarray) -> np.ndarray:
        """Targets (ids of `prob`'s variables' cells) in blocks holding a new cell or a new
        relation; frozen blocks were checked when they were released, and nothing in them has
        changed since."""
        n = len(self.withheld)
        labels = attack.components(prob)
        touched = np.zeros(labels.max(initial=-1) + 1, bool)
        touched[labels[~self.locked[prob.cells % n]]] = True
        fresh = np.zeros(len(prob.relations), bool)
        linked = prob.relations >= 0  # a link between two figures is not a relation of cells
        fresh[linked] = self.fresh[prob.relations[linked]]
        coo = prob.matrix.tocoo()
        touched[labels[coo.col[fresh[coo.row]]]] = True
        var_of = np.full(int(max(prob.cells.max(initial=-1), targets.max(initial=-1))) + 1, -1)
        var_of[prob.cells] = np.arange(len(prob.cells))
        found = var_of[targets]
        keep = found >= 0
        keep[keep] = touched[labels[found[keep]]]
        return targets[keep]

    def repair(self, open_: pd.DataFrame) -> pd.DataFrame:
        """Give each open figure a protecting move, withholding what it needs; the failures.

        Every move found is a feasible point, so it also widens the inner bounds of the other
        open cells it moves: many are proven safe on the way, without an LP of their own.
        """
        if open_.empty:
            return open_
        cells = open_["cell"].to_numpy(dtype=int)
        rank = np.array([_GRAIN_RANK.get(g, 3) for g in self.grains[cells]])
        fig = open_["figure"].map(ADDITIVE.index).to_numpy()
        order = np.lexsort((cells, rank, fig))
        low = np.full(self.truth.shape, np.nan)
        high = np.full(self.truth.shape, np.nan)
        low[cells, fig] = open_["low"].to_numpy(dtype=float)
        high[cells, fig] = open_["high"].to_numpy(dtype=float)
        failed = []
        for j in order:
            cell, i = cells[j], fig[j]
            width = self.width(ADDITIVE[i]) * (1 + 1e-4)
            if high[cell, i] - low[cell, i] >= width:
                continue
            point = self._protect_cell(cell, i, low[cell, i], high[cell, i], width)
            if point is None:
                failed.append(j)
                continue
            moved, values = point
            self.points[ADDITIVE[i]].append((moved, values[:, None]))
            np.fmin(low[moved, i], values, out=low[moved, i], where=~np.isnan(low[moved, i]))
            np.fmax(high[moved, i], values, out=high[moved, i], where=~np.isnan(high[moved, i]))
        return open_.iloc[failed]

    def _protect_cell(
        self, cell: int, i: int, low: float, high: float, width: float
    ) -> attack.BlockPoints | None:
        """A move proving the cell's interval wide enough, its published cells now withheld.

        `low`/`high` are values the cell takes in feasible points already found, so a feasible
        move from the true figures reaching `low + width` (or `high - width`) proves the width.
        Returns the moved point (the cells it moves, their values), or None when no move
        exists; the point equals the true figures elsewhere.
        """
        value = self.truth[cell, i]
        if np.isnan(value):
            return None
        least = self._box(np.array([cell]), i)[0][0]
        for sign, amount in ((+1, low + width - value), (-1, value - (high - width))):
            if sign < 0 and amount > value - least:
                continue
            for wide in (False, True):
                move = self._move(cell, i, sign, max(amount, 0.0), wide)
                if move is not None:
                    near, delta = move
                    moved = np.abs(delta) > 1e-7 * max(amount, 1.0)
                    self.withheld[near[moved]] = True
                    return near[moved], np.nan_to_num(self.truth[near[moved], i]) + delta[moved]
        return None

    def _neighbourhood(self, cell: int, wide: bool) -> np.ndarray:
        """Cells of the same breakdown and the site total over the periods around `cell`."""
        first, last = self.start[cell], self.end[cell]
        if self.grains[cell] == "day":
            first = first - (pd.Timestamp.fromordinal(int(first)).weekday())
            last = first + 6
        if wide:
            first, last = first - 31, last + 31
        own = self.names[cell]
        overview = self.groups.get(OVERVIEW, np.array([], int))
        pool = np.concatenate([self.groups[own], overview]) if own != OVERVIEW else overview
        near = pool[(self.start[pool] <= last) & (self.end[pool] >= first)]
        if own == OVERVIEW or self.withheld[np.intersect1d(near, overview)].any():
            everything = np.arange(len(self.names))
            near = everything[(self.start <= last) & (self.end >= first)]
        return np.sort(near)

    def _move(
        self, cell: int, i: int, sign: int, amount: float, wide: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The cheapest balanced move of `cell` by sign*amount: (cells, change), or None.

        Variables are the ups and downs of every cell nearby; equalities stay balanced,
        inequalities stay satisfied, no cell goes below 0, frozen published cells stay put,
        and moving a published cell costs its sessions (moving a withheld one almost nothing).
        """
        near = self._neighbourhood(cell, wide)
        by_col, rel_rows = self.by_figure[ADDITIVE[i]]
        rows, ups_and_downs = _ups_and_downs(by_col, near)
        slack_low, slack_high = self._slack(rel_rows[rows], i)
        n = len(near)
        truth = self.truth[near, i]
        fixed = self.locked[near] & ~self.withheld[near]
        least, most = self._box(near, i)
        up_cap = np.where(fixed, 0.0, most - np.nan_to_num(truth))
        down_cap = np.where(fixed | np.isnan(truth), 0.0, np.nan_to_num(truth) - least)
        up_cap, down_cap = up_cap.clip(min=0.0), down_cap.clip(min=0.0)
        weight = np.where(self.withheld[near], _EPSILON, self.cost[near] / max(amount, 1e-9))
        me = int(np.searchsorted(near, cell))
        up_cap[me], down_cap[me] = (amount, 0.0) if sign > 0 else (0.0, amount)
        low = np.zeros(2 * n)
        low[me if sign > 0 else n + me] = amount
        model = lp.Model(
            ups_and_downs,
            row_low=slack_low,
            row_high=slack_high,
            col_low=low,
            col_high=np.concatenate([up_cap, down_cap]),
            cost=np.concatenate([weight, weight]),
            presolve=False,  # costs more than it saves on a sync's many small repair LPs
        )
        status, x = model.solve()
        if status is not lp.Status.OPTIMAL or x is None:
            return None
        return near, x[:n] - x[n:]

    def _box(self, cells: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
        """How low and how high a move may take each cell's figure i: the attacker's floor."""
        return self.floor[cells, i].copy(), np.full(len(cells), np.inf)

    def _slack(self, rows: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
        sums = self.sums[rows, i]
        band = self.band[rows, i]
        low = np.where(self.rel.equality[rows], 0.0, self.rel.low[rows] - sums - band)
        high = np.where(self.rel.equality[rows], 0.0, self.rel.high[rows] - sums + band)
        return np.minimum(low, 0.0), np.maximum(high, 0.0)


class _Cleanup:
    """One figure's attacker system with every cell of `scope` (withheld or not frozen, in
    whole regions) as a variable, published ones fixed at their true figures: publishing or
    withholding a cell is a change of bounds, so a block's model and feasible points serve
    every trial on it."""

    def __init__(self, state: _State, figure: str, scope: np.ndarray) -> None:
        i = ADDITIVE.index(figure)
        self.figure = figure
        self.truth = state.truth[:, i]
        self.width = state.width(figure) * (1 + 1e-4)
        self.withheld = state.withheld  # shared: the state's own flags
        rows = state.by_figure[figure][1]
        variable = scope  # withheld or not frozen, in whole regions (see _cleanup_scope)
        prob = attack.problem(
            state.rel,
            figure,
            variable,
            self.truth,
            extra_band=state.band[rows, i],
            floor=state.floor[:, i],
        )
        self.prob = prob
        labels = attack.components(prob)
        self.label = np.full(len(variable), -1)
        self.label[prob.cells] = labels
        self.var_of = np.full(len(variable), -1)
        self.var_of[prob.cells] = np.arange(len(prob.cells))
        protected = np.flatnonzero(state.protect & state.withheld & (self.label >= 0))
        self.targets = attack.grouped(self.label[protected], protected)
        sizes = np.bincount(labels, minlength=labels.max(initial=-1) + 1)
        # Cells in no block with a target cannot expose one; cells in a large one stay as
        # they are.
        has_targets = np.zeros(len(sizes), bool)
        has_targets[list(self.targets)] = True
        self.small = np.ones(len(variable), bool)
        self.small[prob.cells] = ~has_targets[labels] | (sizes[labels] <= _CLEANUP_MAX_CELLS)
        self.near_targets = np.zeros(len(variable), bool)
        self.near_targets[prob.cells] = has_targets[labels] & (sizes[labels] <= _CLEANUP_MAX_CELLS)
        rel_label = np.full(prob.matrix.shape[0], -1)
        coo = prob.matrix.tocoo()
        rel_label[coo.row] = labels[coo.col]
        self.rels_of = attack.grouped(rel_label)
        self.blocks: dict[int, _CleanupBlock] = {}

    def linked(self, cell: int) -> np.ndarray:
        """The cells sharing a block with `cell` that holds a target, in this figure."""
        label = self.label[cell]
        if label not in self.targets:
            return np.array([], int)
        return np.flatnonzero(self.label == label)

    def set(self, cell: int, withheld: bool) -> None:
        block = self._block(cell)
        if block is not None:
            block.set(self.var_of[cell], withheld)

    def safe(self, cell: int) -> bool:
        """Whether every target in `cell`'s block is wide enough as the block is now."""
        block = self._block(cell)
        return block is None or block.safe(self.width)

    def _block(self, cell: int) -> _CleanupBlock | None:
        label = self.label[cell]
        if label not in self.targets:
            return None  # no protected figure shares a relation with it
        if label not in self.blocks:
            vars_ = np.flatnonzero(self.label[self.prob.cells] == label)
            self.blocks[label] = _CleanupBlock(
                self.prob,
                vars_,
                self.rels_of[label],
                self.var_of[self.targets[label]],
                self.truth,
                self.withheld,
            )
        return self.blocks[label]

    def points(self) -> list[attack.BlockPoints]:
        """(cells, points) of each block re-solved: the points reaching its targets' bounds."""
        return [block.reaching() for block in self.blocks.values() if block.checked]


class _CleanupBlock:
    """A block of `_Cleanup`'s system: its model, and the feasible points found on it."""

    def __init__(
        self,
        prob: attack.Problem,
        vars_: np.ndarray,
        rels: np.ndarray,
        targets: np.ndarray,
        truth: np.ndarray,
        withheld: np.ndarray,
    ) -> None:
        self.cells = prob.cells[vars_]
        self.vars_ = vars_
        self.truth = truth[self.cells]
        self.targets = np.searchsorted(vars_, targets)
        self.model = attack.Block(prob, vars_, rels, attack.Stats())
        self.fixed = ~withheld[self.cells]
        for local in np.flatnonzero(self.fixed):
            self.model.fix(int(local), self.truth[local])
        self.points = [self.truth] if np.isfinite(self.truth).all() else []
        self.checked = False

    def set(self, var: int, withheld: bool) -> None:
        local = int(np.searchsorted(self.vars_, var))
        self.fixed[local] = not withheld
        if withheld:
            self.model.free(local)
        else:
            self.model.fix(local, self.truth[local])

    def _valid_points(self) -> list[np.ndarray]:
        """The points found that keep every published cell at its true figures."""
        truth = self.truth[self.fixed]
        tolerance = 1e-6 * (1 + np.abs(truth))
        return [x for x in self.points if (np.abs(x[self.fixed] - truth) <= tolerance).all()]

    def safe(self, width: float) -> bool:
        valid = self._valid_points()
        safe = self.model.safe(self.targets, width, valid)
        found = self.model.hull.points if self.model.hull is not None else None
        self.points.extend((found or [])[len(valid) :])
        self.checked = True
        return safe

    def reaching(self) -> attack.BlockPoints:
        valid = self._valid_points()
        hull = attack.Hull(valid[0])
        for x in valid[1:]:
            hull.add(x)
        return self.cells, hull.reaching(self.targets)


def _ups_and_downs(by_col: sp.csc_array, cols: np.ndarray) -> tuple[np.ndarray, sp.csc_array]:
    """The relations touching `cols`, and `[A, -A]` over them: A's columns `cols`, rows those.

    Built from the compressed arrays directly: a repair solves thousands of these small LPs,
    and scipy's slicing and stacking cost more than HiGHS solving them.
    """
    starts = by_col.indptr[cols]
    lengths = by_col.indptr[cols + 1] - starts
    ptr = np.concatenate([[0], np.cumsum(lengths)])
    picked = np.repeat(starts - ptr[:-1], lengths) + np.arange(ptr[-1])
    rows, local = np.unique(by_col.indices[picked], return_inverse=True)
    data = by_col.data[picked]
    matrix = sp.csc_array(
        (
            np.concatenate([data, -data]),
            np.concatenate([local, local]),
            np.concatenate([ptr, ptr[-1] + ptr[1:]]),
        ),
        shape=(len(rows), 2 * len(cols)),
    )
    return rows, matrix
