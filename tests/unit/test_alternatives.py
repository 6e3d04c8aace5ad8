"""A site trend's text alternative names its lowest, highest and latest published figures and
counts the withheld periods, whose figures it never reads."""

from datetime import date

import pandas as pd

from kanon.ui.alternatives import trend_summary
from reports.status import PRIMARY, PUBLISHED

WITHHELD = PRIMARY


def trend(*rows: tuple[date, str, float | None]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["period", "status", "sessions"])


def test_lowest_highest_latest_and_withheld():
    text = trend_summary(
        trend(
            (date(2026, 11, 2), PUBLISHED, 1500.0),
            (date(2026, 11, 3), WITHHELD, 3.0),  # a withheld figure is never the lowest
            (date(2026, 11, 4), PUBLISHED, 1200.0),
            (date(2026, 11, 5), PUBLISHED, 1350.0),
        ),
        "sessions",
        "day",
    )
    assert text == (
        "Chart of Visits per day: lowest 1,200 (Wed 4 Nov 2026), highest 1,500 (Mon 2 Nov 2026), "
        "latest 1,350 (Thu 5 Nov 2026); 1 of 4 periods withheld."
    )


def test_every_period_withheld():
    text = trend_summary(trend((date(2026, 11, 2), WITHHELD, None)), "sessions", "week")
    assert text == "Chart of Visits per week: every period in this range is withheld."
