"""store/db.py: a store written by an earlier Kanon opens and gains the columns added since."""

import duckdb

from store.db import Store


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
