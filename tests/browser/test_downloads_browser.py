"""Downloads in Chromium: a manager saves the CSV (both dialects) and the workbook from a page,
and their figures are the ones that page shows; an analyst is offered no download anywhere."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import openpyxl
import pandas as pd
import pytest

from kanon.access.accounts import Accounts
from kanon.access.roles import ANALYST, MANAGER
from kanon.ui import format
from reports import export
from reports.status import SHOWN_WITHHELD
from tests.app.support import published_home
from tests.browser.support import console_errors, dashboard, settle, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
DASHBOARD = ("Overview", "Pages", "Sources", "Technology", "Countries", "Engagement")


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> Iterator[str]:
    home = published_home(request.config, tmp_path_factory.mktemp("downloads-browser"))
    accounts = Accounts(home / "accounts.sqlite")
    accounts.add_local("ana", [ANALYST], PASSWORD)
    accounts.add_local("max", [MANAGER], PASSWORD)
    with dashboard(home) as url:
        yield url


def choose_format(page, menu_text: str) -> None:
    menu = page.locator('[data-testid="stSelectbox"]').filter(has_text="Download as").first
    menu.click()
    page.get_by_role("option", name=menu_text, exact=True).click()
    settle(page)


def download(page, button: str) -> bytes:
    with page.expect_download(timeout=30_000) as caught:
        page.get_by_role("button", name=button).first.click()
    return open(caught.value.path(), "rb").read()


def card(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def number(text: str) -> float:
    return float(text.replace(",", ""))


def published_sum(values: pd.Series) -> float:
    return float(sum(v for v in values if isinstance(v, float | int) and not pd.isna(v)))


def assert_range_is_the_pages(page, header: dict[str, str]) -> None:
    first, last = date.fromisoformat(header["first_day"]), date.fromisoformat(header["last_day"])
    shown = page.get_by_text("Showing ").first.inner_text()
    assert format.span(first, last) in shown, (shown, first, last)


def workbook_rows(payload: bytes, sheet: str) -> pd.DataFrame:
    rows = list(openpyxl.load_workbook(io.BytesIO(payload))[sheet].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def first_table_row(page) -> list[str]:
    """The first row of the page's first table, as the grid mirrors it for screen readers
    (numbers as plain digits: the separators are painted on the canvas only)."""
    from playwright.sync_api import expect

    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    row = grid.locator('tr:has(td[role="gridcell"])').first
    expect(row).to_be_attached(timeout=15_000)
    return [cell.strip() for cell in row.locator('td[role="gridcell"]').all_inner_texts()]


def test_a_manager_downloads_the_figures_the_overview_shows(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors = console_errors(page, server)
    sign_in(page, f"{server}/overview", "max", PASSWORD)
    visits, views = card(page, "Visits"), card(page, "Page views")

    header, table = export.read_summary(download(page, "Download CSV"))
    assert header["report"].startswith("overview")
    assert_range_is_the_pages(page, header)
    assert format.figure(published_sum(table["visits"]), "sessions") == visits
    assert format.figure(published_sum(table["page_views"]), "views") == views

    choose_format(page, "CSV for Excel, Norwegian (; and ,)")
    norwegian_header, norwegian = export.read_summary(download(page, "Download CSV"))
    assert norwegian_header["first_day"] == header["first_day"]
    pd.testing.assert_frame_equal(norwegian, table)

    choose_format(page, "Workbook of every report (XLSX)")
    book = workbook_rows(download(page, "Download workbook"), "Overview")
    assert format.figure(published_sum(book["visits"]), "sessions") == visits
    assert format.figure(published_sum(book["page_views"]), "views") == views
    assert errors == []
    context.close()


def test_a_manager_downloads_the_figures_a_breakdown_table_shows(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors = console_errors(page, server)
    sign_in(page, f"{server}/countries", "max", PASSWORD)
    country, _status, _visitors, visits, views, *_ = first_table_row(page)

    header, table = export.read_summary(download(page, "Download CSV"))
    assert header["report"].startswith("countries")
    assert_range_is_the_pages(page, header)
    rows = table[table["category"].map(format.clip) == country]
    assert len(rows) and (rows["status"] != SHOWN_WITHHELD).any()
    assert published_sum(rows["visits"]) == number(visits) > 0
    assert published_sum(rows["page_views"]) == number(views) > 0

    choose_format(page, "Workbook of every report (XLSX)")
    book = workbook_rows(download(page, "Download workbook"), "Countries")
    rows = book[book["category"] == rows["category"].iloc[0]]
    assert published_sum(rows["visits"]) == number(visits)
    assert errors == []
    context.close()


def test_an_analyst_is_offered_no_download(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors = console_errors(page, server)
    sign_in(page, f"{server}/overview", "ana", PASSWORD)
    for name in DASHBOARD:  # through the navigation: a reload asks to sign in again
        page.get_by_role("link", name=name, exact=True).click()
        settle(page)
        page.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=20_000)
        assert page.locator('[data-testid="stDownloadButton"]').count() == 0, name
        assert page.get_by_text("Download as").count() == 0, name
    assert errors == []
    context.close()
