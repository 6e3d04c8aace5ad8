"""Frozen periods keep their pattern while new periods are protected consistently with them;
the same input always gives the same release."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from reports.audit import audit
from reports.cells import FIGURES, KEY
from reports.grid import Window
from reports.protect import protect as build_release
from reports.status import PUBLISHED, SECONDARY
from reports.suppress import complementary
from tests.attacks.helpers import MONDAY, daily_release, exposed, staged

K = 10
N = 60


def _raw() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return daily_release(
        {
            "Chrome": list(rng.integers(60, 90, N).astype(float)),
            "Safari": list(rng.integers(30, 45, N).astype(float)),
            "Opera": list(rng.integers(4, 14, N).astype(float)),
            "Lynx": [float(x) if x > 2 else 0.0 for x in rng.integers(0, 5, N)],
        }
    )


def test_frozen_cells_keep_their_status_and_new_periods_are_protected():
    raw = _raw()
    first = Window(first_day=MONDAY, last_settled=MONDAY + timedelta(days=19))
    earlier = build_release(raw, K, first)
    assert audit(earlier.cells, K).ok
    # Three weeks later: the week straddling the old edge and the whole month are new, and
    # they relate to days whose figures the earlier release already withheld.
    later = build_release(
        raw, K, Window(first_day=MONDAY, last_settled=MONDAY + timedelta(days=41)), earlier
    )
    merged = earlier.cells.merge(later.cells, on=KEY, suffixes=("_old", "_new"))
    assert len(merged) == len(earlier.cells)
    assert (merged["status_old"] == merged["status_new"]).all()
    for figure in FIGURES:
        same = merged[f"{figure}_old"].fillna(-1) == merged[f"{figure}_new"].fillna(-1)
        assert same.all(), figure
    new_periods = later.cells[later.cells["period"] > MONDAY + timedelta(days=19)]
    assert (new_periods["status"] == SECONDARY).any()
    result = audit(later.cells, K)
    assert result.ok, result.exposed
    assert exposed(later.cells, K) == []


def test_frozen_published_cells_are_never_used_as_complements():
    cells = staged(
        daily_release({"Chrome": [60.0], "Safari": [15.0], "Lynx": [3.0]}, grains=("day",)), K
    )
    safari = cells["category"] == "Safari"
    cells.loc[safari, "frozen"] = True  # published in an earlier release: a constant now
    out = complementary(cells, K)
    assert out.loc[safari, "status"].item() == PUBLISHED
    assert out.loc[out["category"] == "Chrome", "status"].item() == SECONDARY


def test_same_input_same_release_in_any_row_order():
    cells = staged(_raw(), K)
    first = complementary(cells, K)
    again = complementary(cells, K)
    shuffled = complementary(cells.sample(frac=1.0, random_state=5).reset_index(drop=True), K)
    key = lambda frame: frame.sort_values(KEY).reset_index(drop=True)[[*KEY, "status"]]  # noqa: E731
    pd.testing.assert_frame_equal(key(first), key(again))
    pd.testing.assert_frame_equal(key(first), key(shuffled))
