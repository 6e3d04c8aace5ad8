"""Sources: source / medium and channels, hostile names included."""

from __future__ import annotations

import pytest

from kanon.ui import format
from reports import charts, views
from tests.app import support

SCRIPT = "<script>alert(1)</script> / referral"
FORMULA = '=HYPERLINK("http://x","y") / referral'


def test_sources_and_channels_match_the_views_and_hide_withheld_cells(dev):
    at = support.open_page("sources")
    assert at.title[0].value == "Sources"
    release = support.release_of(dev)
    raw = support.raw_cells(dev)
    selection = support.default_selection(release)
    checked = 0
    for name in ("sources", "channels"):
        checked += support.assert_breakdown(at, support.Shown.of(release, raw, name, selection))
    assert checked > 0  # some leading category had withheld days, and each was a gap


def test_referral_spam_is_never_named_and_folds_into_the_other_row(dev):
    at = support.open_page("sources")
    table = support.table_for(at, "sources")
    names = table["Source / medium"].tolist()
    # The sample's spam is withheld in every period of the release: its names never show.
    release = support.release_of(dev)
    rare = views.rare_categories(release, "sources")
    assert {SCRIPT, FORMULA} <= rare
    assert not {format.clip(c) for c in rare} & set(names)
    assert names[-1] == views.OTHER
    other = support.display_values(at, "sources").iloc[-1]
    assert other["users"] == "—" and other["sessions"] not in ("—", "withheld")
    assert any("Withheld:" in c.value and "% of visits" in c.value for c in at.caption)


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_hostile_names_stay_inert_text(dev, grain):
    at = support.open_page("sources")
    at.radio(key="grain").set_value(grain).run()
    table = support.table_for(at, "sources")
    names = table["Source / medium"].tolist()
    assert SCRIPT not in names and FORMULA not in names  # withheld everywhere: not listed
    assert not [n for n in names if n.startswith("http://spam.example/")]
    assert all(len(n) <= 80 for n in names)

    # Whatever is published, every label a chart carries is escaped text.
    for figure in support.figures(at):
        for trace in figure["data"]:
            labels = [trace.get("name") or "", *support.texts(trace.get("customdata", []))]
            if trace["type"] == "bar":
                labels += support.texts(trace["meta"]) + support.texts(
                    figure["layout"]["yaxis"]["ticktext"]
                )
            labels = [label.replace("<br>", "") for label in labels]  # line breaks are ours
            assert not any("<" in label or ">" in label for label in labels)
    assert charts.display_label(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt; / referral"
    release = support.release_of(dev)
    shown = support.Shown.of(
        release, support.raw_cells(dev), "sources", support.default_selection(release, grain)
    )
    support.assert_breakdown(at, shown)


def test_manager_gets_one_download_per_breakdown(as_identity):
    as_identity(support.MANAGER_ID)
    at = support.open_page("sources")
    ids = [b.proto.id for b in at.get("download_button")]
    assert [i.rsplit("-", 1)[-1] for i in ids] == ["sources", "channels"]


def test_analyst_has_no_download(as_identity):
    as_identity(support.ANALYST_ID)
    at = support.open_page("sources")
    assert len(at.dataframe) == 2 and not at.get("download_button")


def test_the_range_follows_the_person_from_page_to_page(dev):
    at = support.open_page()
    at.selectbox(key="range_preset").set_value("Last 90 days")
    at.radio(key="grain").set_value("week").run()
    at.switch_page("kanon/ui/pages/sources.py").run()
    assert at.selectbox(key="range_preset").value == "Last 90 days"
    assert at.radio(key="grain").value == "week"
    assert "whole weeks" in at.markdown[0].value
