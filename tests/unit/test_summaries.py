"""Summaries: the Other (not listed) row, provenance, both CSV dialects, formula safety and the
workbook, on a small release built in the test (the sample data's cases are in tests/cli)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy.optimize import linprog

from connectors.catalog import BREAKDOWNS, Breakdown
from reports import attack, audit, export, protect, relations, views, workbook
from reports.cells import SITE_TOTAL
from reports.grid import Window
from reports.status import PUBLISHED, WITHHELD
from tests.unit.test_protect import cell, raw_frame

TODAY = date(2026, 11, 29)
WINDOW = Window.on(TODAY, 14, 3)
DAYS = [date(2026, 11, 2) + timedelta(days=i) for i in range(14)]
# Text a spreadsheet would run, full-width forms included; and one that is only markup.
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+cmd",
    "-2+3",
    "@SUM(1)",
    "\tcmd",
    "\rcmd",
    "\uff1dcmd()",
    "\uff0bcmd",
    "\uff0dcmd",
    "\uff20cmd",
]
FACTS = export.Facts(source="sample", property_id=None, time_zone="Europe/Oslo")
GENERATED = datetime(2026, 11, 29, 7, 0)


@pytest.fixture(scope="module")
def release():
    rows = []
    for i, day in enumerate(DAYS):
        # Browsers and sources each add up to the site total, as GA4's rows do.
        rows.append(cell("overview", "day", day, SITE_TOTAL, 200 + i, sessions=418 + 2 * i))
        # Lynx is under k every day (rare); Opera only in the second week (keeps its name).
        rows.append(cell("browsers", "day", day, "Chrome", 80, sessions=150))
        rows.append(cell("browsers", "day", day, "Firefox", 60, sessions=120 + 2 * i))
        rows.append(cell("browsers", "day", day, "Opera", 3 if i < 7 else 25, sessions=40))
        rows.append(cell("browsers", "day", day, "Lynx", 2, sessions=12))
        rows.append(cell("browsers", "day", day, "Pale Moon", 1, sessions=10))
        rows.append(cell("browsers", "day", day, "Safari", 50, sessions=86))
        rows.append(cell("sources", "day", day, "(direct) / (none)", 150, sessions=298 + 2 * i))
        for name in HOSTILE:
            rows.append(cell("sources", "day", day, f"{name} / referral", 12, sessions=12))
    for week in (DAYS[0], DAYS[7]):
        rows.append(cell("overview", "week", week, SITE_TOTAL, 900, sessions=2477))
        rows.append(cell("pages", "week", week, "/", 500, sessions=1500))
        rows.append(cell("pages", "week", week, "/æøå", 300, sessions=900))
        rows.append(cell("pages", "week", week, "/hostile", 40, sessions=60))
        rows.append(cell("pages", "week", week, "/tiny", 3, sessions=5))
        rows.append(cell("pages", "week", week, "/small", 12, sessions=12))  # its complement
    labels = pd.DataFrame(
        {
            "breakdown": ["pages"] * 3,
            "category": ["/", "/æøå", "/hostile"],
            "label": ["Forside – Fjordlys", "Blåbær på fjellet", "=1+1 ＠cmd"],
        }
    )
    return protect.protect(raw_frame(rows), k=10, window=WINDOW, labels=labels)


def day_range(release):
    return views.select(release, "day", DAYS[0], DAYS[-1])


# --- rare categories and the Other row ------------------------------------------------------


def test_categories_withheld_everywhere_are_never_named(release):
    rare = views.rare_categories(release, "browsers")
    assert {"Lynx", "Pale Moon"} <= rare and "Opera" not in rare and "Chrome" not in rare
    cells = views.series(release, "browsers", day_range(release))
    assert not set(cells["category"]) & rare and not set(cells["label"]) & rare
    table = views.breakdown_table(release, "browsers", day_range(release))
    assert not set(table["category"]) & rare
    assert table["category"].iloc[-1] == views.OTHER  # the remainder comes last


def test_a_category_published_in_some_period_keeps_its_name_and_shows_withheld(release):
    cells = views.series(release, "browsers", day_range(release))
    opera = cells[cells["category"] == "Opera"]
    assert len(opera) == 14
    assert set(opera["status"]) == {"withheld", PUBLISHED}
    assert opera.loc[opera["status"] == "withheld", "sessions"].isna().all()


def test_the_other_row_is_the_published_total_minus_the_published_rows(release):
    selection = day_range(release)
    cells = views.series(release, "browsers", selection)
    site = views.series(release, "overview", selection).set_index("period")
    other = cells[cells["other"]].set_index("period")
    assert len(other) == 14 and other["users"].isna().all()  # visitors do not add up
    listed = (
        cells[~cells["other"] & (cells["status"] == PUBLISHED)]
        .groupby("period")
        .sum(numeric_only=True)
    )
    for period, row in other.iterrows():
        if site.at[period, "status"] != PUBLISHED:
            assert row["status"] == "withheld" and pd.isna(row["sessions"])
            continue
        for figure in ("sessions", "views", "engagement_seconds", "engaged_sessions"):
            expected = site.at[period, figure] - listed.at[period, figure]
            assert row[figure] == pytest.approx(expected)
    # The remainder is never more than what the release withholds.
    assert (other["sessions"] > 0).all()


def test_the_other_row_of_pages_has_no_sessions_since_pages_share_them(release):
    selection = views.select(release, "week", DAYS[0], DAYS[-1])
    other = views.series(release, "pages", selection).query("other")
    assert len(other) == 2
    assert other["sessions"].isna().all() and other["views"].notna().all()
    frame = export.summary(release, "pages", selection)
    row = frame[frame["category"] == views.OTHER].iloc[0]
    assert row["visitors"] == row["visits"] == export.NOT_A_SUM
    assert row["page_views"] == other["views"].iloc[0]


def test_the_other_row_is_withheld_where_the_site_total_is(release):
    # A release where the site total of the first day has too few visitors.
    rows = [cell("overview", "day", DAYS[0], SITE_TOTAL, 8, sessions=9)]
    rows.append(cell("browsers", "day", DAYS[0], "Lynx", 8, sessions=9))
    small = protect.protect(raw_frame(rows), k=10, window=WINDOW)
    cells = views.series(small, "browsers", views.select(small, "day", DAYS[0], DAYS[0]))
    assert cells["category"].tolist() == [views.OTHER]
    assert cells["status"].tolist() == ["withheld"] and cells["sessions"].isna().all()


def test_the_other_row_reveals_nothing_the_release_does_not(release, monkeypatch):
    """Publishing the Other row adds no information: the attacker's linear program over the
    release alone already pins the sum of each period's withheld cells to exactly its value,
    and the audit of the release with the Other rows published as figures stays clean."""
    selection = day_range(release)
    other = views.series(release, "browsers", selection).query("other")
    cells = release.cells.reset_index(drop=True)
    withheld = cells["status"].isin(WITHHELD).to_numpy()
    rel = relations.build(cells)
    for figure in ("sessions", "views"):
        prob = attack.problem(rel, figure, withheld, cells[figure].to_numpy(dtype=float))
        for row in other.itertuples():
            mine = cells.iloc[prob.cells]
            in_period = (
                (mine["breakdown"] == "browsers")
                & (mine["grain"] == "day")
                & (mine["period"] == row.period)
            ).to_numpy(dtype=float)
            bounds = []
            for sign in (1.0, -1.0):
                found = linprog(
                    sign * in_period,
                    A_ub=np.vstack([prob.matrix.toarray(), -prob.matrix.toarray()]),
                    b_ub=np.concatenate([prob.high, -prob.low]),
                    bounds=(0, None),
                    method="highs",
                )
                assert found.status == 0
                bounds.append(sign * found.fun)
            assert bounds == pytest.approx([getattr(row, figure)] * 2, abs=1e-3)

    # The same rows as a published report of their own: the audit finds nothing exposed.
    monkeypatch.setitem(
        BREAKDOWNS,
        "browsers_folded",
        Breakdown("browsers_folded", "Folded", (), ("day",), "session"),
    )
    shown = views.series(release, "browsers", selection)
    shown = shown[shown["status"] == PUBLISHED]
    folded = shown[["period", *relations.ADDITIVE]].assign(
        breakdown="browsers_folded", grain="day", category=shown["category"], users=np.nan,
        status=PUBLISHED,
    )  # fmt: skip
    published = pd.concat([cells, folded[cells.columns]], ignore_index=True)
    assert audit.audit(release.cells, release.k).ok
    assert audit.audit(published, release.k).ok


def test_charts_never_name_a_rare_category_nor_rank_the_remainder(release):
    from reports import charts

    selection = day_range(release)
    table = views.breakdown_table(release, "browsers", selection)
    bar = charts.category_bar_chart(table, "sessions")
    trend = charts.category_trend_chart(
        views.series(release, "browsers", selection), "sessions", "day"
    )
    names = set(bar.data[0].meta) | {t.name for t in trend.data}
    assert "Chrome" in names
    assert not names & ({"Lynx", "Pale Moon", views.OTHER})


# --- CSV: provenance, dialects, formula safety ----------------------------------------------


def csv_of(release, report="browsers", dialect="plain", grain="day"):
    selection = views.select(release, grain, DAYS[0], DAYS[-1])
    header = export.provenance(release, selection, FACTS, report=report, generated=GENERATED)
    frame = export.summary(release, report, selection)
    return frame, export.to_csv(frame, header, dialect)


def test_the_provenance_block_says_where_the_file_comes_from(release):
    frame, payload = csv_of(release)
    header, table = export.read_summary(payload)
    assert header[export.PROVENANCE_KEY] == str(len(header))
    assert header["report"] == "browsers (Browsers)"
    assert (header["first_day"], header["last_day"]) == (str(DAYS[0]), str(DAYS[-1]))
    assert header["grain"] == "day" and header["periods"] == "14"
    assert header["time_zone"] == "Europe/Oslo" and header["k"] == "10"
    assert header["source"] == "sample" and "none" in header["property_id"]
    assert header["file_generated"].startswith("2026-11-29T07:00:00")
    assert header["kanon_version"] == export.kanon_version() != ""
    assert header["promise"].startswith("No number shown or downloaded")
    for flag in export.GA4_FLAGS:
        assert header[f"ga4_{flag}"] in ("yes", "no")
    counts = views.withheld(release, "browsers", day_range(release))
    assert int(header["withheld_cells"]) == counts.withheld_cells > 0
    assert int(header["cells"]) == counts.cells
    share = float(header["withheld_share_visits_percent"])
    assert share == views.withheld_shares(release, "browsers", day_range(release))["sessions"]
    assert 0 < share < 100
    assert len(table) == len(frame)


def test_pandas_reads_the_table_by_skipping_the_announced_lines(release):
    _, payload = csv_of(release)
    text = payload.decode("utf-8-sig")
    first = next(csv.reader(io.StringIO(text)))
    assert first[0] == export.PROVENANCE_KEY
    table = pd.read_csv(io.StringIO(text), skiprows=int(first[1]))
    assert table.columns[0] == "report" and set(table["report"]) == {"browsers"}


def test_the_file_is_utf8_with_bom_crlf_and_rfc4180_quoting(release):
    _, payload = csv_of(release, "sources")
    assert payload.startswith("\ufeff".encode())
    text = payload.decode("utf-8-sig")
    assert text.count("\r\n") == text.count("\n") > 10  # CRLF ends every line
    assert '"\'=HYPERLINK(""http://x"",""y"") / referral"' in text  # quotes doubled


@pytest.mark.parametrize("dialect", ["plain", "excel-nb"])
def test_both_dialects_parse_back_to_the_same_numbers(release, dialect):
    frame, payload = csv_of(release, dialect=dialect)
    _, table = export.read_summary(payload)
    published = frame["status"] == PUBLISHED
    assert (
        table.loc[published, "visits"].astype(float).tolist()
        == frame.loc[published, "visits"].astype(float).tolist()
    )
    assert table.loc[published, "views_per_visit"].astype(float).tolist() == pytest.approx(
        frame.loc[published, "views_per_visit"].astype(float).tolist()
    )
    assert table["period_start"].tolist() == [p.isoformat() for p in frame["period_start"]]


def test_excel_nb_splits_on_semicolons_with_decimal_commas_and_keeps_aeoeaa(release):
    _, payload = csv_of(release, "pages", dialect="excel-nb", grain="week")
    lines = payload.decode("utf-8-sig").split("\r\n")
    skip = int(lines[0].split(";")[1])
    rows = list(csv.DictReader(lines[skip:], delimiter=";"))
    front = next(r for r in rows if r["category"] == "/")
    assert front["title"] == "Forside – Fjordlys"
    assert front["visit_duration_seconds"] == "60,5"  # a decimal comma, no thousands mark
    assert next(r for r in rows if r["category"] == "/æøå")["title"] == "Blåbær på fjellet"
    assert all(len(r) == len(rows[0]) for r in rows)  # every line splits into the same cells
    assert int(front["page_views"]) == int(front["visits"]) * 3


def test_formula_like_text_is_inert_and_numbers_stay_numbers(release):
    _, payload = csv_of(release, "sources")
    _, table = export.read_summary(payload)
    named = table["category"].tolist()
    assert len(named) > len(HOSTILE)
    for name in named:
        assert not name.startswith(export.FORMULA_STARTS), repr(name)
    assert '\'=HYPERLINK("http://x","y") / referral' in named
    assert "'\uff1dcmd() / referral" in named and "'\tcmd / referral" in named
    assert export.inert("-2") == "'-2"  # text that looks like a formula, even a number's
    assert export._cell(-2.5, export.DIALECTS["excel-nb"]) == "-2,5"  # a number stays one
    _, pages = export.read_summary(csv_of(release, "pages", grain="week")[1])
    assert "'=1+1 ＠cmd" in pages["title"].tolist()


def test_an_unknown_dialect_says_which_exist(release):
    with pytest.raises(export.ExportError, match="plain, excel-nb"):
        export.to_csv(pd.DataFrame({"a": [1]}), dialect="excel")


# --- the workbook ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(release):
    payload = workbook.summary_workbook(release, "week", DAYS[0], DAYS[-1], FACTS, GENERATED)
    return payload, openpyxl.load_workbook(io.BytesIO(payload))


def test_the_workbook_has_an_about_sheet_and_one_sheet_per_report(book):
    _, loaded = book
    assert loaded.sheetnames == ["About", *[b.title for b in BREAKDOWNS.values()]]
    about = {row[0]: row[1] for row in loaded["About"].iter_rows(min_row=2, values_only=True)}
    assert about["k"] == 10 and about["time_zone"] == "Europe/Oslo"
    assert about["promise"].startswith("No number shown")
    assert about["kanon_version"] == export.kanon_version()
    assert isinstance(about["first_day"], datetime)  # a date cell, not text
    assert "Browsers" in about and "Pages" in about  # one line of counts and flags per report


def test_workbook_cells_are_typed_frozen_and_match_the_csv(release, book):
    _, loaded = book
    sheet = loaded["Browsers"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    frame = export.summary(release, "browsers", views.select(release, "week", DAYS[0], DAYS[-1]))
    assert len(rows) == len(frame)
    for row, expected in zip(rows, frame.to_dict("records"), strict=True):
        assert row["period_start"].date() == expected["period_start"]
        assert row["category"] == expected["category"]
        for column in ("visitors", "visits", "page_views", "views_per_visit"):
            value = expected[column]
            if isinstance(value, str):
                assert row[column] == value  # "withheld" or "—", as text
            else:
                assert isinstance(row[column], int | float) and row[column] == pytest.approx(value)
    widths = [sheet.column_dimensions[c].width for c in ("A", "E")]
    assert all(8 <= w <= workbook.MAX_WIDTH + 1 for w in widths)


def test_the_workbook_holds_no_formula_and_names_no_rare_category(release, book):
    payload, loaded = book
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets)
    rare = views.rare_categories(release, "pages")
    pages = loaded["Pages"]
    values = {c.value for row in pages.iter_rows() for c in row}
    assert "/tiny" in rare and not rare & values
    assert "=1+1 ＠cmd" in values  # the hostile title, as a plain string cell
    day = workbook.summary_workbook(release, "day", DAYS[0], DAYS[-1], FACTS)
    note = openpyxl.load_workbook(io.BytesIO(day))["Pages"]["A1"].value
    assert "published by week and month only" in note
