"""GA4's (other) row, and totals that do not match the sum of GA4's rows."""

from __future__ import annotations

import pandas as pd

from reports import relations
from reports.audit import audit
from reports.relations import OVERCOUNT, RESIDUAL
from reports.status import GA4_OTHER, PRIMARY, PUBLISHED
from reports.suppress import complementary
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


def _browsers(n: int = 14, **extra: list[float]) -> pd.DataFrame:
    return daily_release(
        {
            "Chrome": [70.0 + i % 5 for i in range(n)],
            "Safari": [40.0] * n,
            "Firefox": [22.0] * n,
            **extra,
        }
    )


def test_other_row_is_never_published_and_cannot_be_derived_when_small():
    other = [4.0 if i % 3 == 0 else 0.0 for i in range(14)]
    cells = _browsers(**{"(other)": other})
    out, released = protect(cells, K)
    assert (out.loc[out["category"] == "(other)", "status"] == GA4_OTHER).all()
    small = out[(out["category"] == "(other)") & (out["grain"] == "day")].index
    for row in small:
        low, high = interval(released, row, "sessions")
        assert high - low >= K
    assert audit(released, K).ok


def test_total_larger_than_rows_gets_a_protected_residual():
    # GA4 hid 3 sessions of Monday's browsers (thresholding): total minus rows = 3.
    cells = _browsers()
    total = row_of(cells, "overview", "day", MONDAY, "(all visits)")
    cells.loc[total, ["users", "sessions", "views"]] += 3.0
    week = row_of(cells, "overview", "week", MONDAY, "(all visits)")
    cells.loc[week, ["users", "sessions", "views"]] += 3.0
    out, released = protect(cells, K)
    residual = out[out["category"] == RESIDUAL]
    assert set(residual["grain"]) == {"day", "week"}
    assert (residual["status"] == PRIMARY).all() and residual["users"].isna().all()
    day = residual[residual["grain"] == "day"].iloc[0]
    assert (day["sessions"], day["views"]) == (3.0, 3.0)
    row = row_of(released, "browsers", "day", MONDAY, RESIDUAL)
    low, high = interval(released, row, "sessions")
    assert high - low >= K
    assert exposed(released, K) == []
    assert audit(released, K).ok


def test_rows_larger_than_total_get_an_overcount_cell():
    # Two sessions counted under two browsers on Monday (so in the week too): the rows add up
    # to 2 more than the site total, day and week alike.
    cells = _browsers()
    for grain in ("day", "week"):
        cells.loc[row_of(cells, "overview", grain, MONDAY, "(all visits)"), "sessions"] -= 2.0
    out, released = protect(cells, K)
    over = out[out["category"] == OVERCOUNT]
    assert len(over) == 2 and (over["sessions"] == 2.0).all()
    assert (over["status"] == PRIMARY).all()
    assert audit(released, K).ok
    assert exposed(released, K) == []


def test_rounding_gaps_are_not_residuals():
    cells = _browsers()
    total = row_of(cells, "overview", "day", MONDAY, "(all visits)")
    cells.loc[total, "session_seconds"] += 0.3
    out = complementary(staged(cells, K), K)
    assert not out["category"].isin([RESIDUAL, OVERCOUNT]).any()
    assert (out["status"] == PUBLISHED).all()


def _folded(n: int = 14) -> pd.DataFrame:
    """Opera is folded into GA4's (other) row on some days, but has its own week row."""
    cells = _browsers(n, Opera=[6.0] * n)
    folded = (cells["category"] == "Opera") & (cells["grain"] == "day")
    folded &= cells["period"].map(lambda d: d.day % 3 == 0)
    cells.loc[folded, "category"] = "(other)"
    return cells


def test_a_category_folded_into_other_bounds_its_week_without_pinning_it():
    # Opera's visible days no longer sum to its week: the attacker only knows the visible days
    # sum to at most the week, and at least the week minus the (other) rows of those days.
    cells = _folded()
    rel = relations.build(staged(cells, K))
    kinds = set(rel.labels["kind"])
    assert relations.FOLDED in kinds and relations.TIME in kinds
    out, released = protect(cells, K)
    result = audit(released, K)
    assert result.ok, result.exposed
    assert out.loc[out["category"] == "(other)", "status"].eq(GA4_OTHER).all()


def test_audit_of_an_empty_or_relation_free_release():
    empty = staged(_browsers(1).iloc[:0], K)
    assert audit(empty, K).ok
    lonely = staged(_browsers(1), K)
    lonely = lonely[lonely["breakdown"] == "overview"].assign(users=3.0, status=PRIMARY)
    assert audit(blank(lonely), K).ok  # a site total alone: nothing to subtract it from
