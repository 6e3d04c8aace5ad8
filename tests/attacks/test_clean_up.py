"""The clean-up after complementary suppression: complements no protected figure needs are
published again, and a published cell is withheld in exchange for complements worth more.
It must lose less and never expose: the independent attacker checks every release."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connectors.catalog import ADDITIVE
from reports import suppress
from reports.audit import audit
from reports.status import PRIMARY, SECONDARY, WITHHELD
from tests.attacks.helpers import blank, daily_release, exposed, staged

K = 10
SEEDS = range(8)


def small_week(seed: int) -> pd.DataFrame:
    """Three or four browsers over one week with small counts, the week and the site total:
    few enough linked cells for the clean-up to re-solve every block."""
    rng = np.random.default_rng(seed)
    levels = {"Chrome": 40, "Safari": 18, "Firefox": 9, "Opera": 4}
    names = list(levels)[: int(rng.integers(3, 5))]
    users = {name: rng.poisson(levels[name], 7).astype(float) for name in names}
    sessions = {name: u + rng.integers(0, 3, 7) * (u > 0) for name, u in users.items()}
    return staged(daily_release(sessions, users=users, grains=("day", "week")), K)


def cost(cells: pd.DataFrame) -> float:
    """The loss the heuristic minimises: sessions + 1 per complement."""
    return float((cells.loc[cells["status"] == SECONDARY, "sessions"] + 1).sum())


@pytest.fixture(scope="module")
def with_and_without() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    pairs = []
    for seed in SEEDS:
        cells = small_week(seed)
        cleaned = suppress.complementary(cells, K)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(suppress._State, "release_unneeded", lambda state: None)
            plain = suppress.complementary(cells, K)
        pairs.append((cleaned, plain))
    return pairs


def test_clean_up_loses_less_and_never_more(with_and_without):
    costs = [(cost(cleaned), cost(plain)) for cleaned, plain in with_and_without]
    assert all(after <= before for after, before in costs), costs
    assert sum(after for after, _ in costs) < sum(before for _, before in costs), costs


def test_cleaned_releases_expose_nothing(with_and_without):
    for cleaned, plain in with_and_without:
        assert exposed(blank(cleaned), K) == []
        # Primary cells stay withheld: only complements change.
        primary = plain["status"] == PRIMARY
        assert (cleaned.loc[primary, "status"] == PRIMARY).all()
        assert cleaned["status"].isin([*WITHHELD, "published"]).all()


def test_points_moving_a_cell_published_again_are_dropped():
    """Feasible points handed to the audit keep every published cell at its true figures,
    so the audit's check accepts them: points found before a complement was published again
    would move it, and are dropped."""
    for seed in SEEDS:
        cells = small_week(seed)
        truth, found = suppress.complementary_with_points(cells, K)
        published = ~truth["status"].isin(WITHHELD).to_numpy()
        for figure in ADDITIVE:
            values = truth[figure].to_numpy(dtype=float)
            for rows, points in found.points[figure]:
                cells_of = found.cells[rows]  # the search's rows are the release's rows
                fixed = published[cells_of]
                expected = np.nan_to_num(values[cells_of[fixed]])[:, None]
                assert np.allclose(points[fixed], expected, atol=1e-6), (seed, figure)
        full = audit(blank(truth), K)
        checked = audit(blank(truth), K, points=found)
        assert full.ok and checked.ok and checked.proofs == full.proofs
