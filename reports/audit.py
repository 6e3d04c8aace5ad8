"""The verdict: does a stored release keep the promise?

`audit(release_cells, k) -> AuditResult` attacks a release as stored (withheld figures blank,
statuses present) with `reports.attack`'s attacker, and needs no true figure. `AuditResult.ok`
is False when any protected figure is exposed; `exposed` lists them (breakdown, grain, period,
category, figure, low, high). `kanon audit` runs it on the stored release; every sync runs it
before it publishes, with the points protect found and the proofs of the last audit, so
unchanged blocks are not solved again (PRIVACY.md, "The audit and its proofs").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports import attack, relations, shape
from reports.attack import FoundPoints, Proofs, Stats, required_width
from reports.status import EMPTY, PRIMARY, WITHHELD


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
            + (f"; {c['offered']} by checked points protect found" if c.get("offered") else "")
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


def audit(
    release_cells: pd.DataFrame,
    k: int,
    sensitive: tuple[str, ...] = (PRIMARY,),
    proven: frozenset[str] = frozenset(),
    points: FoundPoints | None = None,
    listing: str = "every-period",
) -> AuditResult:
    """Attack a release (withheld figures NaN): the interval of every protected cell's figures.

    `listing` is the rule the release's rows follow (its info's "listing"; releases before
    issue 27 listed only visited cells: "visited"), which tells the attacker what a listed
    withheld row means (`reports.shape.floors`).

    Only published figures and statuses are used; cells whose status is in `sensitive` are the
    ones to protect (PRIMARY covers cells under k users and residual cells). `proven` holds
    fingerprints of blocks an earlier audit proved safe (`AuditResult.proofs`): blocks with
    the same fingerprint are the same LP and are not solved again. `points` are feasible
    points a search found, to check and start from: the hull of those that hold proves cells
    safe without an LP. Leave both empty for a full audit.
    """
    started = time.perf_counter()
    cells = release_cells.reset_index(drop=True)
    rel = relations.build(cells)
    withheld = cells["status"].isin(WITHHELD).to_numpy()
    empty = (cells["status"] == EMPTY).to_numpy()
    targets = np.flatnonzero(cells["status"].isin(sensitive).to_numpy() & withheld)
    system = _System(
        rel=rel,
        cells=cells,
        k=k,
        floors=shape.floors(cells, listing),
        proofs=Proofs(keys=attack.key_hashes(cells), known=frozenset(proven)),
        offered=attack.OfferedPoints(points, len(cells), empty) if points is not None else None,
    )
    # Empty cells first as known zeros: a narrower system than the attacker's, who cannot tell
    # them from withheld ones, so a target wide enough here is wide enough for the attacker.
    # Listed as unknowns they join blocks that were apart and make the LPs far larger; only
    # the targets found narrow here are attacked again with them free.
    attacked = system.attack(withheld & ~empty, targets)
    hits = pd.concat([found for found, _ in attacked], ignore_index=True)
    if empty.any() and not hits.empty:
        again = system.attack(withheld, np.unique(hits["cell"].to_numpy()))
        attacked += again
        hits = pd.concat([found for found, _ in again], ignore_index=True)
    stats = Stats(
        lps=sum(s.lps for _, s in attacked),
        components=sum(s.components for _, s in attacked),
        reused=sum(s.reused for _, s in attacked),
        offered=sum(s.offered for _, s in attacked),
    )
    exposed = _describe(cells, hits)
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
        "offered": stats.offered,
    }
    return AuditResult(
        ok=exposed.empty,
        exposed=exposed,
        counts=counts,
        seconds=time.perf_counter() - started,
        proofs=frozenset(system.proofs.found),
    )


@dataclass
class _System:
    """What the audit attacks with: the release, its relations and what its shape says."""

    rel: relations.Relations
    cells: pd.DataFrame
    k: int
    floors: np.ndarray
    proofs: Proofs
    offered: attack.OfferedPoints | None

    def attack(self, withheld: np.ndarray, targets: np.ndarray) -> list[tuple[pd.DataFrame, Stats]]:
        """Per unit: the targets (cell ids) proven exposed (cell, low, high, figure), and the
        work it took, when the cells in `withheld` are the unknowns."""
        n = len(self.cells)

        def attack_unit(unit: tuple[str, ...]) -> tuple[pd.DataFrame, Stats]:
            prob = attack.unit_problem(self.rel, unit, withheld, self.cells, self.floors)
            own = Stats()
            mine = self.offered.for_figures(unit, prob) if self.offered else None
            found = [
                attack.exposed(prob, ids, width, stats=own, proofs=self.proofs, offered=mine)
                for width, figures in _by_width(unit, self.k).items()
                for ids in [np.concatenate([targets + unit.index(f) * n for f in figures])]
            ]
            hits = pd.concat(found, ignore_index=True) if found else _no_hits()
            cell = hits["cell"].to_numpy()
            figure = np.asarray(unit, dtype=object)[cell // n]
            return hits.assign(cell=cell % n, figure=figure), own

        return attack.for_each_unit(attack_unit)


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
