import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest

from reports import export, protect, views
from reports.cells import SITE_TOTAL
from reports.grid import Window
from tests.unit.test_protect import cell, raw_frame

TODAY = date(2026, 11, 29)
WINDOW = Window.on(TODAY, 14, 3)
DAYS = [date(2026, 11, 2) + timedelta(days=i) for i in range(14)]
HOSTILE = ['=HYPERLINK("http://x","y")', "<script>alert(1)</script>", "+cmd", "@SUM(1)"]


@pytest.fixture(scope="module")
def release():
    rows = []
    for i, day in enumerate(DAYS):
        rows.append(cell("overview", "day", day, SITE_TOTAL, 100 + i, sessions=200 + 2 * i))
        # Browsers add up to the site total; Firefox is the natural complement for Lynx.
        rows.append(cell("browsers", "day", day, "Chrome", 80, sessions=150))
        rows.append(cell("browsers", "day", day, "Firefox", 30, sessions=47 + 2 * i))
        rows.append(cell("browsers", "day", day, "Lynx", 2, sessions=3))
        for name in HOSTILE:
            rows.append(cell("sources", "day", day, f"{name} / referral", 12, sessions=12))
    return protect.protect(raw_frame(rows), k=10, window=WINDOW)


def test_series_folds_categories_withheld_everywhere_into_one_other_row(release):
    selection = views.select(release, "day", DAYS[0], DAYS[-1])
    cells = views.series(release, "browsers", selection)
    # Lynx is small every day, and Firefox protects it every day: neither is ever named.
    assert set(cells["category"]) == {"Chrome", views.OTHER}
    other = cells[cells["other"]]
    assert len(other) == 14 and other["users"].isna().all()
    assert other["sessions"].tolist() == [200 + 2 * i - 150 for i in range(14)]


def test_kpis_sum_additive_figures_and_average_users(release):
    selection = views.select(release, "day", DAYS[7], DAYS[13])
    cards = {card.name: card for card in views.kpis(release, selection)}
    assert cards["sessions"].value == sum(200 + 2 * i for i in range(7, 14))
    assert cards["sessions"].previous == sum(200 + 2 * i for i in range(7))
    assert cards["users"].value == round(sum(100 + i for i in range(7, 14)) / 7)
    assert cards["views_per_session"].value == 3.0
    assert cards["engagement_rate"].value == 50.0 and cards["bounce_rate"].value == 50.0
    assert cards["sessions"].change == pytest.approx(
        round((cards["sessions"].value / cards["sessions"].previous - 1) * 100, 1)
    )


def test_breakdown_table_lists_the_other_row_last(release):
    selection = views.select(release, "day", DAYS[0], DAYS[-1])
    table = views.breakdown_table(release, "browsers", selection)
    assert table["category"].tolist() == ["Chrome", views.OTHER]
    other = table.iloc[-1]
    assert other["status"] == "published" and pd.isna(other["users"])
    assert other["sessions"] == sum(200 + 2 * i for i in range(14)) - 14 * 150
    chrome = table.iloc[0]
    assert chrome["sessions"] == 14 * 150 and chrome["users"] == 80


def test_withheld_share_comes_from_published_figures(release):
    selection = views.select(release, "day", DAYS[0], DAYS[-1])
    share = views.withheld(release, "browsers", selection)
    site = sum(200 + 2 * i for i in range(14))
    assert share.withheld_share == round((site - 14 * 150) / site * 100, 1)
    assert share.withheld_cells == 28  # Lynx, and Firefox which protects it


def test_csv_names_no_rare_category_and_marks_the_other_row(release):
    frame = export.summary_for_range(release, "browsers", "day", DAYS[0], DAYS[-1])
    rows = list(csv.DictReader(io.StringIO(export.to_csv(frame).decode("utf-8-sig"))))
    assert {r["category"] for r in rows} == {"Chrome", views.OTHER}
    other = [r for r in rows if r["category"] == views.OTHER]
    assert other and all(r["visitors"] == "—" for r in other)
    assert other[0]["visits"] == "50" and other[0]["status"] == export.OTHER_STATUS
    chrome = [r for r in rows if r["category"] == "Chrome"]
    assert chrome[0]["visits"] == "150" and chrome[0]["visitors"] == "80"


def test_csv_defuses_hostile_strings(release):
    frame = export.summary_for_range(release, "sources", "day", DAYS[0], DAYS[0])
    text = export.to_csv(frame).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    categories = {r["category"] for r in rows}
    assert '\'=HYPERLINK("http://x","y") / referral' in categories
    assert "'@SUM(1) / referral" in categories
    assert "<script>alert(1)</script> / referral" in categories  # inert in a CSV
    assert not any(c.startswith(export.FORMULA_STARTS) for c in categories)


def test_csv_numbers_match_the_view(release):
    selection = views.select(release, "day", DAYS[0], DAYS[-1])
    cells = views.series(release, "overview", selection)
    frame = export.summary(release, "overview", selection)
    assert [float(v) for v in frame["visits"]] == cells["sessions"].tolist()
    assert [float(v) for v in frame["visit_duration_seconds"]] == cells[
        "avg_session_duration"
    ].tolist()


def test_export_refuses_grains_a_report_does_not_publish(release):
    with pytest.raises(export.ExportError, match="published by week, month only"):
        export.summary_for_range(release, "pages", "day", DAYS[0], DAYS[-1])
