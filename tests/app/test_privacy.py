"""Privacy: the promise, what the selection withholds and why, GA4's own flags; every role."""

from __future__ import annotations

from reports import views
from reports.status import PUBLISHED, SHOWN_WITHHELD, shown
from tests.app import support

PROMISE = (
    "No number shown or downloaded — nor any sum or difference of such numbers — reveals a "
    "count of fewer than {k} visitors."
)


def test_privacy_page_states_k_and_the_promise(dev):
    at = support.open_page("privacy")
    release = support.release_of(dev)
    assert at.metric[0].label == "Threshold k" and at.metric[0].value == str(release.k)
    assert PROMISE.format(k=release.k) in support.all_text(at)


def test_withheld_counts_match_the_views_without_telling_reasons_apart(dev):
    at = support.open_page("privacy")
    release = support.release_of(dev)
    selection = support.default_selection(release)
    table = at.dataframe[0].value
    assert "Pages" not in table["Report"].tolist()  # not published by day
    for row in table.itertuples(index=False):
        name = next(n for n, b in views.BREAKDOWNS.items() if b.title == row.Report)
        # Counts of the release's cells: rare categories count, though they are never named.
        table_cells = release.table(name, selection.grain)
        cells = table_cells[table_cells["period"].isin(selection.periods)].assign(
            status=lambda c: c["status"].map(shown)
        )
        summary = views.withheld(release, name, selection)
        assert row.Cells == summary.cells == len(cells)
        assert row[2] == summary.withheld_cells == (cells["status"] == SHOWN_WITHHELD).sum()
        assert set(cells["status"]) <= {PUBLISHED, SHOWN_WITHHELD}
        share = row[3]
        assert (
            share != share and summary.withheld_share is None
        ) or share == summary.withheld_share


def test_ga4_flags_are_listed(dev):
    at = support.open_page("privacy")
    release = support.release_of(dev)
    selection = support.default_selection(release)
    flags = at.dataframe[1].value
    for row in flags.itertuples(index=False):
        name = next(n for n, b in views.BREAKDOWNS.items() if b.title == row.Report)
        expected = views.ga4_flags(release, name, selection)
        assert row[1] == ("yes" if expected["subject_to_thresholding"] else "no")
        assert row[2] == ("yes" if expected["data_loss_from_other_row"] else "no")
        assert row[3] == ("yes" if expected["sampled"] else "no")


def test_every_role_may_read_it(as_identity):
    for identity in (support.ANALYST_ID, support.MANAGER_ID, support.ADMIN_ID):
        as_identity(identity)
        at = support.open_page("privacy")
        assert at.metric and not at.error, identity


def test_an_admin_only_identity_does_not_see_the_dashboard(as_identity):
    as_identity(support.ADMIN_ID)
    at = support.open_page()  # the default page for this role is Privacy, not Overview
    assert at.title[0].value == "Privacy"


def test_no_role_no_privacy_figures(as_identity):
    as_identity(support.NOBODY_ID)
    at = support.open_page_alone("privacy")
    assert not at.metric and not at.dataframe


def test_privacy_page_explains_which_names_are_not_listed(dev):
    text = support.all_text(support.open_page("privacy"))
    assert "withheld in every period of the release" in text
    assert "Other (not listed)" in text and "“—”" in text
    assert "not published in too few" in text  # the choice, said once
