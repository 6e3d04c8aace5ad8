"""Countries: one breakdown, GA4's own thresholding flag shown beside it."""

from __future__ import annotations

from kanon.ui import format
from reports import views
from tests.app import support


def test_countries_match_the_views_and_hide_withheld_cells(dev):
    at = support.open_page("countries")
    assert at.title[0].value == "Countries"
    release = support.release_of(dev)
    raw = support.raw_cells(dev)
    for grain in ("day", "week"):
        at.radio(key="grain").set_value(grain).run()
        selection = support.default_selection(release, grain)
        shown = support.Shown.of(release, raw, "countries", selection)
        support.assert_breakdown(at, shown)


def test_withheld_share_and_ga4_flags_are_stated(dev):
    at = support.open_page("countries")
    release = support.release_of(dev)
    selection = support.default_selection(release)
    summary = views.withheld(release, "countries", selection)
    flags = views.ga4_flags(release, "countries", selection)
    (line,) = [c.value for c in at.caption if c.value.startswith("Withheld:")]
    cells = format.number(summary.withheld_cells), format.number(summary.cells)
    assert f"{cells[0]} of {cells[1]} cells" in line
    assert f"{format.percent(summary.withheld_share, 1)} of visits" in line  # "12.3\u00a0%"
    assert ("GA4 applied its own thresholds" in line) == flags["subject_to_thresholding"]


def test_small_countries_are_withheld_not_shown(dev):
    at = support.open_page("countries")
    table = support.table_for(at, "countries")
    tiny = table[table["Country"].isin(["Nepal", "Greenland", "Svalbard & Jan Mayen"])]
    assert (tiny["Status"] != "").all()
    assert tiny[["users", "sessions"]].isna().all().all()


def test_manager_download_analyst_none(as_identity):
    as_identity(support.MANAGER_ID)
    assert len(support.open_page("countries").get("download_button")) == 1
    as_identity(support.ANALYST_ID)
    assert not support.open_page("countries").get("download_button")
