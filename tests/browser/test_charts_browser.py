"""Charts read well in Chromium at 1280 px and on a 390 px phone: legend entries never overlap
each other, the axis or the chart's edge; axis labels never overlap each other and stay inside
the chart; axis numbers carry thousands separators. Measured on the bounding boxes of Plotly's
own SVG."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, settle

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
# Pages whose charts carry legends or long names: the Pages chart lists long paths.
PAGES = ("pages?grain=week", "overview", "technology", "sources?grain=month")
SLACK = 1.0  # pixels: SVG text boxes are fractional


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> Iterator[str]:
    home = published_home(request.config, tmp_path_factory.mktemp("charts-browser"))
    with dashboard(home, KANON_DEVELOPER_MODE="1") as url:
        yield url


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] + a["width"] > b["x"] + SLACK
        and b["x"] + b["width"] > a["x"] + SLACK
        and a["y"] + a["height"] > b["y"] + SLACK
        and b["y"] + b["height"] > a["y"] + SLACK
    )


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - SLACK
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + SLACK
    )


def boxes(locator) -> list[dict]:
    return [b for b in (locator.nth(i).bounding_box() for i in range(locator.count())) if b]


def visible_charts(page) -> list:
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    return [charts.nth(i) for i in range(charts.count()) if charts.nth(i).is_visible()]


def check_chart(chart, where: str) -> int:
    """Every rule on one drawn chart; returns how many legend entries it has."""
    svg = chart.locator(".main-svg").first.bounding_box()
    entries = boxes(chart.locator(".legend .traces"))
    for i, a in enumerate(entries):
        assert inside(a, svg), f"{where}: legend entry {i} runs past the chart"
        for j, b in enumerate(entries[i + 1 :], start=i + 1):
            assert not overlaps(a, b), f"{where}: legend entries {i} and {j} overlap"
    ticks = boxes(chart.locator(".xaxislayer-above .xtick text"))
    for tick in ticks:
        assert not any(overlaps(tick, e) for e in entries), f"{where}: legend covers the axis"
    for axis in ("x", "y"):
        labels = boxes(chart.locator(f".{axis}axislayer-above .{axis}tick text"))
        for i, a in enumerate(labels):
            for j, b in enumerate(labels[i + 1 :], start=i + 1):
                assert not overlaps(a, b), f"{where}: {axis} axis labels {i} and {j} overlap"
    for tick in boxes(chart.locator(".yaxislayer-above .ytick text")):
        assert inside(tick, svg), f"{where}: an axis label runs past the chart"
    for text in chart.locator(".ytick text, .xtick text").all_text_contents():
        number = text.removesuffix(" s").removesuffix(" %").split(".")[0]
        if re.fullmatch(r"[\d,]{4,}", number):  # thousands (dates and names hold letters)
            assert re.fullmatch(r"\d{1,3}(,\d{3})+", number), f"{where}: {text!r}"
    return len(entries)


@pytest.mark.parametrize("width", WIDTHS)
def test_legends_and_labels_never_overlap(server, browser, width):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors = console_errors(page, server)
    legend_entries = 0
    for path in PAGES:
        page.goto(f"{server}/{path}")
        settle(page)
        expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=20_000)
        page.wait_for_timeout(500)  # Plotly lays out the legend after the first paint
        charts = visible_charts(page)
        assert charts, path
        for n, chart in enumerate(charts):
            chart.scroll_into_view_if_needed()
            legend_entries += check_chart(chart, f"{path} chart {n} at {width} px")
    assert legend_entries >= 8  # the Pages chart's eight long paths were among them
    assert errors == []
    context.close()
