"""Technology: browsers, devices and operating systems."""

from __future__ import annotations

from reports import views
from tests.app import support

BREAKDOWNS = ("browsers", "devices", "operating_systems")


def test_technology_breakdowns_match_the_views_and_hide_withheld_cells(dev):
    at = support.open_page("technology")
    assert at.title[0].value == "Technology"
    assert [t.label for t in at.tabs] == ["Browsers", "Devices", "Operating systems"]
    release = support.release_of(dev)
    raw = support.raw_cells(dev)
    for grain in ("day", "month"):
        at.radio(key="grain").set_value(grain).run()
        selection = support.default_selection(release, grain)
        for name in BREAKDOWNS:
            support.assert_breakdown(at, support.Shown.of(release, raw, name, selection))


def test_one_visitor_browsers_are_never_named(dev):
    at = support.open_page("technology")
    for grain in ("day", "week", "month"):
        at.radio(key="grain").set_value(grain).run()
        table = support.table_for(at, "browsers")
        assert not set(table["Browser"]) & {"Lynx", "Pale Moon", "SeaMonkey"}
        assert table["Browser"].iloc[-1] == views.OTHER
        assert support.display_values(at, "browsers")["users"].iloc[-1] == "—"


def test_downloads_follow_the_role(as_identity):
    as_identity(support.ANALYST_ID)
    assert not support.open_page("technology").get("download_button")
    as_identity(support.MANAGER_ID)
    assert len(support.open_page("technology").get("download_button")) == 3


def test_no_number_without_a_role(locked):
    at = support.open_page_alone("technology")
    assert not at.dataframe and not support.figures(at)
