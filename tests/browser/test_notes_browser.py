"""A note added on the dashboard in Chromium: listed on the Overview as literal text, and marked
on the Overview's trend chart, its hover showing the text literally (never as HTML)."""

from __future__ import annotations

import pytest

from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, settle

pytestmark = pytest.mark.browser

HOSTILE = "<b>x</b> *y* [l](javascript:z)"
TREND = ".st-key-trend-overview .js-plotly-plot"


def test_a_note_added_on_the_overview_shows_on_its_trend_chart(request, tmp_path, browser):
    home = published_home(request.config, tmp_path / "home")
    with dashboard(home, KANON_DEVELOPER_MODE="1") as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = console_errors(page, url)
        page.goto(f"{url}/overview")
        settle(page)
        form = page.locator(".stForm")
        form.get_by_label("Note", exact=True).fill(HOSTILE)
        form.get_by_role("button", name="Add note").click()
        settle(page)

        assert page.get_by_text("Note 1 added.").is_visible()
        listed = page.locator('[data-testid="stText"]', has_text="javascript")
        assert listed.inner_text() == HOSTILE  # the text itself: no bold, no link
        assert page.locator('a[href^="javascript"]').count() == 0

        chart = page.locator(TREND)
        traces = chart.evaluate("plot => plot.data.map(t => t.name)")
        assert traces[-1] == "Notes"
        assert chart.locator(".shapelayer path").count() == 1  # the note's day, a dotted line
        chart.evaluate("plot => plot.scrollIntoView({block: 'center'})")
        marker = chart.locator(".scatterlayer .trace").last.locator("path.point")
        box = marker.bounding_box()
        assert box is not None
        # Plotly hovers from its drag layer over the plot, not from the marker's own element.
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        hover = chart.locator(".hoverlayer")
        hover.wait_for(state="attached", timeout=10_000)
        page.wait_for_function(
            "el => el.textContent.includes('javascript')", arg=hover.element_handle()
        )
        assert "<b>x</b> *y* [l](javascript:z)" in hover.text_content()
        assert errors == []
        page.close()
