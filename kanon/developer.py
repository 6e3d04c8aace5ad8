"""Developer mode (no sign-in, every role) is for the sample property only.

`refusal` says why developer mode may not start over a Kanon home, or None when it may: only
when every raw period the store fetched and every release it published came from the sample,
and the home's accounts file holds no account (accounts are real people: developer mode has
none and manages none). The dashboard asks on every run, so the answer is kept until one of
the files it read changes.
"""

from __future__ import annotations

import functools
from pathlib import Path

from kanon.access.accounts import Accounts
from kanon.settings import Settings
from kanon.store.duckdb_store import SAMPLE, Store, StoreError

TURN_IT_OFF = (
    "Turn developer mode off (unset KANON_DEVELOPER_MODE, or developer_mode = false in "
    "kanon.toml) and sign in, or point KANON_HOME at a folder holding only the sample "
    "(`KANON_HOME=~/kanon-sample kanon sync --source sample`)."
)


def refusal(settings: Settings) -> str | None:
    """Why developer mode may not start over `settings.home`, or None."""
    store, accounts = settings.store_path, settings.accounts_path
    return _refusal(store, accounts, _version(store), _version(accounts))


def _version(path: Path) -> tuple:
    """What changes when a file (or the DuckDB file's write-ahead log) is written."""
    marks: list[tuple[int, int, int] | None] = []
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            found = candidate.stat()
        except FileNotFoundError:
            marks.append(None)
        else:
            marks.append((found.st_mtime_ns, found.st_size, found.st_ino))
    return tuple(marks)


@functools.lru_cache(maxsize=8)
def _refusal(
    store: Path, accounts: Path, store_version: tuple, accounts_version: tuple
) -> str | None:
    try:
        found = Store(store).sources()
    except StoreError as error:
        return f"Kanon will not start in developer mode: {error}"
    real = sorted(found.all - {SAMPLE})
    if real:
        return (
            f"Kanon will not start in developer mode: this home's statistics came from "
            f"{', '.join(real)}, not the sample property, and developer mode lets anyone in "
            f"without signing in. {TURN_IT_OFF}"
        )
    if accounts.exists() and not Accounts(accounts).is_empty():
        return (
            "Kanon will not start in developer mode: this home has accounts (real people sign "
            "in here), and developer mode would show and change what belongs to them. "
            + TURN_IT_OFF
        )
    return None
