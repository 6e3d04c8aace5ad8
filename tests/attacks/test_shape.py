"""The attacker who reads the table's shape (issue 27): a listed withheld row is a visited cell,
and engaged sessions never exceed sessions. Kanon lists every period of a listed category, so
the shape says nothing; a release listing only visited cells is exposed, and the audit says so."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports import attack, shape
from reports.audit import audit
from reports.grid import Window
from reports.protect import VISITED, protect
from reports.status import EMPTY, PRIMARY, PUBLISHED, WITHHELD
from tests.attacks.helpers import (
    MONDAY,
    blank,
    daily_release,
    exposed,
    interval,
    row_of,
    staged,
)

K = 10


def the_issues_day() -> pd.DataFrame:
    """A day with 45 visits: Chrome 25 and Safari 10 published, Edge 4, Firefox 3 and Samsung
    Internet 3 under k; on the next day all five are published, so all five are listed.
    Days only, so only the category relation links the first day's cells."""
    daily = {
        "Chrome": [25, 40],
        "Safari": [10, 30],
        "Edge": [4, 12],
        "Firefox": [3, 11],
        "Samsung": [3, 10],
    }
    return daily_release(daily, grains=("day",))


def test_a_listed_withheld_row_pins_a_small_cell_when_only_visited_cells_are_listed():
    cells = staged(the_issues_day(), K)
    released = blank(cells, listing="visited")
    edge = row_of(released, "browsers", "day", MONDAY, "Edge")
    assert interval(released, edge, "sessions", shape=False) == (0.0, 10.0)  # safe, once
    low, high = interval(released, edge, "sessions", listing="visited")
    assert (low, high) == (1.0, 8.0)  # each of the other two had at least one visit
    unaware = audit(released, K)  # read as a release listing every period: no hole, no bound
    assert "sessions" not in set(unaware.exposed["figure"])
    result = audit(released, K, listing="visited")
    assert not result.ok
    pinned = result.exposed[result.exposed["figure"] == "sessions"]
    assert set(pinned["category"]) == {"Edge", "Firefox", "Samsung"}
    assert pinned["low"].min() >= 1.0 - 1e-6


def test_listing_every_period_takes_the_shape_channel_away():
    # A week of days: Edge is published on one day, so it is listed, and every day lists it.
    daily = {
        "Chrome": [30, 32, 28, 31, 29, 30, 33],
        "Safari": [12, 11, 14, 12, 13, 12, 11],
        "Edge": [25, 0, 3, 0, 2, 0, 24],
        "Firefox": [0, 2, 0, 3, 0, 2, 0],
    }
    raw = daily_release(daily, grains=("day", "week"))
    window = Window(first_day=MONDAY, last_settled=MONDAY + timedelta(days=6))
    release = protect(raw, K, window)
    cells = release.cells
    days = cells[(cells["grain"] == "day") & (cells["breakdown"] == "browsers")]
    listed = set(cells.loc[cells["status"] == PUBLISHED, "category"])
    assert "Edge" in listed
    assert days[days["category"].isin(listed)].groupby("category").size().eq(7).all()
    edge = days[days["category"] == "Edge"]
    assert (edge["status"] == EMPTY).sum() == 3  # its empty days read like withheld ones
    assert shape.missing_rows(cells).empty
    assert not shape.floors(cells).any()
    assert exposed(cells, K) == []
    assert audit(cells, K).ok


def test_protect_against_the_bounds_instead_withholds_more_and_holds_too():
    daily = {
        "Chrome": [30, 32, 28, 31, 29, 30, 33],
        "Safari": [12, 11, 14, 12, 13, 12, 11],
        "Edge": [12, 1, 3, 0, 2, 0, 4],
        "Firefox": [0, 2, 0, 3, 0, 2, 1],
        "Opera": [1, 0, 0, 2, 0, 0, 1],
    }
    raw = daily_release(daily, grains=("day", "week"))
    window = Window(first_day=MONDAY, last_settled=MONDAY + timedelta(days=6))
    visited = protect(raw, K, window, listing=VISITED).cells
    assert not (visited["status"] == EMPTY).any()
    assert shape.floors(visited, VISITED).any()  # the shape tells; protect counted on it
    assert audit(visited, K, listing=VISITED).ok
    assert exposed(visited, K, listing=VISITED) == []


def test_engaged_sessions_at_most_sessions_can_narrow_sessions():
    """Two withheld cells share 12 sessions; their engaged sessions (8) are all in the first.
    Alone, its sessions lie anywhere in [0, 12]; with engaged <= sessions, in [8, 12]."""
    sessions = attack.Problem(
        "sessions",
        sp.csr_array(np.array([[1.0, 1.0]])),
        np.array([12.0]),
        np.array([12.0]),
        np.array([0, 1]),
        np.array([0]),
    )
    engaged = attack.Problem(
        "engaged_sessions",
        sp.csr_array(np.array([[1.0, 1.0], [0.0, 1.0]])),
        np.array([8.0, 0.0]),
        np.array([8.0, 0.0]),
        np.array([0, 1]),
        np.array([1, 2]),
    )
    alone = attack.exposed(sessions, np.array([0]), width=K)
    assert alone.empty
    linked = attack.joint(engaged, sessions, n_cells=2)
    hits = attack.exposed(linked, np.array([2]), width=K)  # cell 0's sessions: id 0 + 2
    assert len(hits) == 1
    assert abs(hits["low"].iloc[0] - 8.0) < 1e-4 and abs(hits["high"].iloc[0] - 12.0) < 1e-4


CATEGORIES = ("Chrome", "Safari", "Edge", "Firefox", "Opera")


@st.composite
def small_residuals(draw):
    """A few large categories and several tiny ones, so a day's residual (total minus the
    published rows) is small and split among several withheld rows, over one or two weeks."""
    k = draw(st.integers(3, 12))
    n = draw(st.sampled_from([7, 14]))
    daily = {}
    for i, name in enumerate(CATEGORIES):
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        level = [3 * k, 2 * k, 1, 1, 1][i]
        series = rng.poisson(level, n).astype(float)
        series[rng.random(n) < 0.3] = 0.0 if i >= 2 else series[0]
        daily[name] = list(series)
    daily["Chrome"][0] = max(daily["Chrome"][0], float(k))
    return daily_release(daily, grains=("day", "week")), k, n


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_residuals())
def test_no_small_cell_is_pinned_by_an_attacker_who_reads_the_shape(case):
    raw, k, n = case
    window = Window(first_day=MONDAY, last_settled=MONDAY + timedelta(days=n - 1))
    cells = protect(raw, k, window).cells
    assert not (cells.loc[cells["status"] == PUBLISHED, "users"] < k).any()
    assert exposed(cells, k) == []
    assert audit(cells, k).ok
    # The same figures listed as GA4 returned them: what the audit must catch when it pins.
    shown = cells[cells["status"] != EMPTY]
    if exposed(shown, k):
        assert not audit(shown, k).ok


def test_the_audit_reads_holes_as_a_shape_that_tells():
    """A release that claims to list every period but leaves one out: its listed withheld
    rows are visited cells to the attacker, and the audit counts them so."""
    daily = {"Chrome": [25, 40, 30], "Safari": [10, 30, 20], "Edge": [4, 12, 0]}
    daily |= {"Firefox": [3, 11, 0], "Samsung": [3, 10, 0]}
    released = blank(staged(daily_release(daily, grains=("day",)), K), listing="visited")
    assert not shape.missing_rows(released).empty  # Edge, Firefox, Samsung: no third day
    assert (released["status"] == PRIMARY).sum() == 3
    # Primary suppression only: engaged sessions (4 of them) are exposed either way; the
    # sessions (10, exactly k) only through the holes.
    holed = audit(released, K)
    assert "sessions" in set(holed.exposed["figure"])
    assert any(figure == "sessions" for _, figure, _, _ in exposed(released, K))
    completed = shape.complete(released)
    assert (completed["status"] == EMPTY).sum() == 3
    mended = audit(completed, K)  # listing the empty cells mends the shape
    assert "sessions" not in set(mended.exposed["figure"])
    assert not any(figure == "sessions" for _, figure, _, _ in exposed(completed, K))
    assert (completed["status"].isin(WITHHELD)).sum() == 6
