"""A store whose release was protected against the old attacker (issue 27: it listed only
visited cells and ignored the engaged-sessions link) is protected again at its next sync: the
empty cells are listed, a frozen period may gain withheld cells, and never loses any."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.store import releases
from kanon.store.duckdb_store import Store
from kanon.sync import sync
from reports import protect as protection
from reports.audit import audit
from reports.cells import KEY
from reports.status import EMPTY, PUBLISHED, WITHHELD

DAY = date(2025, 6, 1)


def _as_old_release(path) -> None:
    """What a store written before issue 27 holds: no model, no listing, no empty rows."""
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM release_cells WHERE status = ?", [EMPTY])
        con.execute("UPDATE releases SET model = NULL, listing = NULL, empty = NULL")


def test_an_old_release_is_protected_again_at_the_next_sync(tmp_path):
    settings = load_settings(home=tmp_path, retention_months=1, developer_mode=False)
    sync(settings, SampleConnector(scale=0.1, today=DAY))
    store = Store(settings.store_path)
    _as_old_release(settings.store_path)
    old = releases.current(store)
    assert protection.model_of(old.info) == 1
    assert protection.listing_of(old.info) == protection.VISITED
    assert not (old.cells["status"] == EMPTY).any()

    sync(settings, SampleConnector(scale=0.1, today=DAY + timedelta(days=1)))
    new = releases.current(store)
    assert protection.model_of(new.info) == protection.MODEL
    assert protection.listing_of(new.info) == protection.EVERY_PERIOD
    assert (new.cells["status"] == EMPTY).any()
    both = old.cells.merge(new.cells, on=KEY, suffixes=("_old", "_new"))
    was_withheld = both["status_old"].isin(WITHHELD)
    assert both.loc[was_withheld, "status_new"].isin(WITHHELD).all()  # never published now
    kept = both[both["status_new"] == PUBLISHED]
    assert (kept["status_old"] == PUBLISHED).all()
    for figure in ("sessions", "views", "users"):  # what stays published keeps its figures
        assert (kept[f"{figure}_old"] == kept[f"{figure}_new"]).all()
    assert audit(new.cells, new.k, listing=protection.listing_of(new.info)).ok


def test_the_audit_reads_an_old_release_as_listing_visited_cells_only(tmp_path):
    settings = load_settings(home=tmp_path, retention_months=1, developer_mode=False)
    sync(settings, SampleConnector(scale=0.1, today=DAY))
    _as_old_release(settings.store_path)
    old = releases.current(Store(settings.store_path))
    visited = audit(old.cells, old.k, listing=protection.listing_of(old.info))
    listed = audit(old.cells, old.k, listing=protection.EVERY_PERIOD)
    assert visited.counts["sensitive"] == listed.counts["sensitive"]
    # Read as visited-only, more of it can be pinned (or as much): never less.
    assert len(visited.exposed) >= len(listed.exposed)
