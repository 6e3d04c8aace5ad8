"""Cached access to the release and its views, keyed on small values only.

The release is loaded once per release id (`st.cache_resource`); each view is cached on
(store, release id, breakdown, grain, first, last), so a rerun that changes nothing recomputes
nothing. A new sync gives a new release id, so no cache ever serves figures of an old release.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NamedTuple, NoReturn, Protocol, TypeVar, cast

import pandas as pd
import streamlit as st

from kanon.settings import Settings
from kanon.store import releases
from kanon.store.duckdb_store import StoreError
from reports import protect, views
from reports.grid import Selection
from reports.protect import Release

STATUS_TTL = 5  # seconds: a sync from the command line shows up within this delay
VIEW_TTL = 3600


class Query(NamedTuple):
    """What a page shows: one release, one grain, one snapped range."""

    store: str
    release_id: int
    grain: str
    first: date
    last: date


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


def store_problem(error: StoreError) -> NoReturn:
    """A store that is locked or damaged: Kanon's message and what to do, then stop the page
    (outside a page's run, e.g. the start-up warm-up, the error goes on)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        raise error
    st.error(str(error), icon=":material/error:")
    st.stop()
    raise error  # st.stop raises; this keeps type checkers certain


class Cached(Protocol[T_co]):
    """A read cached by Streamlit: called like the read, emptied by `clear()`."""

    def __call__(self, *args: Any) -> T_co: ...

    def clear(self) -> None: ...


def _stopping_on_store_errors(read: Callable[..., T]) -> Cached[T]:
    @functools.wraps(read)
    def guarded(*args: object) -> T:
        try:
            return read(*args)
        except StoreError as error:
            store_problem(error)

    guarded.clear = read.clear  # type: ignore[attr-defined]
    return cast(Cached[T], guarded)


@st.cache_data(ttl=STATUS_TTL, max_entries=8, show_spinner=False)
def _release_info(store: str) -> dict | None:
    return releases.release_info_at(store)


@st.cache_data(ttl=STATUS_TTL, max_entries=8, show_spinner=False)
def _syncs(store: str) -> pd.DataFrame:
    return releases.sync_history_at(store)


@st.cache_data(ttl=STATUS_TTL, max_entries=8, show_spinner=False)
def _last_successful_sync(store: str) -> datetime | None:
    """When the last sync that published finished (every page's stale check: kept small)."""
    history = _syncs(store)
    if history.empty:
        return None
    finished = history.loc[history["status"] == "ok", "finished_at"]
    return None if finished.empty else pd.Timestamp(finished.max()).to_pydatetime()


release_info = _stopping_on_store_errors(_release_info)
syncs = _stopping_on_store_errors(_syncs)
last_successful_sync = _stopping_on_store_errors(_last_successful_sync)


@st.cache_resource(ttl=24 * 3600, max_entries=2, show_spinner="Loading the release…")
def _release(store: str, release_id: int) -> Release | None:
    return releases.current_at(store)


def current_release(settings: Settings) -> Release | None:
    """The published release, or None before the first sync."""
    store = str(settings.store_path)
    info = release_info(store)
    if info is None:
        return None
    try:
        return _release(store, int(info["release_id"]))
    except StoreError as error:
        store_problem(error)


def release_id(release: Release) -> int:
    return int(release.info.get("release_id", 0))


def forget() -> None:
    """After a sync: look at the store again instead of waiting for the caches to expire."""
    release_info.clear()
    syncs.clear()
    last_successful_sync.clear()


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def selection(store: str, release: int, grain: str, first: date, last: date) -> Selection:
    return views.select(_loaded(store, release), grain, first, last)


@st.cache_data(ttl=VIEW_TTL, max_entries=128, show_spinner=False)
def kpis(query: Query) -> list[views.Kpi]:
    return views.kpis(*_unpack(query))


@st.cache_data(ttl=VIEW_TTL, max_entries=128, show_spinner=False)
def site_trend(query: Query) -> pd.DataFrame:
    return views.site_trend(*_unpack(query))


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def series(query: Query, breakdown: str) -> pd.DataFrame:
    release, chosen = _unpack(query)
    return views.series(release, breakdown, chosen)


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def breakdown_table(query: Query, breakdown: str) -> pd.DataFrame:
    release, chosen = _unpack(query)
    return views.breakdown_table(release, breakdown, chosen)


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def withheld(query: Query, breakdown: str) -> views.Withheld:
    release, chosen = _unpack(query)
    return views.withheld(release, breakdown, chosen)


@st.cache_data(ttl=VIEW_TTL, max_entries=256, show_spinner=False)
def ga4_flags(query: Query, breakdown: str) -> dict[str, bool]:
    release, chosen = _unpack(query)
    return views.ga4_flags(release, breakdown, chosen)


def _loaded(store: str, release: int) -> Release:
    loaded = _release(store, release)
    if loaded is None:
        raise protect.ReleaseError("The release disappeared from the store; reload the page.")
    return loaded


def _unpack(query: Query) -> tuple[Release, Selection]:
    release = _loaded(query.store, query.release_id)
    return release, views.select(release, query.grain, query.first, query.last)
