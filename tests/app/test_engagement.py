"""Engagement: duration, engagement and bounce rates, views per visit; engagement per page."""

from __future__ import annotations

import numpy as np

from reports import charts, views
from reports.status import PUBLISHED
from tests.app import support

TRENDS = ("avg_session_duration", "engagement_rate", "bounce_rate", "views_per_session")


def test_site_engagement_trends_match_the_views(dev):
    at = support.open_page("engagement")
    assert at.title[0].value == "Engagement"
    release = support.release_of(dev)
    trend = views.site_trend(release, support.default_selection(release))
    for metric in TRENDS:
        figure = support.figure_keyed(at, f"site-{metric}")
        assert support.title(figure) == f"{views.LABELS[metric]} per day"
        current, previous = figure["data"]
        support.assert_close(
            support.numbers(current["y"]), trend[metric].where(trend["status"] == PUBLISHED)
        )
        support.assert_close(support.numbers(previous["y"]), trend[f"{metric}_previous"])


def test_pages_need_a_week_or_month_grain(dev):
    at = support.open_page("engagement")
    assert any("Switch the grain to Week or Month" in i.value for i in at.info)
    assert not at.dataframe


def test_engagement_per_page_by_week(dev):
    at = support.open_page("engagement")
    at.radio(key="grain").set_value("week").run()
    release = support.release_of(dev)
    selection = support.default_selection(release, "week")
    view = views.breakdown_table(release, "pages", selection)

    table = support.table_for(at, "pages")
    assert list(table.columns[:3]) == ["Page", "Title", "Status"]
    support.assert_close(
        support.figure_column(table, "engagement_per_session"), view["engagement_per_session"]
    )
    withheld = table[table["Status"].str.startswith("withheld")]
    assert len(withheld) > 0 and withheld["engagement_per_session"].isna().all()

    bar = support.figure_keyed(at, "bar-pages-engagement")["data"][0]
    listed = view[~view["other"]]  # the Other row is no page
    leaders = listed[listed["views"].notna()].nlargest(15, "views")
    expected = leaders.nlargest(15, "engagement_per_session").iloc[::-1]
    assert support.texts(bar["meta"]) == [charts.display_label(c) for c in expected["category"]]
    assert np.allclose(support.numbers(bar["x"]), expected["engagement_per_session"])


def test_analyst_sees_it_without_downloads(as_identity):
    as_identity(support.ANALYST_ID)
    at = support.open_page("engagement")
    assert len(support.figures(at)) == 4 and not at.get("download_button")
