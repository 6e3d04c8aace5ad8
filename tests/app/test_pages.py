"""Pages: top pages with their titles, published by week and month only."""

from __future__ import annotations

from kanon.ui import format
from reports import views
from tests.app import support


def test_pages_are_shown_by_week_with_titles(dev):
    at = support.open_page("top_pages")
    assert at.title[0].value == "Pages"
    grain = at.radio(key="grain_week_month")
    assert grain.options == ["Week", "Month"] and grain.value == "week"

    release = support.release_of(dev)
    selection = support.default_selection(release, "week")
    assert f"**{format.showing(selection)}**" in [m.value for m in at.markdown]
    table = support.table_for(at, "pages")
    view = views.breakdown_table(release, "pages", selection)
    assert table["Title"].tolist() == [format.clip(t) for t in view["label"]]
    assert "/" in table["Page"].tolist()


def test_pages_charts_and_table_match_the_views_and_hide_withheld_cells(dev):
    at = support.open_page("top_pages")
    release = support.release_of(dev)
    shown = support.Shown.of(
        release, support.raw_cells(dev), "pages", support.default_selection(release, "week")
    )
    support.assert_breakdown(at, shown)
    assert shown.withheld_raw()["views"].notna().any()  # the store does know those figures


def test_month_grain_and_back(dev):
    at = support.open_page("top_pages")
    at.radio(key="grain_week_month").set_value("month").run()
    release = support.release_of(dev)
    selection = support.default_selection(release, "month")
    shown = support.Shown.of(release, support.raw_cells(dev), "pages", selection)
    support.assert_breakdown(at, shown)


def test_a_day_grain_chosen_elsewhere_becomes_week_here(dev):
    at = support.open_page()
    assert at.radio(key="grain").value == "day"
    at.switch_page("kanon/ui/pages/top_pages.py").run()
    assert at.radio(key="grain_week_month").value == "week"
    assert not at.exception


def test_analyst_has_no_download_manager_has_one(as_identity):
    as_identity(support.ANALYST_ID)
    at = support.open_page("top_pages")
    assert support.table_for(at, "pages") is not None
    assert not at.get("download_button")
    as_identity(support.MANAGER_ID)
    at = support.open_page("top_pages")
    assert len(at.get("download_button")) == 1


def test_no_number_without_a_role(locked):
    at = support.open_page_alone("top_pages")
    assert not at.dataframe and not support.figures(at)
    assert any("developer mode" in i.value for i in at.info)
