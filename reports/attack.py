"""The attacker: what a reader can work out from a release, and the search that finds it.

The model (PRIVACY.md, "The attacker"): every published figure, the relations between figures
(`reports.relations`), what the release's shape says (`reports.shape.floors`), every figure
>= 0, and engaged sessions <= sessions in every cell (`LINKED`). For one unit of figures
(`UNITS`: a figure alone, or the linked pair) the attacker's system is a `Problem` over the
withheld cells; its blocks (connected components) are independent.

A protected figure is safe when its interval over all solutions is at least `required_width`
wide. Two entry points answer two questions about a problem's targets:

- `exposed`: which targets are proven narrower (the audit's verdict: exact intervals from LPs,
  or outer bounds where propagation alone proves it);
- `unproven`: which targets no feasible point found so far proves wide enough, with the inner
  bounds those points give (what secondary suppression repairs, starting from the true figures).

One name per concept: a *point* is one feasible solution of a problem; a block's *hull* is the
box its points span (inner bounds); `FoundPoints` are points a search found and offers to the
audit, which checks each against its own system before using it (a wrong point costs LPs,
never a verdict); `Proofs` are fingerprints of blocks already proven safe.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.sparse.csgraph import connected_components

from connectors.catalog import ADDITIVE
from connectors.figures import FIGURE, Kind, linked
from reports import lp, relations

COUNTS = tuple(f for f in ADDITIVE if FIGURE[f].kind is Kind.COUNT)
# The required width of each figure's interval, in units of k (connectors.figures: one visit or
# view per visitor for counts, `SECONDS_PER_VISITOR` for seconds).
WIDTH_UNITS: dict[str, float] = {f: FIGURE[f].width_unit for f in ADDITIVE}
# Relations hold exactly for counts (integers); seconds are GA4 averages times sessions,
# rounded to thousandths, so their relations hold up to 0.01 plus half a thousandth per term.
BAND = {"seconds": (0.01, 0.0005), "counts": (1e-6, 0.0)}
# Figures linked within one cell, (smaller, larger): GA4's engaged sessions are a share of the
# sessions. The attacker may use the link, so the pair is attacked as one system.
LINKED = linked()
UNITS: tuple[tuple[str, ...], ...] = (
    LINKED,
    *((figure,) for figure in ADDITIVE if figure not in LINKED),
)
_ROUNDS = 200  # batched LP rounds (until they stall) before one LP per cell
_PROPAGATION_PASSES = 40
_ROUND_CELLS_PER_VARIABLE = 1e-3  # cells a suppress-mode round must decide, per block cell
T = TypeVar("T")


def required_width(figure: str, k: int) -> float:
    """How wide the attacker's interval on `figure` must stay for a cell to be safe."""
    return k * WIDTH_UNITS[figure]


@dataclass
class Problem:
    """One figure's attacker problem: low <= matrix @ x <= high, floor <= x <= ceiling, over
    withheld cells (or, for a joint problem, several figures' withheld cells side by side)."""

    figure: str
    matrix: sp.csr_array  # relations x variables
    low: np.ndarray
    high: np.ndarray
    cells: np.ndarray  # cell id of each variable (offset by the cell count per later figure)
    relations: np.ndarray  # row in `Relations.matrix` of each relation (-1: a coupling)
    # Per variable: what the attacker knows it is at least, and at most (empty: 0 and inf).
    floor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ceiling: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        n = self.matrix.shape[1]
        if len(self.floor) != n:
            self.floor = np.zeros(n)
        if len(self.ceiling) != n:
            self.ceiling = np.full(n, np.inf)


@dataclass
class Stats:
    lps: int = 0
    components: int = 0
    reused: int = 0  # blocks skipped: the same LP was proven safe by an earlier audit
    offered: int = 0  # blocks proven safe by checked offered points alone


@dataclass
class Proofs:
    """Blocks proven safe, by fingerprint: a hash of everything the block's LP is made of
    (its cells' keys, coefficients, bounds from the published figures, targets and width).
    The same fingerprint is the same LP, so an earlier audit's verdict on it still holds."""

    keys: np.ndarray  # cells x 2 uint64: a hash of each cell's key
    known: frozenset[str] = frozenset()  # proven by an earlier audit: not solved again
    found: set[str] = field(default_factory=set)  # proven (or reused) by this audit


@dataclass
class FoundPoints:
    """Feasible points a search (protect's) found, offered to the audit: offers only.

    `cells` gives the row, in the release to audit, of each of the search's rows; `values`
    (rows x ADDITIVE) is one completion of every figure (NaN where unknown); `points[unit]`
    lists chunks (search rows, rows x P values), each column one point that equals `values`
    outside those rows (for the linked pair, the second figure's rows are offset by the row
    count). The audit checks every point against the system it builds from the release alone
    and ignores one that breaks a relation, so a wrong point costs LPs, never a verdict.
    """

    cells: np.ndarray
    values: np.ndarray
    points: dict[str, list[tuple[np.ndarray, np.ndarray]]]

    def renumbered(self, old_of_new: np.ndarray) -> FoundPoints:
        """The same claims for the release reordered: its row i was row `old_of_new[i]`."""
        new_of_old = np.full(max(len(old_of_new), int(self.cells.max(initial=-1)) + 1), -1)
        new_of_old[old_of_new] = np.arange(len(old_of_new))
        known = self.cells >= 0
        cells = np.where(known, new_of_old[np.where(known, self.cells, 0)], -1)
        return FoundPoints(cells=cells, values=self.values, points=self.points)


def for_each_figure(work: Callable[[str], T]) -> list[T]:
    """`work` for every additive figure, in ADDITIVE's order, on all cores.

    Each figure is its own problem, and HiGHS releases Python's lock while it solves, so
    threads share the cores without copying the relations to other processes.
    """
    with ThreadPoolExecutor(max_workers=min(len(ADDITIVE), os.cpu_count() or 1)) as pool:
        return list(pool.map(work, ADDITIVE))


def for_each_unit(work: Callable[[tuple[str, ...]], T]) -> list[T]:
    """`work` for every attack unit (`UNITS`), on all cores, as `for_each_figure`."""
    with ThreadPoolExecutor(max_workers=min(len(UNITS), os.cpu_count() or 1)) as pool:
        return list(pool.map(work, UNITS))


def unit_problem(
    rel: relations.Relations,
    unit: tuple[str, ...],
    withheld: np.ndarray,
    cells: pd.DataFrame,
    floors: np.ndarray,
) -> Problem:
    """The attacker's system for one unit: a figure alone, or a linked pair solved at once."""
    parts = [
        problem(
            rel,
            figure,
            withheld,
            cells[figure].to_numpy(dtype=float),
            floor=floors[:, ADDITIVE.index(figure)],
        )
        for figure in unit
    ]
    return parts[0] if len(parts) == 1 else joint(parts[0], parts[1], len(cells))


def problem(
    rel: relations.Relations,
    figure: str,
    withheld: np.ndarray,
    values: np.ndarray,
    extra_band: np.ndarray | None = None,
    floor: np.ndarray | None = None,
    ceiling: np.ndarray | None = None,
) -> Problem:
    """The attacker's system for one figure: published cells moved to the bounds.

    `extra_band` (per relation of this figure) widens relations known not to hold exactly.
    `floor` and `ceiling` (per cell) bound the withheld cells' values: what the attacker knows
    of each from the release's shape, or a narrower box a search keeps its points in.
    """
    rows = rel.rows_for_figure(figure)
    matrix = rel.matrix[rows]
    published = np.where(withheld, 0.0, np.nan_to_num(values))
    rhs = -(matrix @ published)
    base, per_term = BAND["counts" if figure in COUNTS else "seconds"]
    band = base + per_term * np.diff(matrix.indptr)
    if extra_band is not None:
        band = band + extra_band
    unknown = matrix[:, withheld]
    keep = np.diff(unknown.indptr) > 0  # relations with no withheld cell reveal nothing new
    return Problem(
        figure=figure,
        matrix=sp.csr_array(unknown[keep]),
        low=(rel.low[rows] + rhs - band)[keep],
        high=(rel.high[rows] + rhs + band)[keep],
        cells=np.flatnonzero(withheld),
        relations=rows[keep],
        floor=np.zeros(0) if floor is None else np.asarray(floor, float)[withheld],
        ceiling=np.zeros(0) if ceiling is None else np.asarray(ceiling, float)[withheld],
    )


def joint(small: Problem, large: Problem, n_cells: int) -> Problem:
    """Two figures' systems as one, with `small <= large` in every withheld cell (engaged
    sessions <= sessions): the attacker may use that link, so the audit solves both at once.

    The second figure's variables carry cell ids offset by `n_cells`. A link is added only
    where both of a cell's variables are in a relation: a free variable can always move to
    satisfy it, so elsewhere it bounds nothing.
    """
    base, _ = BAND["counts"]
    in_small = _in_relation(small)
    in_large = _in_relation(large)
    shared, at_small, at_large = np.intersect1d(
        small.cells[in_small], large.cells[in_large], return_indices=True
    )
    at_small = np.flatnonzero(in_small)[at_small]
    at_large = np.flatnonzero(in_large)[at_large] + small.matrix.shape[1]
    n_links = len(shared)
    links = sp.csr_array(
        (
            np.concatenate([np.ones(n_links), -np.ones(n_links)]),
            (np.tile(np.arange(n_links), 2), np.concatenate([at_small, at_large])),
        ),
        shape=(n_links, small.matrix.shape[1] + large.matrix.shape[1]),
    )
    matrix = sp.csr_array(sp.vstack([sp.block_diag([small.matrix, large.matrix]), links]))
    return Problem(
        figure=f"{small.figure}+{large.figure}",
        matrix=matrix,
        low=np.concatenate([small.low, large.low, np.full(n_links, -np.inf)]),
        high=np.concatenate([small.high, large.high, np.full(n_links, base)]),
        cells=np.concatenate([small.cells, large.cells + n_cells]),
        relations=np.concatenate([small.relations, large.relations, np.full(n_links, -1)]),
        floor=np.concatenate([small.floor, large.floor]),
        ceiling=np.concatenate([small.ceiling, large.ceiling]),
    )


def _in_relation(prob: Problem) -> np.ndarray:
    found = np.zeros(prob.matrix.shape[1], bool)
    found[prob.matrix.indices] = True
    return found


Hits = list[tuple[int, float, float]]  # (variable, low, high)
BlockPoints = tuple[np.ndarray, np.ndarray]  # (cell ids, ids x points)


def exposed(
    prob: Problem,
    target_cells: np.ndarray,
    width: float,
    stats: Stats | None = None,
    proofs: Proofs | None = None,
    offered: UnitPoints | None = None,
    start: np.ndarray | None = None,
) -> pd.DataFrame:
    """Targets (cell ids) proven narrower than `width`: cell, low, high (the exact interval
    from LPs, or outer bounds where propagation alone proves it).

    `proofs` skips blocks proven safe before and records those proven now; `offered` points
    are checked per block and, where they hold, prove it without an LP; `start` (one value per
    cell id, feasible) seeds the points."""
    return _targets(
        prob,
        target_cells,
        width,
        verdict=True,
        start=start,
        stats=stats,
        proofs=proofs,
        offered=offered,
    )


def unproven(
    prob: Problem,
    target_cells: np.ndarray,
    width: float,
    start: np.ndarray,
    stats: Stats | None = None,
    points_out: list[BlockPoints] | None = None,
) -> pd.DataFrame:
    """Targets (cell ids) no feasible point found proves at least `width` wide: cell, low,
    high, the inner bounds those points give (what a repair needs). Every exposed target is
    among them, and a few safe ones the search did not reach.

    `start` (one value per cell id, feasible for the problem: the true figures) seeds the
    points; `points_out`, when a list, receives per block (cell ids, points): the points found
    that reach each target's bounds, to offer the audit."""
    return _targets(
        prob, target_cells, width, verdict=False, start=start, stats=stats, points_out=points_out
    )


def _targets(
    prob: Problem,
    target_cells: np.ndarray,
    width: float,
    verdict: bool,
    start: np.ndarray | None = None,
    stats: Stats | None = None,
    proofs: Proofs | None = None,
    offered: UnitPoints | None = None,
    points_out: list[BlockPoints] | None = None,
) -> pd.DataFrame:
    stats = stats if stats is not None else Stats()
    var_of = np.full(int(max(prob.cells.max(initial=-1), target_cells.max(initial=-1))) + 1, -1)
    var_of[prob.cells] = np.arange(len(prob.cells))
    targets = var_of[target_cells]
    targets = targets[targets >= 0]
    targets = targets[_in_relation(prob)[targets]]  # in no relation: unbounded, hence safe
    rows: list[tuple[int, float, float]] = []
    if len(targets):
        seed = None if start is None else start[prob.cells]
        search = _Search(verdict, seed, stats, proofs, offered, points_out)
        for var, lo, hi in _solve_components(prob, targets, width, search):
            rows.append((int(prob.cells[var]), lo, hi))
    return pd.DataFrame(rows, columns=["cell", "low", "high"]).astype(
        {"cell": int, "low": float, "high": float}
    )


@dataclass
class _Search:
    """What a search over a problem's blocks is for and what it has to go on."""

    verdict: bool  # prove exposure (the audit), or find what is not yet proven safe
    start: np.ndarray | None  # a feasible point per variable to start from (the true figures)
    stats: Stats
    proofs: Proofs | None  # blocks proven before (verdicts only)
    offered: UnitPoints | None  # points to check before any LP
    points_out: list[BlockPoints] | None  # receives the points found, per block


def propagate(prob: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Outer bounds of every variable by interval propagation over the relations."""
    coo = prob.matrix.tocoo()
    rel, var, a = coo.row, coo.col, coo.data
    m = prob.matrix.shape[0]
    low = prob.floor.copy()
    high = prob.ceiling.copy()
    for _ in range(_PROPAGATION_PASSES):
        lo_t = np.where(a > 0, a * low[var], a * high[var])  # min of each term (may be -inf)
        hi_t = np.where(a > 0, a * high[var], a * low[var])  # max of each term (may be +inf)
        lo_sum, lo_inf = _finite_sums(lo_t, rel, m)
        hi_sum, hi_inf = _finite_sums(hi_t, rel, m)
        own_lo_inf = ~np.isfinite(lo_t)
        own_hi_inf = ~np.isfinite(hi_t)
        others_lo = np.where(
            lo_inf[rel] - own_lo_inf > 0, -np.inf, lo_sum[rel] - np.where(own_lo_inf, 0, lo_t)
        )
        others_hi = np.where(
            hi_inf[rel] - own_hi_inf > 0, np.inf, hi_sum[rel] - np.where(own_hi_inf, 0, hi_t)
        )
        term_hi = prob.high[rel] - others_lo  # bounds on a * x
        term_lo = prob.low[rel] - others_hi
        new_hi = np.where(a > 0, term_hi / a, term_lo / a)
        new_lo = np.where(a > 0, term_lo / a, term_hi / a)
        cand_hi = high.copy()
        np.minimum.at(cand_hi, var, new_hi)
        cand_lo = low.copy()
        np.maximum.at(cand_lo, var, new_lo)
        both = np.isfinite(cand_hi) & np.isfinite(high)
        moved = np.abs(cand_hi[both] - high[both]).max(initial=0.0)
        moved = max(moved, np.abs(cand_lo - low).max(initial=0.0))
        changed = (np.isfinite(cand_hi) != np.isfinite(high)).any()
        low, high = cand_lo, cand_hi
        if not changed and moved < 1e-6:
            break
    return low, high


def _finite_sums(terms: np.ndarray, rel: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    finite = np.isfinite(terms)
    sums = np.bincount(rel[finite], weights=terms[finite], minlength=m)
    infinite = np.bincount(rel[~finite], minlength=m)
    return sums, infinite


def feasible_point(prob: Problem, known: np.ndarray, lift: float = 0.0) -> np.ndarray:
    """A solution of the problem that keeps the variables whose `known` value is not NaN.

    `known` has one value per variable. Unknown variables (withheld in an earlier release, so
    their figures are gone) get feasible values, 0 if in no relation. In blocks of several
    relations each is pushed up towards `lift` where the relations allow it: a point away from
    the zero corner leaves room to move both ways. NaN stays where nothing solves.
    """
    point = known.copy()
    unknown = np.isnan(known)
    in_relation = np.zeros(len(known), bool)
    in_relation[prob.matrix.indices] = True
    point[unknown & ~in_relation] = prob.floor[unknown & ~in_relation]
    if not (unknown & in_relation).any():
        return point
    labels = components(prob)
    coo = prob.matrix.tocoo()
    rel_label = np.full(prob.matrix.shape[0], -1)
    rel_label[coo.row] = labels[coo.col]
    blocks = np.unique(labels[unknown & in_relation])
    several = np.bincount(rel_label, minlength=labels.max() + 1)[blocks] > 1
    for chosen, height in ((blocks[several], lift), (blocks[~several], 0.0)):
        vars_ = np.flatnonzero(np.isin(labels, chosen))
        if len(vars_) == 0:
            continue
        x = _lifted(prob, vars_, np.flatnonzero(np.isin(rel_label, chosen)), known[vars_], height)
        if x is not None:
            point[vars_] = x
    return point


def _lifted(
    prob: Problem, vars_: np.ndarray, rels: np.ndarray, fixed: np.ndarray, height: float
) -> np.ndarray | None:
    """A solution with the non-NaN `fixed` values, the others pushed up towards `height`.

    Maximises the sum of t_j <= min(x_j, height) over the free variables, with helper columns,
    so no free variable is bounded by `height` itself (nothing is known about its values).
    """
    n = len(vars_)
    free = np.flatnonzero(np.isnan(fixed))
    pick = sp.csr_array((np.ones(len(free)), (np.arange(len(free)), free)), shape=(len(free), n))
    matrix = sp.block_array(
        [[prob.matrix[rels][:, vars_], None], [-pick, sp.eye_array(len(free))]], format="csc"
    )
    col_low = np.where(np.isnan(fixed), prob.floor[vars_], fixed)
    col_high = np.where(np.isnan(fixed), prob.ceiling[vars_], fixed)
    model = lp.Model(
        matrix,
        row_low=np.concatenate([prob.low[rels], np.full(len(free), -np.inf)]),
        row_high=np.concatenate([prob.high[rels], np.zeros(len(free))]),
        col_low=np.concatenate([col_low, np.zeros(len(free))]),
        col_high=np.concatenate([col_high, np.full(len(free), height)]),
        # Distinct weights, so cells competing for one relation's mass are lifted in turn.
        cost=np.concatenate([np.zeros(n), -(1.0 + _spread(free + 7919))]),
    )
    status, x = model.solve()
    return x[:n] if status is lp.Status.OPTIMAL and x is not None else None


def _spread(keys: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random numbers in [0, 1) from integer keys (a multiplicative hash)."""
    mixed = (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return mixed.astype(float) / float(1 << 24)


def components(prob: Problem) -> np.ndarray:
    """Component label of every variable: linked through relations holding two or more."""
    return linked_columns(prob.matrix)


def linked_columns(matrix: sp.csr_array) -> np.ndarray:
    """Component label of every column of `matrix`: linked through rows holding two or more."""
    m, n = matrix.shape
    coo = matrix.tocoo()
    # The bipartite graph of rows and columns (rows first); undirected, so one edge each way.
    graph = sp.csr_matrix(
        (np.ones(coo.nnz), (coo.row, m + coo.col)), shape=(m + n, m + n), dtype=np.float64
    )
    _, labels = connected_components(graph, directed=False)
    return labels[m:]


def _solve_components(
    prob: Problem, targets: np.ndarray, width: float, search: _Search
) -> Iterator[tuple[int, float, float]]:
    """Targets left (exposed, or not proven safe), block by block in label order: (var, low,
    high).

    Blocks that need LPs are solved side by side on all cores, largest first, so one unit's
    few large blocks do not leave a core idle (HiGHS releases Python's lock while it solves).
    Each block is solved alone, so the outcome does not depend on the order they finish in.
    """
    stats, proofs, offered = search.stats, search.proofs, search.offered
    labels = components(prob)
    rel_label = np.full(prob.matrix.shape[0], -1)
    coo = prob.matrix.tocoo()
    rel_label[coo.row] = labels[coo.col]
    low, high = propagate(prob)
    prints = None
    if proofs is not None and search.verdict:
        prints = _fingerprints(prob, labels, rel_label, targets, width, proofs.keys)
    vars_of, rels_of = _Positions(labels), _Positions(rel_label)
    if offered is not None:
        offered.index(labels)
    found: dict[int, Hits] = {}
    jobs: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, Hull | None]] = []
    for label, mine in grouped(labels[targets], targets).items():
        stats.components += 1
        if prints is not None and proofs is not None and prints[label] in proofs.known:
            stats.reused += 1
            proofs.found.add(prints[label])
            continue
        rels = rels_of[label]
        narrow = high[mine] - low[mine] < width
        settled = search.verdict or len(rels) == 1  # one relation: propagation is exact
        found[label] = [(t, low[t], high[t]) for t in mine[narrow]] if settled else []
        if len(rels) > 1:
            open_ = mine[~narrow] if search.verdict else mine
            hull = None
            if offered is not None and len(open_):
                vars_ = vars_of[label]
                hull = offered.hull(label, vars_, rels)
                local = np.searchsorted(vars_, open_)
                if hull is not None and (hull.width(local) >= width).all():
                    stats.offered += 1
                    continue
            if len(open_):
                jobs.append((label, vars_of[label], rels, open_, hull))
    jobs.sort(key=lambda job: (-len(job[1]), job[0]))

    def solve(
        job: tuple[int, np.ndarray, np.ndarray, np.ndarray, Hull | None],
    ) -> tuple[int, Hits, Stats, BlockPoints | None]:
        label, vars_, rels, open_, hull = job
        own = Stats()
        block = Block(prob, vars_, rels, own)
        if hull is None and search.start is not None:
            seed = search.start[vars_]
            hull = Hull(seed) if np.isfinite(seed).all() else None
        local = np.searchsorted(vars_, open_)
        left = (
            block.exposed(local, width, hull)
            if search.verdict
            else block.unproven(local, width, hull)
        )
        hits = [(int(vars_[v]), lo, hi) for v, lo, hi in left]
        kept = None
        if search.points_out is not None and block.hull is not None and block.hull.points:
            kept = (prob.cells[vars_], block.hull.reaching(local))
        return label, hits, own, kept

    for label, hits, own, kept in _block_pool().map(solve, jobs):
        found[label].extend(hits)
        stats.lps += own.lps
        if kept is not None and search.points_out is not None:
            search.points_out.append(kept)
    for label in sorted(found):
        if prints is not None and proofs is not None and not found[label]:
            proofs.found.add(prints[label])
        yield from found[label]


def grouped(labels: np.ndarray, values: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """Label -> its values (positions where omitted), in their order; label -1 is left out."""
    values = np.arange(len(labels)) if values is None else values
    if len(labels) == 0:
        return {}
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    heads = ordered[np.concatenate([[0], cuts])]
    return {
        int(label): values[group]
        for label, group in zip(heads, np.split(order, cuts), strict=True)
        if label >= 0
    }


class _Positions:
    """Label -> the positions holding it, in order, looked up on demand: a release has tens of
    thousands of blocks, and an audit reusing proofs looks at few of them."""

    def __init__(self, labels: np.ndarray) -> None:
        self._order = np.argsort(labels, kind="stable")
        self._sorted = labels[self._order]

    def __getitem__(self, label: int) -> np.ndarray:
        first, last = np.searchsorted(self._sorted, [label, label + 1])
        return self._order[first:last]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _block_pool() -> ThreadPoolExecutor:
    """One pool of LP workers per process, shared by every figure's blocks."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="lp")
        return _POOL


# --- fingerprints of blocks -----------------------------------------------------------------

_SALTS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def key_hashes(cells: pd.DataFrame) -> np.ndarray:
    """Two independent 64-bit hashes of each cell's key (breakdown, grain, period, category),
    for the ids of a unit's first figure; then the same mixed again, for its second figure's
    (cell ids offset by the cell count): (2 x cells) x 2 uint64, for `Proofs.keys`."""
    key = pd.DataFrame(  # the period as its day number: converting dates to text cost more
        {
            "breakdown": cells["breakdown"].astype(str),
            "grain": cells["grain"].astype(str),
            "period": relations.ordinals(cells["period"]),
            "category": cells["category"].astype(str),
        }
    )
    first = np.column_stack(
        [
            pd.util.hash_pandas_object(key, index=False, hash_key=salt).to_numpy(np.uint64)
            for salt in ("kanon-audit-key1", "kanon-audit-key2")
        ]
    )
    with np.errstate(over="ignore"):
        return np.vstack([first, _mix(first + np.uint64(0x5EED))])


def _mix(value: ArrayLike) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 that spreads every input bit."""
    x = np.asarray(value, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _fingerprints(
    prob: Problem,
    labels: np.ndarray,
    rel_label: np.ndarray,
    targets: np.ndarray,
    width: float,
    keys: np.ndarray,
) -> dict[int, str]:
    """Block label -> a 128-bit hash of the block's LP (order-independent sums of mixed terms).

    Terms: each coefficient with its cell's key, each relation's bounds, each target's key,
    each variable's floor and ceiling where not [0, inf), the figure and the required width.
    Equal fingerprints mean equal LPs."""
    coo = prob.matrix.tocoo()
    n_blocks = int(labels.max(initial=-1)) + 1
    figure = int.from_bytes(hashlib.blake2b(prob.figure.encode(), digest_size=8).digest())
    constant = np.float64(width).view(np.uint64) ^ np.uint64(figure)
    cell_of = prob.cells
    halves = []
    with np.errstate(over="ignore"):
        for j, salt in enumerate(_SALTS):
            term = _mix(keys[cell_of[coo.col], j] ^ _mix(coo.data.view(np.uint64) + salt))
            rel = np.zeros(prob.matrix.shape[0], np.uint64)
            np.add.at(rel, coo.row, term)
            bounds = _mix(prob.low.view(np.uint64) ^ salt) + _mix(
                prob.high.view(np.uint64) + salt + salt
            )
            rel = _mix(rel + bounds)
            block = np.zeros(n_blocks, np.uint64)
            used = rel_label >= 0
            np.add.at(block, rel_label[used], rel[used])
            np.add.at(block, labels[targets], _mix(keys[cell_of[targets], j] + salt * salt))
            boxed = np.flatnonzero((prob.floor != 0) | np.isfinite(prob.ceiling))
            box = _mix(prob.floor[boxed].view(np.uint64) + salt) ^ _mix(
                np.nan_to_num(prob.ceiling[boxed], posinf=-1.0).view(np.uint64) ^ salt
            )
            np.add.at(block, labels[boxed], _mix(keys[cell_of[boxed], j] ^ box))
            halves.append(_mix(block + _mix(constant + salt)))
    return {
        int(label): f"{halves[0][label]:016x}{halves[1][label]:016x}"
        for label in np.unique(labels[targets])
    }


class Block:
    """One connected component's LP: low <= A x <= high, x >= 0, kept alive in HiGHS.

    Every solve is the same model with other costs and bounds, warm-started from the last
    basis. The batched rounds bound the open targets themselves (x <= cap while pushing up,
    x >= floor while pushing down): every point found before satisfies those bounds, so the
    round is feasible, and each point it finds is feasible for the block.
    """

    def __init__(self, prob: Problem, vars_: np.ndarray, rels: np.ndarray, stats: Stats) -> None:
        n, m = len(vars_), len(rels)
        self.n, self.m = n, m
        self.stats = stats
        self.round = 0
        self.hull: Hull | None = None
        self.floor = prob.floor[vars_]
        self.ceiling = prob.ceiling[vars_]
        self.low = self.floor.copy()
        self.high = self.ceiling.copy()
        self.model = lp.Model(
            prob.matrix[rels][:, vars_],
            row_low=prob.low[rels],
            row_high=prob.high[rels],
            col_low=self.low,
            col_high=self.high,
            # The rounds' distinct weights already break ties. HiGHS's own cost perturbation
            # on top made each warm-started re-solve of these degenerate systems walk far
            # more pivots; without it a round is several times faster (bench_protect). A
            # linked pair's system (with its engaged <= sessions rows) solves faster with
            # HiGHS's defaults.
            rounds=not (prob.relations < 0).any(),
        )

    def fix(self, var: int, value: float) -> None:
        """Publish variable `var` at `value`: the attacker learns it."""
        self._bound(var, value, value)

    def free(self, var: int) -> None:
        """Withhold variable `var` again (undo `fix`)."""
        self._bound(var, self.floor[var], self.ceiling[var])

    def _bound(self, var: int, low: float, high: float) -> None:
        self.low[var], self.high[var] = low, high
        self.model.set_col_bounds(np.array([var]), self.low[[var]], self.high[[var]])

    def safe(self, targets: np.ndarray, width: float, points: list[np.ndarray]) -> bool:
        """Whether no target is proven narrower than `width`, starting from `points` (feasible
        for the block as it is now; one is found first if there are none). Every point found
        on the way is kept in `self.hull`."""
        hull = None
        for x in points:
            if hull is None:
                hull = Hull(x)
            else:
                hull.add(x)
        return next(iter(self.exposed(targets, width, hull)), None) is None

    def exposed(
        self, targets: np.ndarray, width: float, hull: Hull | None
    ) -> Iterator[tuple[int, float, float]]:
        """Targets proven narrower than `width`, with their exact interval: rounds from the
        points in `hull` (or one found first), then one LP pair per target still open.
        `self.hull` holds every point found on the way."""
        open_ = self._rounds(targets, width, hull, needed=lambda: 1.0)
        if open_ is None:  # the published figures contradict each other
            yield from ((int(t), np.nan, np.nan) for t in targets)
            return
        assert self.hull is not None
        for t in open_:
            if self.hull.width(t) < width:
                yield from self._exact(int(t), self.hull, width)

    def unproven(
        self, targets: np.ndarray, width: float, hull: Hull | None
    ) -> Iterator[tuple[int, float, float]]:
        """Targets no point found proves `width` wide, with the inner bounds found: rounds
        only, for as long as they decide cells faster than a repair would."""
        # A round is worth it while it decides cells faster than what follows: here a small
        # repair LP per cell. A cell a round proves safe costs nothing, where its repair may
        # withhold cells, so rounds go on while they decide a cell per 1,000 of the block's
        # (fewer decided per round withheld slightly fewer complements on bench_protect's
        # releases for much more of protect's time). Counted, never timed, so the release
        # does not depend on how busy the machine is.
        open_ = self._rounds(
            targets, width, hull, needed=lambda: max(1.0, self.n * _ROUND_CELLS_PER_VARIABLE)
        )
        if open_ is None:
            yield from ((int(t), np.nan, np.nan) for t in targets)
            return
        assert self.hull is not None
        yield from ((int(t), self.hull.low[t], self.hull.high[t]) for t in open_)

    def _rounds(
        self,
        targets: np.ndarray,
        width: float,
        hull: Hull | None,
        needed: Callable[[], float],
    ) -> np.ndarray | None:
        """Batched LP rounds pushing the open targets up (and down once that stalls) until two
        in a row decide fewer than `needed()` cells; the targets still open, or None when the
        block has no feasible point at all."""
        if hull is None:
            status, x = self._solve(np.zeros(self.n))
            if status is not lp.Status.OPTIMAL or x is None:
                return None
            hull = Hull(x)
        self.hull = hull
        open_ = targets[hull.width(targets) < width]
        up, idle = False, 0
        for _ in range(_ROUNDS):
            if len(open_) == 0 or idle == 2:
                break
            x = self._capped(open_, hull.low, hull.high, width, up=np.full(len(open_), up))
            if x is not None:
                hull.add(x)
            still = open_[hull.width(open_) < width]
            stalled = len(open_) - len(still) < needed()
            idle = idle + 1 if stalled else 0
            up = not up if (idle or not up) else up  # push up; go down once when that stalls
            open_ = still
        return open_

    def _exact(self, t: int, hull: Hull, width: float) -> Iterator[tuple[int, float, float]]:
        """The exact interval of target t, if narrower than `width`: (t, low, high)."""
        cost = np.zeros(self.n)
        cost[t] = -1.0
        status, top = self._solve(cost)
        if status is lp.Status.UNBOUNDED:
            return
        if top is None:  # the solver gave up: not proven safe
            yield t, np.nan, np.nan
            return
        hull.add(top)
        if hull.width(t) >= width:
            return
        cost[t] = 1.0
        status, bottom = self._solve(cost)
        if bottom is None:
            yield t, np.nan, np.nan
            return
        hull.add(bottom)
        if top[t] - bottom[t] < width:
            yield t, max(bottom[t], 0.0), top[t]

    def _capped(
        self,
        open_: np.ndarray,
        lo_in: np.ndarray,
        hi_in: np.ndarray,
        width: float,
        up: np.ndarray,
    ) -> np.ndarray | None:
        """One LP moving every open target towards the level that would make it safe: up to
        low + width where `up`, down to high - width elsewhere."""
        model = self.model
        # Distinct weights: the LP fills targets one after another instead of spreading mass
        # over competing ones (which would leave all of them short of their level).
        self.round += 1
        weight = 1.0 + _spread(open_ + 7919 * self.round)
        floor = np.maximum(hi_in[open_] - width, self.low[open_])
        low = np.where(up, self.low[open_], floor)
        high = np.where(up, lo_in[open_] + width, self.high[open_])
        model.set_col_bounds(open_, low, high)
        model.set_cost(open_, np.where(up, -weight, weight))
        status, x = self._run()
        model.set_col_bounds(open_, self.low[open_], self.high[open_])
        model.set_cost(open_, np.zeros(len(open_)))
        return x if status is lp.Status.OPTIMAL else None

    def _solve(self, cost: np.ndarray) -> tuple[lp.Status, np.ndarray | None]:
        """A solution minimising `cost` (variables only): (status, the point if optimal)."""
        cols = np.flatnonzero(cost)
        self.model.set_cost(cols, cost[cols])
        outcome = self._run()
        self.model.set_cost(cols, np.zeros(len(cols)))
        return outcome

    def _run(self) -> tuple[lp.Status, np.ndarray | None]:
        self.stats.lps += 1
        status, x = self.model.solve()
        return status, (x[: self.n] if x is not None else None)


class Hull:
    """Inner bounds of a block's variables: the hull of the feasible points seen, and which
    point reaches each bound (what proves the width, for another party to check)."""

    def __init__(self, point: np.ndarray) -> None:
        self.points: list[np.ndarray] | None = [point]
        self.low, self.high = point.copy(), point.copy()
        self.low_by, self.high_by = np.zeros(len(point), int), np.zeros(len(point), int)

    @classmethod
    def of_bounds(cls, low: np.ndarray, high: np.ndarray) -> Hull:
        """Inner bounds proven elsewhere, with no points kept to offer."""
        hull = cls(low)
        hull.high, hull.points = high.copy(), None
        return hull

    def add(self, x: np.ndarray) -> None:
        j = len(self.points) if self.points is not None else -1
        if self.points is not None:
            self.points.append(x)
        lower, higher = x < self.low, x > self.high
        self.low[lower], self.low_by[lower] = x[lower], j
        self.high[higher], self.high_by[higher] = x[higher], j

    def width(self, targets: np.ndarray | int) -> np.ndarray:
        return self.high[targets] - self.low[targets]

    def reaching(self, targets: np.ndarray) -> np.ndarray:
        """Variables x points: the points reaching the targets' bounds, and no others."""
        if self.points is None:
            raise ValueError("a hull built from bounds keeps none of its points")
        used = np.unique(np.concatenate([self.low_by[targets], self.high_by[targets]]))
        return np.column_stack([self.points[j] for j in used])


class OfferedPoints:
    """`FoundPoints` placed on the cells of the release under audit."""

    def __init__(self, found: FoundPoints, cells: int, empty: np.ndarray | None = None) -> None:
        self.found = found
        self.cell_of_row = np.where(found.cells < cells, found.cells, -1)
        self.row_of_cell = np.full(cells, -1)  # -1: no claim about the cell
        known = self.cell_of_row >= 0
        self.row_of_cell[self.cell_of_row[known]] = np.flatnonzero(known)
        # Rows the release lists for empty cells (after the search): claimed at 0.
        self.empty = np.zeros(cells, bool) if empty is None else empty

    def for_figure(self, figure: str, prob: Problem) -> UnitPoints:
        return self.for_figures((figure,), prob)

    def for_figures(self, figures: tuple[str, ...], prob: Problem) -> UnitPoints:
        """The claims on `prob`'s variables: figure j's cells carry ids offset by j cells."""
        n = len(self.row_of_cell)
        var_of = np.full(n * len(figures), -1)
        var_of[prob.cells] = np.arange(len(prob.cells))
        base = np.full(len(prob.cells), np.nan)
        chunks = []
        for j, figure in enumerate(figures):
            i = ADDITIVE.index(figure)
            mine = (prob.cells >= j * n) & (prob.cells < (j + 1) * n)
            cells = prob.cells[mine] - j * n
            rows = self.row_of_cell[cells]
            claimed = self.found.values[np.maximum(rows, 0), i]
            base[mine] = np.where(rows >= 0, claimed, np.where(self.empty[cells], 0.0, np.nan))
            for chunk_rows, points in self.found.points.get(figure, []):
                cells = self.cell_of_row[chunk_rows]
                vars_ = np.where(cells >= 0, var_of[np.maximum(cells, 0) + j * n], -1)
                kept = vars_ >= 0
                if kept.any():
                    chunks.append((vars_[kept], points[kept]))
        if len(figures) > 1:  # points of the linked figures at once: ids offset per figure
            rows_per_figure = len(self.cell_of_row)
            for chunk_ids, points in self.found.points.get("+".join(figures), []):
                which, rows = np.divmod(chunk_ids, rows_per_figure)
                cells = self.cell_of_row[rows]
                vars_ = np.where(cells >= 0, var_of[np.maximum(cells, 0) + which * n], -1)
                kept = vars_ >= 0
                if kept.any():
                    chunks.append((vars_[kept], points[kept]))
        return UnitPoints(prob, base, chunks)


class UnitPoints:
    """One unit's offered points, in its problem's variables; `hull` checks them."""

    def __init__(self, prob: Problem, base: np.ndarray, chunks: list) -> None:
        self.prob, self.base, self.chunks = prob, base, chunks
        self.by_label: dict[int, list[int]] = {}
        self.labels: np.ndarray | None = None

    def index(self, labels: np.ndarray) -> None:
        """Which chunks touch each block (component label)."""
        self.labels = labels
        for c, (vars_, _) in enumerate(self.chunks):
            for label in np.unique(labels[vars_]):
                self.by_label.setdefault(int(label), []).append(c)

    def hull(self, label: int, vars_: np.ndarray, rels: np.ndarray) -> Hull | None:
        """The hull of the offered points that are feasible for the block, or None.

        Each point is `base` changed in a few cells (a repair's move) or many (an LP round),
        so points are checked as sparse changes of `base`: dense, the thousands of moves in
        one large block would take tens of megabytes."""
        base = self.base[vars_]
        prob = self.prob
        matrix = prob.matrix[rels][:, vars_]
        low, high = prob.low[rels], prob.high[rels]
        tolerance = 1e-6 + 1e-9 * np.maximum(np.abs(low), np.abs(high))
        at_base = matrix @ base
        floor, ceiling = prob.floor[vars_] - 1e-6, prob.ceiling[vars_] + 1e-6
        if np.isnan(base).any() or (base < floor).any() or (base > ceiling).any():
            return None
        if ((at_base < low - tolerance) | (at_base > high + tolerance)).any():
            return None  # the offered completion itself breaks a relation: nothing to build on
        change = self._changes(label, vars_, base)
        if change.nnz == 0:
            return Hull.of_bounds(base, base)
        sums = sp.csc_array(matrix @ change)  # relations x points: the change of each sum
        rows = sums.indices
        total = at_base[rows] + sums.data
        broken = (total < low[rows] - tolerance[rows]) | (total > high[rows] + tolerance[rows])
        points = change.shape[1]
        bad = np.bincount(
            np.repeat(np.arange(points), np.diff(sums.indptr))[broken], minlength=points
        )
        coo = change.tocoo()
        values = base[coo.row] + coo.data
        outside = (values < floor[coo.row]) | (values > ceiling[coo.row])
        bad += np.bincount(coo.col[outside], minlength=points)
        holds = (bad == 0)[coo.col]
        lo, hi = base.copy(), base.copy()
        np.minimum.at(lo, coo.row[holds], values[holds])
        np.maximum.at(hi, coo.row[holds], values[holds])
        return Hull.of_bounds(lo, hi)

    def _changes(self, label: int, vars_: np.ndarray, base: np.ndarray) -> sp.csc_array:
        """Block variables x offered points: each point minus `base`."""
        assert self.labels is not None, "index() the blocks first"
        rows, cols, data, width = [], [], [], 0
        for c in self.by_label.get(label, []):
            chunk_vars, values = self.chunks[c]
            inside = self.labels[chunk_vars] == label
            local = np.searchsorted(vars_, chunk_vars[inside])
            delta = values[inside] - base[local][:, None]
            r, k = np.nonzero(delta)
            rows.append(local[r])
            cols.append(k + width)
            data.append(delta[r, k])
            width += values.shape[1]
        if not rows:
            return sp.csc_array((len(vars_), 0))
        return sp.csc_array(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(vars_), width),
        )
