"""Chromium in Norwegian Bokmål and in English: the Overview in the browser's language, with its
numbers and dates in that locale, checked against the release's own figures, and the page's
`<html lang>` saying which language it is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kanon import i18n
from kanon.ui import format, pickers
from reports import views
from tests.app.support import published_home, release_of
from tests.browser.support import dashboard, settle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def home(request, tmp_path_factory) -> Path:
    return published_home(request.config, tmp_path_factory.mktemp("language-browser"))


@pytest.fixture(scope="module")
def server(home) -> Iterator[str]:
    """Developer mode (no account, so the browser's language decides), English by default."""
    with dashboard(home, KANON_DEVELOPER_MODE="1", KANON_DEFAULT_LANGUAGE="en") as url:
        yield url


def expected(home: Path, language: str) -> tuple[str, str]:
    """The Overview's visits card and range line for the default selection (the last 28 days
    at day grain), written in `language` by the dashboard's own formatting."""
    release = release_of(home)
    last = pickers.last_settled(release)
    selection = views.select(release, "day", last - timedelta(days=27), last)
    visits = next(card for card in views.kpis(release, selection) if card.name == "sessions")
    i18n.use(language)
    try:
        return format.figure(visits.value, "sessions"), format.showing(selection)
    finally:
        i18n.use(i18n.SOURCE_LANGUAGE)


def card(page, label: str) -> str:
    named = page.get_by_text(label, exact=True)  # "Besøk", not "Besøkende per dag"
    metric = page.locator('[data-testid="stMetric"]').filter(has=named).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


@pytest.mark.parametrize(
    ("locale", "language", "title", "visits", "trend"),
    [
        ("nb-NO", "nb", "Oversikt", "Besøk", "Besøkende per dag"),
        ("en-US", "en", "Overview", "Visits", "Visitors per day"),
    ],
)
def test_the_overview_speaks_the_browsers_language(
    server, browser, home, locale, language, title, visits, trend
):
    from playwright.sync_api import expect

    figure, showing = expected(home, language)
    if language == "nb":
        assert "\u00a0" in figure  # a count in the thousands: grouped with a no-break space
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(server)
        settle(page)
        expect(page.locator("h1").first).to_have_text(title)
        expect(page.locator("html")).to_have_attribute("lang", language)  # a screen reader's voice
        assert card(page, visits) == figure
        expect(page.get_by_text(showing, exact=True)).to_be_visible()  # a date in that locale
        chart = page.locator('[data-testid="stPlotlyChart"]').first
        expect(chart.locator(".gtitle")).to_have_text(trend)
    finally:
        context.close()
