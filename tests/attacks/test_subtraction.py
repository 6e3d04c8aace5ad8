"""Total minus the other categories; days against their week and month."""

from __future__ import annotations

from datetime import timedelta

from reports.audit import audit
from reports.status import PRIMARY, PUBLISHED, SECONDARY
from tests.attacks.helpers import MONDAY, daily_release, exposed, interval, protect, row_of

K = 10


def test_unprotected_total_minus_others_pins_the_small_cell():
    # The attack itself, on a release with primary suppression only: one withheld browser a
    # day is the day's total minus the others.
    cells = daily_release({"Chrome": [60], "Safari": [40], "Lynx": [3]}, grains=("day",))
    released = cells.assign(status=PUBLISHED)
    lynx = row_of(released, "browsers", "day", MONDAY, "Lynx")
    released.loc[lynx, "status"] = PRIMARY
    released.loc[lynx, ["sessions", "views"]] = float("nan")
    assert interval(released, lynx, "sessions") == (3.0, 3.0)


def test_total_minus_others_is_blocked():
    cells = daily_release({"Chrome": [60], "Safari": [40], "Lynx": [3]}, grains=("day",))
    out, released = protect(cells, K)
    lynx = row_of(out, "browsers", "day", MONDAY, "Lynx")
    assert out.at[lynx, "status"] == PRIMARY
    assert (out["status"] == SECONDARY).sum() == 1  # one complement: the cheapest, Safari
    assert out.loc[out["category"] == "Safari", "status"].item() == SECONDARY
    low, high = interval(released, lynx, "sessions")
    assert high - low >= K
    assert exposed(released, K) == []
    assert audit(released, K).ok


def test_two_small_cells_that_sum_below_k_get_a_third():
    # Withholding only the two small cells would pin both inside [0, 5].
    cells = daily_release(
        {"Chrome": [60], "Safari": [40], "Lynx": [3], "Opera": [2]}, grains=("day",)
    )
    out, released = protect(cells, K)
    assert (out["status"] == SECONDARY).sum() == 1
    assert exposed(released, K) == []


def test_day_against_week_and_month():
    # Lynx shows up on one day of April; its week and month are published (enough users), so
    # the day would be the week minus the other (absent, zero) days.
    n = 30
    lynx = [0.0] * n
    lynx[9] = 4.0
    users = {"Lynx": [0.0] * n}
    users["Lynx"][9] = 4.0
    cells = daily_release(
        {"Chrome": [80.0 + i % 7 for i in range(n)], "Safari": [50.0] * n, "Lynx": lynx},
        users=users,
    )
    # Pretend Lynx's week and month have more (distinct) users than k, so they are published.
    aggregate = (cells["category"] == "Lynx") & cells["grain"].isin(["week", "month"])
    cells.loc[aggregate, "users"] = 12.0
    out, released = protect(cells, K)
    day = row_of(out, "browsers", "day", MONDAY + timedelta(days=9), "Lynx")
    assert out.at[day, "status"] == PRIMARY
    week = row_of(out, "browsers", "week", MONDAY + timedelta(days=7), "Lynx")
    month = row_of(out, "browsers", "month", MONDAY, "Lynx")
    assert out.at[week, "status"] == SECONDARY and out.at[month, "status"] == SECONDARY
    assert exposed(released, K) == []
    assert audit(released, K).ok


def test_small_days_of_a_week_cannot_be_summed_from_week_and_month():
    # Several small days in the same week: the days sum to the week, whose users pass k.
    n = 30
    small = [2.0 if 7 <= i <= 11 else 0.0 for i in range(n)]
    cells = daily_release({"Chrome": [70.0] * n, "Firefox": [25.0] * n, "SeaMonkey": small})
    out, released = protect(cells, K)
    assert exposed(released, K) == []
    assert audit(released, K).ok
