"""The release as the store holds it, read back through `reports.protect.load`.

These readers sit beside the store, not in `reports/`, so that `reports` never imports `kanon`:
protect stays pure computation over frames and the only builder of a `Release`, and the store
stays the only code that opens the DuckDB file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kanon.store.duckdb_store import Store
from reports.protect import Release, load


def current(store: Store) -> Release | None:
    """The release last published to the store, or None before the first sync."""
    if store.release_info() is None:
        return None
    cells, info = store.read_release()
    if cells is None or info is None:  # the release went in between: none to show
        return None
    return load(cells, info, store.read_labels(), store.read_release_flags())


# --- readers for the dashboard: it names a store by its path and never opens it itself ------


def current_at(store_path: str | Path) -> Release | None:
    """The release last published to the store at `store_path`, or None before the first."""
    return current(Store(Path(store_path)))


def release_info_at(store_path: str | Path) -> dict | None:
    """The last release's id, date and counts (no figures), or None before the first."""
    return Store(Path(store_path)).release_info()


def sync_history_at(store_path: str | Path, limit: int = 20) -> pd.DataFrame:
    """The latest syncs' outcomes (when, from where, how it ended), newest first."""
    return Store(Path(store_path)).syncs(limit)
