"""Downloads carry the same numbers as the page: each page is rendered, the figures it shows are
read from its tables and charts, and the CSV (both dialects) and the workbook the manager's
menu builds for that page are parsed back and compared with every one of them."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kanon.ui import downloads, format
from reports import charts, export, views
from reports.status import PUBLISHED
from tests.app import support

PAGES = {
    "technology": ("browsers", "devices", "operating_systems"),
    "sources": ("sources", "channels"),
    "countries": ("countries",),
    "top_pages": ("pages",),
}


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every builder a page hands to a download button: (kind, report, selection, build)."""
    calls: list[tuple] = []
    real_csv, real_book = downloads.csv_builder, downloads.workbook_builder

    def csv_spy(settings, identity, release, report, selection, dialect="plain", handle=None):
        build = real_csv(settings, identity, release, report, selection, dialect, handle=handle)
        calls.append((dialect, report, selection, build))
        return build

    def book_spy(settings, identity, release, selection, handle=None):
        build = real_book(settings, identity, release, selection, handle=handle)
        calls.append((downloads.XLSX, downloads.WORKBOOK_REPORT, selection, build))
        return build

    monkeypatch.setattr(downloads, "csv_builder", csv_spy)
    monkeypatch.setattr(downloads, "workbook_builder", book_spy)
    return calls


def published_figure(rows: pd.DataFrame, column: str) -> float:
    values = [v for v in rows[column] if isinstance(v, float)]
    return float(sum(values)) if values else np.nan


def assert_csv_matches_the_page(at, name: str, table: pd.DataFrame) -> None:
    """The page's table (sums over the range) and trend chart (per period) against the CSV."""
    shown = support.table_for(at, name)
    texts = support.display_values(at, name)
    # The page lists the same categories (clipped), ordered by the range's figures.
    clipped = table["category"].map(format.clip)
    assert sorted(shown.iloc[:, 0]) == sorted(clipped.unique())
    for i, category in enumerate(shown.iloc[:, 0]):
        rows = table[clipped == category]
        assert rows["category"].nunique() == 1
        for column, figure in (("visits", "sessions"), ("page_views", "views")):
            expected = published_figure(rows, column)
            support.assert_close(support.figure_column(shown, figure)[i : i + 1], [expected])
        visitors = [v for v in rows["visitors"] if isinstance(v, float)]
        if category == format.clip(views.OTHER):
            assert set(rows["visitors"]) <= {export.NOT_A_SUM, "withheld"}
            assert texts["users"].iloc[i] == "—"
        elif visitors:
            users = support.figure_column(shown, "users")[i]
            assert users == round(sum(visitors) / len(visitors))
        else:
            assert texts["users"].iloc[i] == "withheld"
    metric = "page_views" if name == "pages" else "visits"
    for trace in support.figure_keyed(at, f"trend-{name}")["data"]:
        rows = table[table["category"].map(charts.display_label) == trace["meta"]]
        rows = rows.sort_values("period_start")
        expected = [v if isinstance(v, float) else np.nan for v in rows[metric]]
        assert [d.isoformat() for d in support.days(trace["x"])] == rows["period_start"].tolist()
        support.assert_close(support.numbers(trace["y"]), expected)


def assert_workbook_matches_the_csv(payload: bytes, name: str, table: pd.DataFrame) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(payload))[views.BREAKDOWNS[name].title]
    rows = list(sheet.iter_rows(values_only=True))
    columns = rows[0]
    assert list(columns) == list(table.columns)
    assert len(rows) - 1 == len(table)
    for values, expected in zip(rows[1:], table.to_dict("records"), strict=True):
        row = dict(zip(columns, values, strict=True))
        assert row["period_start"].date().isoformat() == expected["period_start"]
        assert row["category"] == expected["category"]
        for column in export.FIGURE_COLUMNS.values():
            value = expected[column]
            if isinstance(value, float):
                assert row[column] == pytest.approx(value)
            else:
                assert row[column] == (value if isinstance(value, str) else None)


@pytest.mark.parametrize("page", list(PAGES))
def test_every_download_has_the_numbers_the_page_shows(as_identity, built, home, page):
    as_identity(support.MANAGER_ID)
    at = support.open_page(page)
    release = support.release_of(home)
    grain = "week" if page == "top_pages" else "day"
    selection = support.default_selection(release, grain)
    assert format.showing(selection) in at.markdown[0].value
    made = {(kind, report): (chosen, build) for kind, report, chosen, build in built}
    for name in PAGES[page]:
        chosen, build = made[("plain", name)]
        assert chosen == selection  # exactly the page's selection
        header, table = export.read_summary(build())
        assert header["first_day"] == str(selection.first_day)
        assert header["last_day"] == str(selection.last_day)
        assert_csv_matches_the_page(at, name, table)

        at.selectbox(key=f"download-format-{name}").set_value("excel-nb").run()
        chosen, build = next(
            (c, b) for k, r, c, b in reversed(built) if (k, r) == ("excel-nb", name)
        )
        assert chosen == selection
        _, norwegian = export.read_summary(build())
        pd.testing.assert_frame_equal(norwegian, table)

        at.selectbox(key=f"download-format-{name}").set_value(downloads.XLSX).run()
        labels = [b.proto.label for b in at.get("download_button")]
        assert "Download workbook" in labels
        chosen, build = next((c, b) for k, _, c, b in reversed(built) if k == downloads.XLSX)
        assert chosen == selection
        assert_workbook_matches_the_csv(build(), name, table)
        at.selectbox(key=f"download-format-{name}").set_value("plain").run()


def test_the_overview_download_follows_the_site_trend(as_identity, built, home):
    as_identity(support.MANAGER_ID)
    at = support.open_page("overview")
    release = support.release_of(home)
    selection = support.default_selection(release)
    (chosen, build), *_ = [(c, b) for k, r, c, b in built if (k, r) == ("plain", "overview")]
    assert chosen == selection
    _, table = export.read_summary(build())
    trend = support.figure_titled(at, f"{views.LABELS['users']} per day")["data"][0]
    written = [v if isinstance(v, float) else np.nan for v in table["visitors"]]
    support.assert_close(support.numbers(trend["y"]), written)
    cards = {m.label: m.value for m in at.metric}
    site = views.site_trend(release, selection)
    published = site[site["status"] == PUBLISHED]
    visits = sum(v for v in table["visits"] if isinstance(v, float))
    assert visits == published["sessions"].sum()
    assert cards["Visits"] == format.figure(visits, "sessions")


def test_an_analyst_gets_no_menu_and_no_file_is_built(as_identity, built):
    as_identity(support.ANALYST_ID)
    for page in ("overview", *PAGES):
        at = support.open_page(page)
        assert not at.get("download_button")
        assert not [s for s in at.selectbox if str(s.key).startswith("download-format")]
    assert built == []
