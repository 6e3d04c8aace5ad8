"""Overview: KPI cards against the previous period, the site trend, roles and the access log."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from kanon.access import log
from kanon.access.roles import DEVELOPER_EMAIL
from kanon.ui import downloads, format, messages, pickers
from reports import charts, export, views
from tests.app import support


def test_overview_shows_kpis_with_changes_and_the_snapped_range(dev):
    at = support.open_page()
    release = support.release_of(dev)
    selection = support.default_selection(release)
    cards = views.kpis(release, selection)

    assert messages.DEVELOPER_BANNER in [w.value for w in at.warning]
    assert at.title[0].value == "Overview"
    assert f"**{format.showing(selection)}**" in [m.value for m in at.markdown]
    assert "28 whole days" in format.showing(selection)
    assert format.compared_with(selection) in [c.value for c in at.caption]

    assert [m.label for m in at.metric] == [format.card_label(c.label) for c in cards]
    assert [m.value for m in at.metric] == [format.figure(c.value, c.name) for c in cards]
    assert [m.delta for m in at.metric] == [format.change(c.change) or "" for c in cards]


def test_bounce_rate_falling_is_good_news(dev):
    at = support.open_page()
    by_label = {m.label: m for m in at.metric}
    visits = by_label["Visits"]
    bounce = by_label["Bounce rate"]
    same = MetricProto.GREEN if visits.proto.direction == MetricProto.UP else MetricProto.RED
    assert visits.proto.color == same
    expected = MetricProto.RED if bounce.proto.direction == MetricProto.UP else MetricProto.GREEN
    assert bounce.proto.color == expected


def test_trend_chart_carries_the_site_figures_and_the_previous_period(dev):
    at = support.open_page()
    release = support.release_of(dev)
    trend = views.site_trend(release, support.default_selection(release))

    for metric in ("users", "bounce_rate"):
        at.segmented_control(key="overview_metric").set_value(metric).run()
        figure = support.figure_titled(at, f"{views.LABELS[metric]} per day")
        current, previous = figure["data"]
        assert support.days(current["x"]) == trend["period"].tolist()
        support.assert_close(support.numbers(current["y"]), trend[metric])
        support.assert_close(support.numbers(previous["y"]), trend[f"{metric}_previous"])
        assert previous["line"]["dash"] == "dash"


def test_withheld_site_days_are_gaps_not_numbers(strict):
    """With a high k whole days are withheld: compare the chart with the store's true figures."""
    at = support.open_page()
    release = support.release_of(strict)
    selection = support.default_selection(release)
    shown = support.Shown.of(release, support.raw_cells(strict), "overview", selection)
    withheld = shown.withheld_raw()
    assert len(withheld) > 0 and withheld["users"].notna().all()

    for metric in ("users", "sessions"):
        at.segmented_control(key="overview_metric").set_value(metric).run()
        (current, *_) = support.figure_titled(at, f"{views.LABELS[metric]} per day")["data"]
        values = dict(zip(support.days(current["x"]), support.numbers(current["y"]), strict=True))
        for cell in withheld.itertuples():
            assert np.isnan(values[cell.period]), cell.period  # raw: getattr(cell, metric)
        assert not np.isnan(list(values.values())).all()

    cards = views.kpis(release, selection)
    assert cards[0].withheld_periods == len(withheld)
    assert any(f"{len(withheld)} days in this range" in c.value for c in at.caption)
    assert [m.value for m in at.metric] == [format.figure(c.value, c.name) for c in cards]


def test_changing_the_grain_snaps_to_whole_weeks(dev):
    at = support.open_page()
    at.radio(key="grain").set_value("week").run()
    release = support.release_of(dev)
    selection = support.default_selection(release, "week")
    assert f"**{format.showing(selection)}**" in [m.value for m in at.markdown]
    assert "whole weeks" in format.showing(selection)
    assert support.figure_titled(at, "Visitors per week")
    assert at.metric[0].label == "Visitors per week (average)"


@pytest.mark.parametrize(
    ("preset", "grain", "days"),
    [("Last 7 days", "day", 7), ("Last 90 days", "week", 90), ("Last 12 months", "month", 365)],
)
def test_presets_snap_to_whole_periods(dev, preset, grain, days):
    at = support.open_page()
    at.selectbox(key="range_preset").set_value(preset)
    at.radio(key="grain").set_value(grain).run()
    assert not at.exception
    release = support.release_of(dev)
    last = pickers.last_settled(release)
    first = last - timedelta(days=days - 1)
    if preset == "Last 12 months":
        first = (pd.Timestamp(last) - pd.DateOffset(months=12) + pd.Timedelta(days=1)).date()
    selection = views.select(release, grain, first, last)
    assert at.markdown[0].value == f"**{format.showing(selection)}**"
    cards = views.kpis(release, selection)
    assert [m.value for m in at.metric] == [format.figure(c.value, c.name) for c in cards]


def test_custom_range_is_limited_to_the_release(dev):
    at = support.open_page()
    at.selectbox(key="range_preset").set_value("Custom").run()
    picker = at.date_input(key="range_custom")
    release = support.release_of(dev)
    assert picker.min == min(release.periods("day"))
    assert picker.max == pickers.last_settled(release)
    first = min(release.periods("day"))
    picker.set_value((first, first)).run()
    assert not at.exception
    assert "Showing" in at.markdown[0].value and "1 whole day" in at.markdown[0].value


def test_views_are_written_to_the_access_log(dev):
    support.open_page()
    entries = log.read(dev / "access.log")
    last = entries[-1]
    assert (last["who"], last["action"], last["report"], last["grain"]) == (
        DEVELOPER_EMAIL,
        "view",
        "overview",
        "day",
    )
    assert last["start"] and last["end"]


def test_without_developer_mode_or_sign_in_no_number_is_shown(locked):
    at = support.open_page()
    assert not at.metric and not at.dataframe and not support.figures(at)
    assert not at.get("download_button")
    assert [t.value for t in at.title] == ["Set up Kanon"]  # no account yet: the first admin
    assert "set-up code" in at.info[0].value


def test_an_email_alone_is_not_a_sign_in(locked):
    at = support.AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
    at.user = {"email": "someone@example.com"}  # AppTest's default kind of user: no is_logged_in
    at.run()
    assert not at.metric and not support.figures(at)


def test_analyst_sees_the_overview_without_a_download(as_identity):
    as_identity(support.ANALYST_ID)
    at = support.open_page()
    assert len(at.metric) == 7
    assert not at.get("download_button")
    assert messages.DEVELOPER_BANNER not in [w.value for w in at.warning]


def test_manager_downloads_exactly_what_the_page_shows(as_identity, home):
    as_identity(support.MANAGER_ID)
    at = support.open_page()
    (button,) = at.get("download_button")
    assert button.proto.label == "Download CSV"

    release = support.release_of(home)
    selection = support.default_selection(release)
    from kanon.ui.context import load_settings

    settings = load_settings()
    build = downloads.csv_builder(settings, support.MANAGER_ID, release, "overview", selection)
    payload = build()
    header, table = export.read_summary(payload)
    assert header["report"] == "overview (Overview)" and header["grain"] == selection.grain
    assert (header["first_day"], header["last_day"]) == (
        str(selection.first_day),
        str(selection.last_day),
    )
    trend = views.site_trend(release, selection)
    shown = trend["sessions"].where(trend["status"] == "published")
    written = [v if isinstance(v, float) else np.nan for v in table["visits"]]
    support.assert_close(np.array(written), shown)
    last = log.read(home / "access.log")[-1]
    assert (last["who"], last["action"], last["report"]) == (
        "max@example.com",
        "download",
        "overview",
    )


def test_the_download_itself_refuses_an_analyst(as_identity, home):
    release = support.release_of(home)
    selection = support.default_selection(release)
    from kanon.ui.context import load_settings

    build = downloads.csv_builder(
        load_settings(), support.ANALYST_ID, release, "overview", selection
    )
    try:
        build()
    except PermissionError:
        pass
    else:
        raise AssertionError("an analyst got a CSV")


def test_chart_labels_are_inert():
    assert (
        charts.display_label("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert len(charts.display_label("x" * 2000)) <= charts.MAX_LABEL
