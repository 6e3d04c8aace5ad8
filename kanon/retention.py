"""Retention: nothing older than the window (14 months by default) is kept anywhere."""

from __future__ import annotations

from datetime import date

from kanon.access import log
from kanon.errors import KanonError
from kanon.settings import Settings
from kanon.store.duckdb_store import Store, purge_before
from kanon.summaries import records
from reports.grid import Window


class PurgeError(KanonError):
    """Purging stopped part way; the message says what was deleted and what to fix."""


def purge(settings: Settings, today: date | None = None) -> list[str]:
    """Delete statistics, access-log entries and summary sends from before the retention
    window."""
    window = Window.on(today or date.today(), settings.retention_months, settings.settle_days)
    lines = []
    store = Store(settings.store_path)
    if store.path.exists():
        with store.transaction() as con:
            deleted = purge_before(con, window.first_day)
        lines.append(
            f"store: deleted {deleted} rows of periods starting, and notes ending, before "
            f"{window.first_day}"
        )
    try:
        dropped = log.purge(settings.access_log_path, window.first_day)
    except Exception as error:
        raise PurgeError(
            "; ".join(lines + [""])
            + f"the access log {settings.access_log_path} could not be purged "
            f"({type(error).__name__}: {error}): fix or remove the unreadable line and run "
            "`kanon purge` again."
        ) from None
    lines.append(f"access log: dropped {dropped} entries from before {window.first_day}")
    forgotten = records.purge_before(settings.accounts_path, window.first_day)
    lines.append(f"summaries: forgot {forgotten} sends of periods before {window.first_day}")
    return lines
