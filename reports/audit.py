"""The attacker check: can anything published pin down a withheld cell?

`audit(release_cells, k) -> AuditResult` attacks a release as stored: withheld figures blank,
statuses present. It needs no true figure. `AuditResult.ok` is False when any protected figure
is exposed; `exposed` lists them (breakdown, grain, period, category, figure, low, high).

The attacker (PRIVACY.md, "The attacker") knows every published figure, the relations between
figures (`reports.relations`), what the release's shape says (`reports.shape.floors`), that
every figure is >= 0 and that engaged sessions <= sessions in every cell (`LINKED`: the two
are solved as one system). A protected figure is **exposed** when its interval over all
solutions is narrower than `required_width` (PRIVACY.md, "Required widths").

The method, cheapest first (PRIVACY.md, "The audit and its proofs"): independent blocks per
unit of figures (`UNITS`); interval propagation for outer bounds; feasible points for inner
bounds (batched LP rounds, and the points protect found, checked first: `Witnesses`); one LP
per cell still undecided; blocks proven by an earlier audit (the same fingerprint) are not
solved again. LPs are HiGHS models (`reports.lp`) re-solved warm from the last basis.
`exposures` in its inexact mode, seeded with the true figures, is what `reports.suppress`
builds on.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from connectors.catalog import ADDITIVE
from reports import lp, relations, shape
from reports.status import EMPTY, PRIMARY, WITHHELD

COUNTS = ("sessions", "views", "engaged_sessions")
SECONDS_PER_VISITOR = 10.0  # GA4's engaged-session threshold: the unit for seconds figures
# The required width of each figure's interval, in units of k (see the module docstring).
WIDTH_UNITS: dict[str, float] = {
    **dict.fromkeys(COUNTS, 1.0),
    "engagement_seconds": SECONDS_PER_VISITOR,
    "session_seconds": SECONDS_PER_VISITOR,
}
# Relations hold exactly for counts (integers); seconds are GA4 averages times sessions,
# rounded to thousandths, so their relations hold up to 0.01 plus half a thousandth per term.
BAND = {"seconds": (0.01, 0.0005), "counts": (1e-6, 0.0)}
# Figures linked within one cell, (smaller, larger): GA4's engaged sessions are a share of the
# sessions. The attacker may use the link, so the pair is attacked as one system.
LINKED = ("engaged_sessions", "sessions")
UNITS: tuple[tuple[str, ...], ...] = (
    LINKED,
    *((figure,) for figure in ADDITIVE if figure not in LINKED),
)
_ROUNDS = 200  # batched LP rounds (until they stall) before one LP per cell
_PROPAGATION_PASSES = 40
_ROUND_CELLS_PER_VARIABLE = 1e-3  # cells a suppress-mode round must decide, per block cell
_UNBOUNDED = object()  # an LP whose objective has no bound: the interval is infinite
T = TypeVar("T")


def required_width(figure: str, k: int) -> float:
    """How wide the attacker's interval on `figure` must stay for a cell to be safe."""
    return k * WIDTH_UNITS[figure]


@dataclass
class AuditResult:
    """The outcome of an attack on a release: `ok` only when no protected cell is exposed."""

    ok: bool
    exposed: pd.DataFrame  # breakdown, grain, period, category, figure, low, high
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    proofs: frozenset[str] = frozenset()  # fingerprints of the blocks proven safe

    def summary(self) -> str:
        c = self.counts
        verdict = "OK" if self.ok else "EXPOSED"
        return (
            f"{verdict}: {c.get('exposed', 0)} exposed figures of {c.get('sensitive', 0)} "
            f"protected cells ({c.get('withheld', 0)} withheld of {c.get('cells', 0)}); "
            f"{c.get('lps', 0)} LPs in {self.seconds:.2f} s"
            + (f"; {c['reused']} blocks proven by the last audit" if c.get("reused") else "")
            + (f"; {c['witnessed']} by checked witness points" if c.get("witnessed") else "")
        )

    def lines(self, limit: int = 50) -> list[str]:
        """The summary, then one line per exposed figure (the first `limit`), for a terminal."""
        out = [self.summary()]
        for row in self.exposed.head(limit).itertuples(index=False):
            out.append(
                f"  {row.breakdown} / {row.grain} {row.period} / {row.category}: {row.figure} "
                f"lies in [{row.low:,.1f}, {row.high:,.1f}]"
            )
        if len(self.exposed) > limit:
            out.append(f"  ... and {len(self.exposed) - limit} more")
        return out


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
    floor: np.ndarray | None = None  # per variable: what the attacker knows it is at least
    ceiling: np.ndarray | None = None  # per variable: at most (inf unless a search narrows it)

    def __post_init__(self) -> None:
        n = self.matrix.shape[1]
        if self.floor is None:
            self.floor = np.zeros(n)
        if self.ceiling is None:
            self.ceiling = np.full(n, np.inf)


@dataclass
class Stats:
    lps: int = 0
    components: int = 0
    reused: int = 0  # blocks skipped: the same LP was proven safe by an earlier audit
    witnessed: int = 0  # blocks proven safe by checked witness points alone


@dataclass
class Proofs:
    """Blocks proven safe, by fingerprint: a hash of everything the block's LP is made of
    (its cells' keys, coefficients, bounds from the published figures, targets and width).
    The same fingerprint is the same LP, so an earlier audit's verdict on it still holds."""

    keys: np.ndarray  # cells x 2 uint64: a hash of each cell's key
    known: frozenset[str] = frozenset()  # proven by an earlier audit: not solved again
    found: set[str] = field(default_factory=set)  # proven (or reused) by this audit


@dataclass
class Witnesses:
    """Feasible points another party (protect) offers for the attacker's systems: claims only.

    `cells` gives the row, in the release to audit, of each of the witness's rows; `values`
    (rows x ADDITIVE) is one completion of every figure (NaN where unknown); `points[figure]`
    lists chunks (witness rows, rows x P values), each column one point that equals `values`
    outside those rows. The audit checks every point against the system it builds from the
    release alone and ignores one that breaks a relation, so a wrong claim (a wrong row
    included) costs LPs, never a wrong verdict.
    """

    cells: np.ndarray
    values: np.ndarray
    points: dict[str, list[tuple[np.ndarray, np.ndarray]]]

    def renumbered(self, old_of_new: np.ndarray) -> Witnesses:
        """The same claims for the release reordered: its row i was row `old_of_new[i]`."""
        new_of_old = np.full(max(len(old_of_new), int(self.cells.max(initial=-1)) + 1), -1)
        new_of_old[old_of_new] = np.arange(len(old_of_new))
        known = self.cells >= 0
        cells = np.where(known, new_of_old[np.where(known, self.cells, 0)], -1)
        return Witnesses(cells=cells, values=self.values, points=self.points)


def audit(
    release_cells: pd.DataFrame,
    k: int,
    sensitive: tuple[str, ...] = (PRIMARY,),
    proven: frozenset[str] = frozenset(),
    witnesses: Witnesses | None = None,
    listing: str = "every-period",
) -> AuditResult:
    """Attack a release (withheld figures NaN): the interval of every protected cell's figures.

    `listing` is the rule the release's rows follow (its info's "listing"; releases before
    issue 27 listed only visited cells: "visited"), which tells the attacker what a listed
    withheld row means (`reports.shape.floors`).

    Only published figures and statuses are used; cells whose status is in `sensitive` are the
    ones to protect (PRIMARY covers cells under k users and residual cells). `proven` holds
    fingerprints of blocks an earlier audit proved safe (`AuditResult.proofs`): blocks with
    the same fingerprint are the same LP and are not solved again. `witnesses` are feasible
    points to check and start from: the hull of those that hold proves cells safe without an
    LP. Leave both empty for a full audit.
    """
    started = time.perf_counter()
    cells = release_cells.reset_index(drop=True)
    rel = relations.build(cells)
    withheld = cells["status"].isin(WITHHELD).to_numpy()
    targets = np.flatnonzero(cells["status"].isin(sensitive).to_numpy() & withheld)
    floors = shape.floors(cells, listing)
    n = len(cells)
    keys = _key_hashes(cells)
    proofs = Proofs(keys=np.vstack([keys, _mix(keys + np.uint64(0x5EED))]), known=frozenset(proven))
    empty = (cells["status"] == EMPTY).to_numpy()
    claimed = _Claims(witnesses, n, empty) if witnesses is not None else None

    def attack_unit(unit: tuple[str, ...]) -> tuple[pd.DataFrame, Stats]:
        prob = unit_problem(rel, unit, withheld, cells, floors)
        own = Stats()
        points = claimed.for_figures(unit, prob) if claimed else None
        found = []
        for width, figures in _by_width(unit, k).items():
            ids = np.concatenate([targets + unit.index(f) * n for f in figures])
            hits = exposures(prob, ids, width, stats=own, proofs=proofs, claims=points)
            found.append(hits)
        hits = pd.concat(found, ignore_index=True) if found else _no_hits()
        cell = hits["cell"].to_numpy()
        figure = np.asarray(unit, dtype=object)[cell // n]
        return hits.assign(cell=cell % n, figure=figure), own

    attacked = for_each_unit(attack_unit)
    stats = Stats(
        lps=sum(s.lps for _, s in attacked),
        components=sum(s.components for _, s in attacked),
        reused=sum(s.reused for _, s in attacked),
        witnessed=sum(s.witnessed for _, s in attacked),
    )
    exposed = _describe(cells, pd.concat([hits for hits, _ in attacked], ignore_index=True))
    counts = {
        "cells": len(cells),
        "withheld": int(withheld.sum()),
        "sensitive": len(targets),
        "exposed": len(exposed),
        "exposed_cells": int(
            exposed[["breakdown", "grain", "period", "category"]].drop_duplicates().shape[0]
        ),
        "lps": stats.lps,
        "components": stats.components,
        "reused": stats.reused,
        "witnessed": stats.witnessed,
    }
    return AuditResult(
        ok=exposed.empty,
        exposed=exposed,
        counts=counts,
        seconds=time.perf_counter() - started,
        proofs=frozenset(proofs.found),
    )


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


def _by_width(unit: tuple[str, ...], k: int) -> dict[float, list[str]]:
    """The unit's figures grouped by required width (a figure with none is not attacked)."""
    groups: dict[float, list[str]] = {}
    for figure in unit:
        width = required_width(figure, k)
        if width > 0:
            groups.setdefault(width, []).append(figure)
    return groups


def _no_hits() -> pd.DataFrame:
    return pd.DataFrame({"cell": pd.Series(dtype=int), "low": [], "high": []})


def _describe(cells: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    keys = cells.loc[hits["cell"].to_numpy(), ["breakdown", "grain", "period", "category"]]
    described = keys.reset_index(drop=True).assign(
        figure=hits["figure"].to_numpy(), low=hits["low"].to_numpy(), high=hits["high"].to_numpy()
    )
    return described.sort_values(
        ["breakdown", "grain", "period", "category", "figure"], ignore_index=True
    )


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
        floor=None if floor is None else np.asarray(floor, float)[withheld],
        ceiling=None if ceiling is None else np.asarray(ceiling, float)[withheld],
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


def exposures(
    prob: Problem,
    target_cells: np.ndarray,
    width: float,
    point: np.ndarray | None = None,
    stats: Stats | None = None,
    exact: bool = True,
    proofs: Proofs | None = None,
    claims: _FigureClaims | None = None,
    certificates: list | None = None,
) -> pd.DataFrame:
    """Targets (cell ids) whose feasible interval may be narrower than `width`: cell, low, high.

    With `exact`, only targets proven exposed, with their interval (exact from LPs, or outer
    bounds when propagation alone proves it). Without, every target not proven safe, with the
    inner bounds found (the hull of feasible points seen): what a repair step needs.
    `point` (one value per cell id, feasible for the problem) seeds the inner bounds.
    `proofs` (exact mode only) skips blocks proven safe before and records those proven now.
    `claims` offers witness points to check per block; `certificates`, when a list, receives
    per block (cell ids, points): the feasible points found that reach each target's bounds.
    """
    stats = stats if stats is not None else Stats()
    var_of = np.full(int(max(prob.cells.max(initial=-1), target_cells.max(initial=-1))) + 1, -1)
    var_of[prob.cells] = np.arange(len(prob.cells))
    targets = var_of[target_cells]
    targets = targets[targets >= 0]
    in_relation = np.zeros(len(prob.cells), bool)
    in_relation[prob.matrix.indices] = True
    targets = targets[in_relation[targets]]  # in no relation: unbounded, hence safe
    rows: list[tuple[int, float, float]] = []
    if len(targets):
        start = None if point is None else point[prob.cells]
        solved = _solve_components(
            prob, targets, width, start, stats, exact, proofs, claims, certificates
        )
        for var, lo, hi in solved:
            rows.append((prob.cells[var], lo, hi))
    return pd.DataFrame(rows, columns=["cell", "low", "high"]).astype(
        {"cell": int, "low": float, "high": float}
    )


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


def _lifted(prob, vars_, rels, fixed, height) -> np.ndarray | None:
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
    return x[:n] if status == lp.OPTIMAL else None


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
    pattern = sp.csr_array((np.ones(matrix.nnz), matrix.indices, matrix.indptr), shape=(m, n))
    graph = sp.block_array([[None, pattern], [pattern.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    return labels[m:]


def _solve_components(
    prob, targets, width, start, stats, exact, proofs=None, claims=None, certificates=None
):
    """Targets not proven safe, block by block in label order: (var, low, high).

    Blocks that need LPs are solved side by side on all cores, largest first, so one figure's
    few large blocks do not leave a core idle (HiGHS releases Python's lock while it solves).
    Each block is solved alone, so the outcome does not depend on the order they finish in.
    """
    labels = components(prob)
    rel_label = np.full(prob.matrix.shape[0], -1)
    coo = prob.matrix.tocoo()
    rel_label[coo.row] = labels[coo.col]
    low, high = propagate(prob)
    prints = None
    if proofs is not None and exact:
        prints = _fingerprints(prob, labels, rel_label, targets, width, proofs.keys)
    vars_of, rels_of = _Positions(labels), _Positions(rel_label)
    if claims is not None:
        claims.index(labels)
    found: dict[int, list] = {}
    jobs = []
    for label, mine in grouped(labels[targets], targets).items():
        stats.components += 1
        if prints is not None and prints[label] in proofs.known:
            stats.reused += 1
            proofs.found.add(prints[label])
            continue
        rels = rels_of[label]
        narrow = high[mine] - low[mine] < width
        proven = exact or len(rels) == 1  # one relation: propagation is exact
        found[label] = [(t, low[t], high[t]) for t in mine[narrow]] if proven else []
        if len(rels) > 1:
            open_ = mine[~narrow] if exact else mine
            hull = None
            if claims is not None and len(open_):
                vars_ = vars_of[label]
                hull = claims.hull(label, vars_, rels)
                local = np.searchsorted(vars_, open_)
                if hull is not None and (hull.width(local) >= width).all():
                    stats.witnessed += 1
                    continue
            if len(open_):
                jobs.append((label, vars_of[label], rels, open_, hull))
    jobs.sort(key=lambda job: (-len(job[1]), job[0]))

    def solve(job) -> tuple[int, list, Stats, tuple | None]:
        label, vars_, rels, open_, hull = job
        own = Stats()
        block = Block(prob, vars_, rels, own)
        if hull is None and start is not None:
            seed = start[vars_]
            hull = Hull(seed) if np.isfinite(seed).all() else None
        local = np.searchsorted(vars_, open_)
        hits = [(vars_[v], lo, hi) for v, lo, hi in block.exposed(local, width, hull, exact)]
        kept = None
        if certificates is not None and block.hull is not None and block.hull.points:
            kept = (prob.cells[vars_], block.hull.certificate(local))
        return label, hits, own, kept

    for label, hits, own, kept in _block_pool().map(solve, jobs):
        found[label].extend(hits)
        stats.lps += own.lps
        if kept is not None:
            certificates.append(kept)
    for label in sorted(found):
        if prints is not None and not found[label]:
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


def _key_hashes(cells: pd.DataFrame) -> np.ndarray:
    """Two independent 64-bit hashes of each cell's key (breakdown, grain, period, category)."""
    key = pd.DataFrame(  # the period as its day number: converting dates to text cost more
        {
            "breakdown": cells["breakdown"].astype(str),
            "grain": cells["grain"].astype(str),
            "period": relations.ordinals(cells["period"]),
            "category": cells["category"].astype(str),
        }
    )
    return np.column_stack(
        [
            pd.util.hash_pandas_object(key, index=False, hash_key=salt).to_numpy(np.uint64)
            for salt in ("kanon-audit-key1", "kanon-audit-key2")
        ]
    )


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 that spreads every input bit."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _fingerprints(prob, labels, rel_label, targets, width, keys) -> dict[int, str]:
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

    def __init__(self, prob: Problem, vars_: np.ndarray, rels: np.ndarray, stats: Stats):
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
            # more pivots; without it a round is several times faster (bench_protect).
            rounds=True,
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
        return next(iter(self.exposed(targets, width, hull, exact=True)), None) is None

    def exposed(self, targets: np.ndarray, width: float, hull: Hull | None, exact: bool):
        """Targets not proven safe (exact: proven exposed), from the feasible points in
        `hull` (or one found first); `self.hull` holds every point found on the way."""
        if hull is None:
            x = self._solve(np.zeros(self.n))
            if x is None or x is _UNBOUNDED:  # the published figures contradict each other
                yield from ((t, np.nan, np.nan) for t in targets)
                return
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
            # A round is worth it while it decides cells faster than what follows would: one
            # LP per cell on the whole block (exact: any cell decided is worth a round) or a
            # small repair LP per cell (suppress mode). A cell a round proves safe costs
            # nothing, where its repair may withhold cells, so rounds go on while they decide
            # a cell per 1,000 of the block's (one per 5,000 withheld barely fewer complements on
            # bench_protect's releases for much more of protect's time). Counted, never
            # timed, so the release does not depend on how busy the machine is.
            needed = 1 if exact else max(1.0, self.n * _ROUND_CELLS_PER_VARIABLE)
            stalled = len(open_) - len(still) < needed
            idle = idle + 1 if stalled else 0
            up = not up if (idle or not up) else up  # push up; go down once when that stalls
            open_ = still
        if not exact:
            yield from ((t, hull.low[t], hull.high[t]) for t in open_)
            return
        for t in open_:
            if hull.width(t) >= width:
                continue
            yield from self._exact(t, hull, width)

    def _exact(self, t: int, hull: Hull, width: float):
        """The exact interval of target t, if narrower than `width`: (t, low, high)."""
        cost = np.zeros(self.n)
        cost[t] = -1.0
        top = self._solve(cost)
        if top is _UNBOUNDED:
            return
        if top is None:  # the solver gave up: not proven safe
            yield t, np.nan, np.nan
            return
        hull.add(top)
        if hull.width(t) >= width:
            return
        cost[t] = 1.0
        bottom = self._solve(cost)
        if bottom is None or bottom is _UNBOUNDED:
            yield t, np.nan, np.nan
            return
        hull.add(bottom)
        if top[t] - bottom[t] < width:
            yield t, max(bottom[t], 0.0), top[t]

    def _capped(self, open_, lo_in, hi_in, width, up: np.ndarray):
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
        x = self._run()
        model.set_col_bounds(open_, self.low[open_], self.high[open_])
        model.set_cost(open_, np.zeros(len(open_)))
        return None if x is None or x is _UNBOUNDED else x

    def _solve(self, cost: np.ndarray):
        """A solution minimising `cost` (variables only), _UNBOUNDED, or None on failure."""
        cols = np.flatnonzero(cost)
        self.model.set_cost(cols, cost[cols])
        x = self._run()
        self.model.set_cost(cols, np.zeros(len(cols)))
        return x

    def _run(self):
        self.stats.lps += 1
        status, x = self.model.solve()
        if status == lp.UNBOUNDED:
            return _UNBOUNDED
        return x[: self.n] if status == lp.OPTIMAL else None


class Hull:
    """Inner bounds of a block's variables: the hull of the feasible points seen, and which
    point reaches each bound (the certificate of the width, for another party to check)."""

    def __init__(self, point: np.ndarray) -> None:
        self.points: list[np.ndarray] | None = [point]
        self.low, self.high = point.copy(), point.copy()
        self.low_by, self.high_by = np.zeros(len(point), int), np.zeros(len(point), int)

    @classmethod
    def of_bounds(cls, low: np.ndarray, high: np.ndarray) -> Hull:
        """Inner bounds proven elsewhere, with no points kept: no certificate to give."""
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

    def width(self, targets):
        return self.high[targets] - self.low[targets]

    def certificate(self, targets: np.ndarray) -> np.ndarray:
        """Variables x points: the points reaching the targets' bounds, and no others."""
        if self.points is None:
            raise ValueError("a hull built from bounds keeps no points to certify them")
        used = np.unique(np.concatenate([self.low_by[targets], self.high_by[targets]]))
        return np.column_stack([self.points[j] for j in used])


class _Claims:
    """Witness points (`Witnesses`) placed on the cells of the release under audit."""

    def __init__(self, witnesses: Witnesses, cells: int, empty: np.ndarray | None = None) -> None:
        self.witnesses = witnesses
        self.cell_of_row = np.where(witnesses.cells < cells, witnesses.cells, -1)
        self.row_of_cell = np.full(cells, -1)  # -1: no claim about the cell
        known = self.cell_of_row >= 0
        self.row_of_cell[self.cell_of_row[known]] = np.flatnonzero(known)
        # Rows the release lists for empty cells (after the search): claimed at 0.
        self.empty = np.zeros(cells, bool) if empty is None else empty

    def for_figure(self, figure: str, prob: Problem) -> _FigureClaims:
        return self.for_figures((figure,), prob)

    def for_figures(self, figures: tuple[str, ...], prob: Problem) -> _FigureClaims:
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
            claimed = self.witnesses.values[np.maximum(rows, 0), i]
            base[mine] = np.where(rows >= 0, claimed, np.where(self.empty[cells], 0.0, np.nan))
            for chunk_rows, points in self.witnesses.points.get(figure, []):
                cells = self.cell_of_row[chunk_rows]
                vars_ = np.where(cells >= 0, var_of[np.maximum(cells, 0) + j * n], -1)
                kept = vars_ >= 0
                if kept.any():
                    chunks.append((vars_[kept], points[kept]))
        if len(figures) > 1:  # points of the linked figures at once: ids offset per figure
            rows_per_figure = len(self.cell_of_row)
            for chunk_ids, points in self.witnesses.points.get("+".join(figures), []):
                j, rows = np.divmod(chunk_ids, rows_per_figure)
                cells = self.cell_of_row[rows]
                vars_ = np.where(cells >= 0, var_of[np.maximum(cells, 0) + j * n], -1)
                kept = vars_ >= 0
                if kept.any():
                    chunks.append((vars_[kept], points[kept]))
        return _FigureClaims(prob, base, chunks)


class _FigureClaims:
    """One figure's witness points, in its problem's variables; `hull` checks them."""

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
        """The hull of the claimed points that are feasible for the block, or None.

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
            return None  # the claimed completion itself breaks a relation: nothing to build on
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
        """Block variables x claimed points: each point minus `base`."""
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
