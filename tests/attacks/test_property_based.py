"""Random small releases: after complementary suppression the attacker pins nothing, and no
cell under the threshold is ever published. The audit agrees with an independent attacker."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.audit import audit
from reports.cells import KEY
from reports.grid import Window
from reports.protect import protect
from reports.status import GA4_OTHER_CATEGORY, PRIMARY, PUBLISHED, SECONDARY
from reports.suppress import complementary
from tests.attacks.helpers import MONDAY, blank, daily_release, exposed, staged

CATEGORIES = ("Chrome", "Safari", "Firefox", "Lynx")


SPANS = st.sampled_from([7, 14, 30])  # a week, two, a whole month (April 2024)


@st.composite
def releases(draw, days=SPANS):
    """(raw cells, k): a few categories x a few days with their weeks and month."""
    k = draw(st.integers(2, 15))
    n = draw(days)
    n_cats = draw(st.integers(2, len(CATEGORIES)))
    daily, users = {}, {}
    for name in CATEGORIES[:n_cats]:
        scale = draw(st.sampled_from([0, 3, 10, 40]))
        seed = draw(st.integers(0, 2**16))
        rng = np.random.default_rng(seed)
        u = rng.poisson(scale, n).astype(float)
        users[name] = list(u)
        daily[name] = list(u + rng.integers(0, 4, n) * (u > 0))
    if not any(sum(v) for v in daily.values()):
        daily[CATEGORIES[0]][0] = users[CATEGORIES[0]][0] = 1.0
    cells = daily_release(daily, users=users)
    if draw(st.booleans()):  # GA4 folds the last category into (other) on some days
        every = draw(st.integers(2, 5))
        folded = (cells["category"] == CATEGORIES[n_cats - 1]) & (cells["grain"] == "day")
        folded &= cells["period"].map(lambda d: d.toordinal() % every == 0)
        cells.loc[folded, "category"] = GA4_OTHER_CATEGORY
    return cells, k


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(releases())
def test_complementary_leaves_nothing_exposed(case):
    cells, k = case
    before = staged(cells, k)
    after = complementary(before, k)
    kept = after.iloc[: len(before)]
    assert (kept["status"] != PUBLISHED)[before["status"] == PRIMARY].all()
    changed = kept["status"].to_numpy() != before["status"].to_numpy()
    assert (kept["status"][changed] == SECONDARY).all()
    assert (before["status"][changed] == PUBLISHED).all()
    assert (after.iloc[len(before) :]["status"] == PRIMARY).all()  # residual cells, if any
    assert not (after["users"] < k)[after["status"] == PUBLISHED].any()
    result = audit(blank(after), k)
    assert result.ok, result.exposed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(releases(days=st.just(7)))
def test_audit_agrees_with_an_independent_attacker(case):
    cells, k = case
    released = blank(staged(cells, k))  # primary suppression only: often exposed
    found = audit(released, k).exposed
    ours = set(
        zip(
            found["breakdown"],
            found["grain"],
            found["period"],
            found["category"],
            found["figure"],
            strict=True,
        )
    )
    theirs = {
        (*released.loc[row, ["breakdown", "grain", "period", "category"]], figure)
        for row, figure, _, _ in exposed(released, k)
    }
    assert ours == theirs


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(releases(days=st.just(30)), st.integers(3, 26))
def test_frozen_periods_stay_and_new_ones_are_protected(case, cut):
    cells, k = case
    earlier = protect(cells, k, Window(MONDAY, MONDAY + timedelta(days=cut)))
    later = protect(cells, k, Window(MONDAY, MONDAY + timedelta(days=29)), earlier)
    merged = earlier.cells.merge(later.cells, on=KEY, suffixes=("_old", "_new"))
    assert len(merged) == len(earlier.cells)
    assert (merged["status_old"] == merged["status_new"]).all()
    result = audit(later.cells, k)
    assert result.ok, result.exposed
