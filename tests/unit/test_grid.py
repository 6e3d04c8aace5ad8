from datetime import date

import pytest

from reports.grid import (
    Window,
    as_dates,
    ga4_period,
    parse_ga4_period,
    period_end,
    period_start,
    periods_within,
    snap,
)


def test_iso_weeks_start_on_monday_and_cross_years():
    assert period_start(date(2026, 1, 1), "week") == date(2025, 12, 29)
    assert ga4_period(date(2025, 12, 29), "week") == "202601"
    assert parse_ga4_period("202601", "week") == date(2025, 12, 29)
    assert parse_ga4_period("202053", "week") == date(2020, 12, 28)


@pytest.mark.parametrize(
    ("start", "grain", "text"),
    [(date(2026, 3, 5), "day", "20260305"), (date(2026, 2, 1), "month", "202602")],
)
def test_ga4_formats_round_trip(start, grain, text):
    assert ga4_period(start, grain) == text
    assert parse_ga4_period(text, grain) == start


def test_month_ends_handle_leap_years():
    assert period_end(date(2024, 2, 1), "month") == date(2024, 2, 29)
    assert period_end(date(2026, 2, 1), "month") == date(2026, 2, 28)


def test_only_whole_periods_lie_within_a_range():
    weeks = periods_within(date(2026, 11, 4), date(2026, 11, 29), "week")
    assert weeks == [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    assert periods_within(date(2026, 1, 2), date(2026, 3, 30), "month") == [date(2026, 2, 1)]


def test_window_keeps_14_months_and_waits_for_settled_days():
    window = Window.on(date(2026, 11, 29), retention_months=14, settle_days=3)
    assert window.first_day == date(2025, 9, 29)
    assert window.last_settled == date(2026, 11, 26)
    months = window.periods("month")
    assert months[0] == date(2025, 10, 1) and months[-1] == date(2026, 10, 1)
    assert window.periods("week")[-1] == date(2026, 11, 16)  # the week of 23-29 Nov is open


def test_a_ui_range_snaps_to_whole_periods_with_a_previous_run():
    available = periods_within(date(2026, 1, 1), date(2026, 6, 30), "month")
    selection = snap(date(2026, 4, 15), date(2026, 5, 2), "month", available)
    assert selection.periods == (date(2026, 4, 1), date(2026, 5, 1))
    assert selection.previous == (date(2026, 2, 1), date(2026, 3, 1))
    assert selection.last_day == date(2026, 5, 31)


def test_snap_without_enough_history_has_no_previous_run():
    available = [date(2026, 1, 1), date(2026, 2, 1)]
    selection = snap(date(2026, 1, 1), date(2026, 2, 28), "month", available)
    assert selection.previous == ()
    assert snap(date(2027, 1, 1), date(2027, 1, 2), "month", available).periods == ()


def test_periods_become_dates_whatever_they_came_as():
    import pandas as pd

    given = pd.Series(
        [date(2026, 3, 2), pd.Timestamp("2026-02-28"), "2026-03-02", None],
        index=[7, 3, 5, 9],
        dtype=object,
    )
    dates = as_dates(given)
    assert dates.index.tolist() == [7, 3, 5, 9]
    assert dates.tolist()[:3] == [date(2026, 3, 2), date(2026, 2, 28), date(2026, 3, 2)]
    assert pd.isna(dates.iloc[3])


def test_calendar_arithmetic_on_day_ordinals_matches_the_dates():
    from datetime import timedelta

    import numpy as np
    import pandas as pd

    from reports.relations import days_in_month, ordinals

    days = [date(2023, 12, 25) + timedelta(n) for n in range(800)]  # a leap February inside
    numbers = np.array([d.toordinal() for d in days])
    assert ordinals(pd.Series(days, dtype=object)).tolist() == numbers.tolist()
    lengths = [
        (date(d.year + d.month // 12, d.month % 12 + 1, 1) - d.replace(day=1)).days for d in days
    ]
    assert days_in_month(numbers).tolist() == lengths
