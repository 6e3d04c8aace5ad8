"""One status per cell, the threshold's boundaries, and averages of withheld cells."""

from __future__ import annotations

import numpy as np
import pytest

from reports.attack import required_width
from reports.audit import audit
from reports.cells import FIGURES, KEY
from reports.status import PRIMARY, PUBLISHED, WITHHELD
from tests.attacks.helpers import (
    MONDAY,
    blank,
    daily_release,
    exposed,
    interval,
    protect,
    row_of,
    staged,
)

K = 10


def _week(**small: list[float]):
    n = 30
    big = {"Chrome": [90.0 + (i * 7) % 11 for i in range(n)], "Safari": [45.0] * n}
    return daily_release({**big, **small})


def test_one_row_and_one_status_per_cell():
    # A small day is in two views: the day table (with the other browsers that day) and the
    # week's drill-down (with the other days of its week). It is one row, so one status.
    lynx = [3.0 if i % 9 == 4 else 0.0 for i in range(30)]
    out, released = protect(_week(Lynx=lynx), K)
    assert not out.duplicated(KEY).any()
    day = MONDAY.replace(day=5)
    in_day_view = released[(released["grain"] == "day") & (released["period"] == day)]
    in_week_view = released[(released["grain"] == "day") & (released["category"] == "Lynx")]
    status_day = in_day_view.loc[in_day_view["category"] == "Lynx", "status"].item()
    status_week = in_week_view.loc[in_week_view["period"] == day, "status"].item()
    assert status_day == status_week == PRIMARY
    assert exposed(released, K) == []


@pytest.mark.parametrize(
    ("users", "status"), [(K - 1, PRIMARY), (K, PUBLISHED), (K + 1, PUBLISHED)]
)
def test_threshold_boundaries(users: int, status: str):
    cells = daily_release(
        {"Chrome": [80.0], "Safari": [40.0], "Opera": [users + 2.0]},
        users={"Opera": [float(users)]},
        grains=("day",),
    )
    out, released = protect(cells, K)
    assert out.at[row_of(out, "browsers", "day", MONDAY, "Opera"), "status"] == status
    assert exposed(released, K) == []


def test_absent_cells_are_published_zeros_and_not_sensitive():
    # Lynx has no row on most days: GA4 omits all-zero rows, and a zero reveals no visitor.
    lynx = [0.0] * 30
    lynx[3] = 2.0
    out, released = protect(_week(Lynx=lynx), K)
    lynx_days = out[(out["category"] == "Lynx") & (out["grain"] == "day")]
    assert len(lynx_days) == 1
    assert audit(released, K).ok


def test_k_of_two_is_the_smallest_threshold():
    cells = daily_release({"Chrome": [30.0], "Safari": [20.0], "Lynx": [1.0]}, grains=("day",))
    out, released = protect(cells, 2)
    assert out.loc[out["category"] == "Lynx", "status"].item() == PRIMARY
    assert exposed(released, 2) == []


def test_averages_appear_only_with_their_cell():
    # Averages (seconds per session, engagement rate) are ratios of two withheld figures: the
    # release carries neither, and the totals behind them are as protected as sessions.
    lynx = [3.0 if i in (2, 12, 20) else 0.0 for i in range(30)]
    out, released = protect(_week(Lynx=lynx), K)
    withheld = released["status"].isin(WITHHELD)
    assert released.loc[withheld, FIGURES].isna().all().all()
    average = released["session_seconds"] / released["sessions"]
    assert average[withheld].isna().all() and average[~withheld].notna().all()
    row = row_of(released, "browsers", "day", MONDAY.replace(day=3), "Lynx")
    for figure in ("session_seconds", "engagement_seconds", "engaged_sessions"):
        low, high = interval(released, row, figure)
        assert high - low >= required_width(figure, K) - 1e-6
    # The true average of the cell is not recoverable: many averages fit the intervals.
    assert not np.isclose(*interval(released, row, "session_seconds"))


def test_audit_names_what_it_finds():
    # Primary suppression alone: Lynx is the day's total minus the others.
    cells = daily_release({"Chrome": [60.0], "Safari": [40.0], "Lynx": [3.0]}, grains=("day",))
    released = blank(staged(cells, K))
    result = audit(released, K)
    assert not result.ok and result.counts["exposed_cells"] == 1
    assert set(result.exposed["figure"]) == {
        "sessions",
        "views",
        "engagement_seconds",
        "session_seconds",
        "engaged_sessions",
    }
    lines = result.lines()
    assert lines[0].startswith("EXPOSED") and "Lynx: sessions lies in [3.0, 3.0]" in "\n".join(
        lines
    )
