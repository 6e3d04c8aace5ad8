from datetime import date, timedelta

import pandas as pd
import pytest

from kanon.store import releases
from kanon.store.duckdb_store import Store, replace_release
from reports import protect
from reports.cells import COLUMNS, FIGURES, SITE_TOTAL
from reports.grid import Window
from reports.status import GA4_OTHER, PRIMARY, PUBLISHED, WITHHELD

TODAY = date(2026, 11, 29)
WINDOW = Window.on(TODAY, retention_months=14, settle_days=3)


def cell(breakdown, grain, period, category, users, sessions=None):
    sessions = users * 2 if sessions is None else sessions
    return {
        "breakdown": breakdown,
        "grain": grain,
        "period": period,
        "category": category,
        "users": users,
        "sessions": sessions,
        "views": sessions * 3,
        "engagement_seconds": sessions * 40,
        "session_seconds": sessions * 60.5,
        "engaged_sessions": sessions * 0.5,
    }


def raw_frame(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def test_a_release_cannot_be_built_outside_protect():
    with pytest.raises(TypeError, match="only by reports.protect"):
        protect.Release(cells=raw_frame([]), k=10)


@pytest.mark.parametrize(("users", "status"), [(9, PRIMARY), (10, PUBLISHED), (11, PUBLISHED)])
def test_primary_suppression_at_the_boundary(users, status):
    day = date(2026, 11, 2)
    release = protect.protect(
        raw_frame(
            [
                # Categories add up to the total, as GA4's do without thresholding.
                cell("overview", "day", day, SITE_TOTAL, 500, sessions=1000 + 2 * users),
                cell("browsers", "day", day, "Chrome", 490, sessions=1000),
                cell("browsers", "day", day, "Lynx", users),
            ]
        ),
        k=10,
        window=WINDOW,
    )
    lynx = release.cells[release.cells["category"] == "Lynx"].iloc[0]
    assert lynx["status"] == status
    if status == PRIMARY:
        assert lynx[FIGURES].isna().all()
    else:
        assert lynx["sessions"] == users * 2


def test_every_figure_of_a_withheld_cell_is_blank():
    day = date(2026, 11, 2)
    rows = [cell("overview", "day", day, SITE_TOTAL, 500)]
    rows += [cell("browsers", "day", day, f"b{i}", users) for i, users in enumerate([1, 3, 9])]
    release = protect.protect(raw_frame(rows), k=10, window=WINDOW)
    small = release.cells["category"].isin(["b0", "b1", "b2"])
    withheld = release.cells[small & release.cells["status"].isin(WITHHELD)]
    assert len(withheld) == 3
    assert withheld[FIGURES].isna().all().all()


def test_only_whole_settled_periods_inside_the_window_are_published():
    rows = [
        cell("overview", "day", TODAY - timedelta(days=1), SITE_TOTAL, 50),  # not settled
        cell("overview", "day", WINDOW.first_day - timedelta(days=1), SITE_TOTAL, 50),  # too old
        cell("overview", "week", date(2026, 11, 23), SITE_TOTAL, 50),  # week not over
        cell("overview", "month", date(2025, 9, 1), SITE_TOTAL, 50),  # partly too old
        cell("overview", "day", date(2026, 11, 26), SITE_TOTAL, 50),  # last settled day
        cell("pages", "day", date(2026, 11, 2), "/", 50),  # pages have no day grain
    ]
    release = protect.protect(raw_frame(rows), k=10, window=WINDOW)
    assert release.cells["period"].tolist() == [date(2026, 11, 26)]


def test_ga4_other_row_is_never_published():
    day = date(2026, 11, 2)
    release = protect.protect(
        raw_frame(
            [
                cell("overview", "day", day, SITE_TOTAL, 900),
                cell("browsers", "day", day, "(other)", 400),
            ]
        ),
        k=10,
        window=WINDOW,
    )
    other = release.cells[release.cells["category"] == "(other)"].iloc[0]
    assert other["status"] == GA4_OTHER and pd.isna(other["sessions"])


def test_published_periods_are_frozen_against_late_data():
    day = date(2026, 11, 2)
    first = protect.protect(
        raw_frame([cell("overview", "day", day, SITE_TOTAL, 40)]), k=10, window=WINDOW
    )
    revised = raw_frame(
        [
            cell("overview", "day", day, SITE_TOTAL, 45),
            cell("overview", "day", day + timedelta(days=1), SITE_TOTAL, 30),
        ]
    )
    later = Window.on(TODAY + timedelta(days=1), 14, 3)
    second = protect.protect(revised, k=10, window=later, previous=first)
    frozen = second.cells[second.cells["period"] == day].iloc[0]
    assert frozen["users"] == 40  # GA4's revision does not change a published figure
    assert len(second.cells) == 2


def test_a_new_threshold_reprotects_everything():
    day = date(2026, 11, 2)
    first = protect.protect(
        raw_frame([cell("overview", "day", day, SITE_TOTAL, 12)]), k=10, window=WINDOW
    )
    second = protect.protect(
        raw_frame([cell("overview", "day", day, SITE_TOTAL, 12)]),
        k=15,
        window=WINDOW,
        previous=first,
    )
    assert second.cells.iloc[0]["status"] == PRIMARY


def test_loading_a_tampered_release_is_refused():
    day = date(2026, 11, 2)
    release = protect.protect(
        raw_frame(
            [cell("overview", "day", day, SITE_TOTAL, 500), cell("browsers", "day", day, "Lynx", 2)]
        ),
        k=10,
        window=WINDOW,
    )
    tampered = release.cells.copy()
    tampered.loc[tampered["category"] == "Lynx", "sessions"] = 4
    with pytest.raises(protect.ReleaseError, match="withheld cell carries a figure"):
        protect.load(tampered, {"k": 10}, pd.DataFrame(), pd.DataFrame())
    lowered = release.cells.copy()
    with pytest.raises(protect.ReleaseError, match="fewer than k=600"):
        protect.load(lowered, {"k": 600}, pd.DataFrame(), pd.DataFrame())


def _two_weeks(users_by_day: dict[date, dict[str, int]], gap: int = 0) -> pd.DataFrame:
    """Browser days adding up to the site total (plus `gap` unattributed sessions a day)."""
    rows = []
    for day, browsers in users_by_day.items():
        sessions = sum(2 * u for u in browsers.values()) + gap
        rows.append(cell("overview", "day", day, SITE_TOTAL, sum(browsers.values()), sessions))
        rows += [cell("browsers", "day", day, name, u) for name, u in browsers.items()]
    return raw_frame(rows)


def test_frozen_withheld_cells_start_from_their_raw_figures(monkeypatch):
    """A later sync fills the blanked figures of frozen cells from the raw store (and residuals
    from their relation) instead of solving an LP over every frozen block."""
    from reports import attack, audit

    monday = date(2026, 11, 2)
    days = {monday + timedelta(days=i): {"Chrome": 300, "Firefox": 40, "Lynx": 3} for i in range(9)}
    raw = _two_weeks(days, gap=5)
    first = protect.protect(raw, k=10, window=Window.on(monday + timedelta(days=8), 14, 3))
    assert (first.cells["status"] == PRIMARY).any()

    def no_lp(*args, **kwargs):
        raise AssertionError("frozen cells were filled by an LP")

    monkeypatch.setattr(attack, "feasible_point", no_lp)
    later = Window.on(monday + timedelta(days=12), 14, 3)
    second = protect.protect(raw, k=10, window=later, previous=first)
    frozen = second.cells[second.cells["period"] <= first.cells["period"].max()]
    assert frozen.reset_index(drop=True).equals(first.cells.reset_index(drop=True))
    assert audit.audit(second.cells, 10).ok


def test_revised_raw_figures_of_frozen_cells_are_not_trusted(monkeypatch):
    from reports import attack, audit

    monday = date(2026, 11, 2)
    days = {monday + timedelta(days=i): {"Chrome": 300, "Firefox": 40, "Lynx": 3} for i in range(9)}
    first = protect.protect(
        _two_weeks(days), k=10, window=Window.on(monday + timedelta(days=8), 14, 3)
    )
    revised = _two_weeks({d: {**b, "Lynx": 7} for d, b in days.items()})  # late hits, totals too
    calls = []
    real = attack.feasible_point
    monkeypatch.setattr(attack, "feasible_point", lambda *a, **k: calls.append(1) or real(*a, **k))
    second = protect.protect(
        revised, k=10, window=Window.on(monday + timedelta(days=12), 14, 3), previous=first
    )
    assert calls, "a revised raw figure that breaks a published relation was used as it is"
    assert audit.audit(second.cells, 10).ok


def test_a_built_release_reads_like_a_stored_one(tmp_path):
    """Protect works on categorical keys; its release has text keys in key order, as one read
    back from the store has, residual rows (text added to the categories) included."""
    day = date(2026, 11, 2)
    rows = [cell("overview", "day", day, SITE_TOTAL, 500, sessions=1500)]  # 200 unattributed
    rows += [cell("browsers", "day", day, name, 200) for name in ("Ørn", "Chrome", "Æble")]
    rows += [cell("browsers", "day", day, "Lynx", 3, sessions=100)]
    built = protect.protect(raw_frame(rows), k=10, window=WINDOW)
    assert "(unattributed)" in set(built.cells["category"])
    store = Store(tmp_path / "kanon.duckdb")
    with store.transaction() as con:
        replace_release(con, built.cells, {"release_id": 1, "k": 10})
    stored = releases.current(store)
    for column in ("breakdown", "grain", "category"):
        assert built.cells[column].dtype == stored.cells[column].dtype, column
    pd.testing.assert_frame_equal(built.cells, stored.cells, check_dtype=False)
    keys = built.cells[["breakdown", "grain", "category"]].astype(object)
    assert list(keys.itertuples(index=False)) == sorted(keys.itertuples(index=False))
