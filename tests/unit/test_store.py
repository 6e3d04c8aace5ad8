"""kanon/store/duckdb_store.py: a store written by an earlier Kanon opens and gains the columns
added since."""

import duckdb

from kanon.store.duckdb_store import Store


def test_a_store_from_before_time_zones_gains_the_column(tmp_path):
    path = tmp_path / "kanon.duckdb"
    with duckdb.connect(str(path)) as con:  # the releases table as Kanon 0.1 wrote it
        con.execute(
            "CREATE TABLE releases (release_id BIGINT PRIMARY KEY, created_at TIMESTAMP, "
            "source VARCHAR, k INTEGER, first_day DATE, last_settled DATE, cells BIGINT, "
            "withheld_primary BIGINT, withheld_secondary BIGINT)"
        )
        con.execute("INSERT INTO releases VALUES (1, now(), 'sample', 10, '2026-01-01', "
                    "'2026-11-01', 5, 1, 0)")  # fmt: skip
    info = Store(path).release_info()
    assert info["release_id"] == 1 and "time_zone" in info


def _release(cells):
    import pandas as pd

    return pd.DataFrame(
        cells, columns=["breakdown", "grain", "period", "category", "users", "status"]
    )


def test_a_release_replaces_the_last_and_an_older_keyed_table_loses_its_key(tmp_path):
    from datetime import date

    from kanon.store.duckdb_store import replace_release

    path = tmp_path / "kanon.duckdb"
    with duckdb.connect(str(path)) as con:  # release_cells as Kanon wrote it before this change
        con.execute(
            "CREATE TABLE release_cells (breakdown VARCHAR, grain VARCHAR, period DATE, "
            "category VARCHAR, users DOUBLE, status VARCHAR, "
            "PRIMARY KEY (breakdown, grain, period, category))"
        )
        con.execute("INSERT INTO release_cells VALUES ('overview', 'day', '2026-11-01', "
                    "'(all visits)', 40, 'published')")  # fmt: skip
    day = date(2026, 11, 2)
    new = _release([("overview", "day", day, "(all visits)", 50.0, "published")])
    store = Store(path)
    with store.transaction() as con:
        replace_release(con, new, {"release_id": 2, "k": 10})
    cells, info = store.read_release()
    assert info["release_id"] == 2
    assert cells[["period", "users"]].astype(str).values.tolist() == [["2026-11-02", "50.0"]]
    with duckdb.connect(str(path)) as con:
        keys = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'release_cells' "
            "AND constraint_type = 'PRIMARY KEY'"
        ).fetchone()[0]
    assert keys == 0


def test_a_release_holding_a_cell_twice_is_refused_and_the_last_kept(tmp_path):
    from datetime import date

    import pytest

    from kanon.store.duckdb_store import StoreError, replace_release

    store = Store(tmp_path / "kanon.duckdb")
    day = date(2026, 11, 2)
    first = _release([("overview", "day", day, "(all visits)", 50.0, "published")])
    with store.transaction() as con:
        replace_release(con, first, {"release_id": 1, "k": 10})
    twice = _release([("overview", "day", day, "(all visits)", 60.0, "published")] * 2)
    with pytest.raises(StoreError, match="twice"), store.transaction() as con:
        replace_release(con, twice, {"release_id": 2, "k": 10})
    cells, info = store.read_release()
    assert info["release_id"] == 1 and cells["users"].tolist() == [50.0]


def test_raw_cells_after_upsert_are_the_newest_figures_inside_the_window(tmp_path):
    from datetime import date

    import pandas as pd

    from kanon.store.duckdb_store import raw_cells_after_upsert, upsert
    from reports.cells import COLUMNS

    def cells(rows):
        frame = pd.DataFrame(rows, columns=["grain", "period", "category", "sessions"])
        return frame.assign(breakdown="browsers", users=20.0, views=1.0, engagement_seconds=1.0,
                            session_seconds=1.0, engaged_sessions=1.0)[COLUMNS]  # fmt: skip

    old, kept, day = date(2026, 1, 5), date(2026, 2, 2), date(2026, 2, 3)
    store = Store(tmp_path / "kanon.duckdb")
    with store.transaction() as con:
        upsert(con, "raw_cells", cells([("day", old, "Firefox", 9), ("day", kept, "Firefox", 8),
                                        ("day", kept, "Safari", 7)]))  # fmt: skip
    new = cells([("day", kept, "Safari", 70), ("day", day, "Safari", 6), ("day", old, "Edge", 5)])
    with store.connect() as con:
        merged = raw_cells_after_upsert(con, new, first_day=date(2026, 2, 1))
        unchanged = raw_cells_after_upsert(con, new.iloc[:0], first_day=date(2026, 2, 1))
    got = merged.sort_values(["period", "category"])[["period", "category", "sessions"]]
    assert got.astype(str).values.tolist() == [
        ["2026-02-02", "Firefox", "8.0"],
        ["2026-02-02", "Safari", "70.0"],  # the new figure wins
        ["2026-02-03", "Safari", "6.0"],
    ]  # and nothing from before the window, stored or new
    assert sorted(unchanged["sessions"]) == [7.0, 8.0]
    assert list(merged.columns) == COLUMNS


def test_raw_cells_can_leave_out_what_the_release_already_published(tmp_path):
    from datetime import date

    from kanon.store.duckdb_store import raw_cells_after_upsert, replace_release, upsert

    day = date(2026, 2, 2)
    raw = _release([("browsers", "day", day, c, 20.0, None) for c in ("Firefox", "Lynx")])
    store = Store(tmp_path / "kanon.duckdb")
    with store.transaction() as con:
        upsert(con, "raw_cells", raw.drop(columns="status"))
        released = raw.assign(status=["published", "primary"])
        replace_release(con, released, {"release_id": 1, "k": 10})
    with store.connect() as con:
        needed = raw_cells_after_upsert(
            con, raw.iloc[:0].drop(columns="status"), day, unless_released_as="published"
        )
    assert needed["category"].tolist() == ["Lynx"]  # the withheld cell's raw figures only


def _full_release(rows):
    """Release cells with every figure: (breakdown, grain, period, category, sessions, status)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["breakdown", "grain", "period", "category", "sessions",
                                        "status"])  # fmt: skip
    names = ["users", "views", "engagement_seconds", "session_seconds", "engaged_sessions"]
    figures = {name: frame["sessions"] * n for n, name in enumerate(names, 2)}
    frame = frame.assign(**figures)
    withheld = frame["status"] != "published"
    frame.loc[withheld, ["sessions", *figures]] = np.nan
    return frame


def _stored(store):
    cells, _ = store.read_release()
    key = ["breakdown", "grain", "period", "category"]
    return cells.sort_values(key).reset_index(drop=True).astype(str)


def _wanted(frame, columns):
    key = ["breakdown", "grain", "period", "category"]
    return frame[columns].sort_values(key).reset_index(drop=True).astype(str)


def test_a_new_release_rewrites_only_what_changed_and_ends_equal_to_it(tmp_path, caplog):
    """Releases one after another: a figure, a status and a blank changed inside a period, a
    period gone and one added, a category added; the stored release equals each exactly."""
    from datetime import date

    from kanon.store.duckdb_store import replace_release

    d1, d2, d3, w1 = date(2026, 2, 2), date(2026, 2, 3), date(2026, 2, 4), date(2026, 2, 2)
    base = [("browsers", "day", d1, "Firefox", 30, "published"),
            ("browsers", "day", d1, "Lynx", 3, "primary"),
            ("browsers", "day", d2, "Firefox", 40, "published"),
            ("browsers", "week", w1, "Firefox", 90, "published"),
            ("overview", "day", d1, "(all visits)", 33, "published")]  # fmt: skip
    releases = [
        base,
        [*base[:2], ("browsers", "day", d2, "Firefox", 41, "published"), *base[3:]],  # a figure
        [base[0], ("browsers", "day", d1, "Lynx", 3, "secondary"), *base[2:]],  # a status
        [("browsers", "day", d1, "Firefox", 30, "secondary"), *base[1:]],  # a blank
        [*base[:2], *base[3:], ("browsers", "day", d3, "Edge", 12, "published")],  # gone, added
        [*base, ("browsers", "day", d2, "Edge", 11, "published")],  # a category more
        base,
    ]
    store = Store(tmp_path / "kanon.duckdb")
    for number, rows in enumerate(releases, 1):
        new = _full_release(rows)
        with store.transaction() as con:
            replace_release(con, new, {"release_id": number, "k": 10})
        stored = _stored(store)
        assert stored.equals(_wanted(new, list(stored.columns))), number
    assert "writing it whole" not in caplog.text  # the changed periods alone made each one


def test_a_release_whose_changed_periods_were_missed_is_written_whole(tmp_path, monkeypatch,
                                                                       caplog):  # fmt: skip
    from datetime import date

    from kanon.store import duckdb_store

    day = date(2026, 2, 2)
    store = Store(tmp_path / "kanon.duckdb")
    first = _full_release([("browsers", "day", day, "Firefox", 30, "published")])
    with store.transaction() as con:
        duckdb_store.replace_release(con, first, {"release_id": 1, "k": 10})
    monkeypatch.setattr(duckdb_store, "_write_changed_periods", lambda con, new, row_hash: None)
    second = _full_release([("browsers", "day", day, "Firefox", 31, "published")])
    with store.transaction() as con:
        duckdb_store.replace_release(con, second, {"release_id": 2, "k": 10})
    stored = _stored(store)
    assert stored.equals(_wanted(second, list(stored.columns)))
    assert "writing it whole" in caplog.text
