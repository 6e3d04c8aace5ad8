"""The feasible points protect found, offered to the audit: they spare the sync's audit its
LPs, and a wrong or stale one never changes a verdict, because the audit checks each against
the release."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reports import suppress
from reports.attack import FoundPoints, Problem, Stats, UnitPoints, exposed, propagate
from reports.audit import audit
from reports.cells import FIGURES
from reports.status import SECONDARY
from tests.attacks.helpers import blank, daily_release, staged

K = 10
DAILY = {  # as in test_audit_proofs: small browsers every day, blocks of several relations
    "Chrome": [60 + (i * 7) % 11 for i in range(28)],
    "Firefox": [25 + (i * 5) % 7 for i in range(28)],
    "Opera": [3 + i % 4 for i in range(28)],
    "Lynx": [1 + i % 3 for i in range(28)],
}


def protected() -> tuple[pd.DataFrame, pd.DataFrame, FoundPoints]:
    truth, points = suppress.complementary_with_points(staged(daily_release(DAILY), K), K)
    assert points is not None
    return truth, blank(truth), points


def leaked(truth: pd.DataFrame, release: pd.DataFrame) -> pd.DataFrame:
    """The release with its complements published: protected cells become derivable."""
    leaky = release.copy()
    complements = np.flatnonzero((leaky["status"] == SECONDARY).to_numpy())
    assert len(complements)
    leaky.loc[complements, "status"] = "published"
    leaky.loc[complements, FIGURES] = truth.loc[complements, FIGURES].to_numpy()
    return leaky


def test_protects_points_prove_its_release_with_fewer_lps():
    _, release, points = protected()
    full = audit(release, K)
    checked = audit(release, K, points=points)
    assert full.ok and checked.ok
    assert full.counts["lps"] > 0
    assert checked.counts["offered"] > 0
    assert checked.counts["lps"] < full.counts["lps"]
    assert checked.proofs == full.proofs  # the same blocks are proven safe


def test_points_follow_the_rows_when_the_release_is_reordered():
    _, release, points = protected()
    order = np.random.default_rng(7).permutation(len(release))
    shuffled = release.iloc[order].reset_index(drop=True)
    result = audit(shuffled, K, points=points.renumbered(order))
    assert result.ok and result.counts["offered"] > 0
    # Claims placed on the wrong rows are checked like any other and prove nothing.
    misplaced = audit(shuffled, K, points=points)
    assert misplaced.ok and misplaced.counts["offered"] < result.counts["offered"]
    assert misplaced.proofs == result.proofs


def test_stale_points_do_not_hide_a_leak():
    truth, release, points = protected()
    leaky = leaked(truth, release)
    full = audit(leaky, K)
    checked = audit(leaky, K, points=points)
    assert not full.ok
    assert checked.exposed.equals(full.exposed)


def triangle() -> Problem:
    """x0 + x1 = x1 + x2 = x0 + x2 = 20: every cell is 10, yet interval propagation alone
    leaves each in [0, 20], so only an LP (or a wrong point) decides it."""
    matrix = sp.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]))
    twenty = np.full(3, 20.0)
    return Problem("sessions", matrix, twenty, twenty, np.arange(3), np.arange(3))


def test_forged_points_claiming_a_wide_interval_are_rejected():
    prob = triangle()
    assert (propagate(prob)[1] - propagate(prob)[0] >= 20).all()
    honest = exposed(prob, np.arange(3), width=10.0)
    assert len(honest) == 3 and np.allclose(honest[["low", "high"]], 10.0)
    # Points that would put each cell anywhere in [0, 20]: none satisfies the relations.
    forged = np.array([[0.0, 20.0], [20.0, 0.0], [0.0, 20.0]])
    claims = UnitPoints(prob, base=np.array([10.0, 10.0, 10.0]), chunks=[(np.arange(3), forged)])
    stats = Stats()
    result = exposed(prob, np.arange(3), width=10.0, offered=claims, stats=stats)
    assert result.equals(honest)
    assert stats.offered == 0 and stats.lps > 0


def test_a_feasible_point_is_used_and_proves_without_an_lp():
    prob = triangle()
    prob.low = np.zeros(3)  # now x0 + x1, x1 + x2, x0 + x2 in [0, 20]: 0 and 10 are feasible
    claims = UnitPoints(prob, base=np.zeros(3), chunks=[(np.arange(3), np.full((3, 1), 10.0))])
    stats = Stats()
    assert exposed(prob, np.arange(3), width=10.0, offered=claims, stats=stats).empty
    assert stats.offered == 1 and stats.lps == 0
