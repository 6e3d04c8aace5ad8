"""Is the published data fresh? One answer for `/healthz`, `kanon doctor` and the stale banner.

Fresh means: a release exists, it was published less than `stale_after_hours` ago, and the
last sync that finished succeeded. Nothing here names a figure, a category or an account: the
answer is safe to give anyone who asks (a monitor, unauthenticated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kanon.settings import Settings
from kanon.store.duckdb_store import RUNNING, SUCCEEDED, Store

OK, STALE, FAILED, NO_RELEASE = "ok", "stale", "sync-failed", "no-release"


@dataclass(frozen=True)
class Freshness:
    status: str  # OK, STALE (too old), FAILED (the last sync failed) or NO_RELEASE
    release_age_hours: float | None
    last_sync_outcome: str | None  # the syncs table's status: ok, failed, running
    last_sync_at: datetime | None  # when it finished (started, while running); local time
    stale_after_hours: int

    @property
    def fresh(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict:
        """The `/healthz` body: status, the release's age, the last sync's outcome and time."""
        at = self.last_sync_at
        return {
            "status": self.status,
            "release_age_hours": (
                None if self.release_age_hours is None else round(self.release_age_hours, 2)
            ),
            "stale_after_hours": self.stale_after_hours,
            "last_sync": {
                "outcome": self.last_sync_outcome,
                "at": None if at is None else at.astimezone(UTC).isoformat(),
            },
        }


def is_stale(published_at: datetime, stale_after_hours: int, now: datetime) -> bool:
    """The one rule: data published longer ago than `stale_after_hours` is stale."""
    return now - published_at >= timedelta(hours=stale_after_hours)


def freshness(
    settings: Settings, now: datetime | None = None, wait_seconds: float = 1.0
) -> Freshness:
    """Read the last release and sync from the store (read only, waiting at most
    `wait_seconds` for a sync's connection) and judge them."""
    store = Store(settings.store_path, wait_seconds=wait_seconds)
    info = store.release_info()
    history = store.syncs(limit=20)
    return judge(info, history.to_dict("records"), settings.stale_after_hours, now)


def judge(
    release: dict | None, syncs: list[dict], stale_after_hours: int, now: datetime | None = None
) -> Freshness:
    """Freshness from the last release's info and the sync history (newest first)."""
    now = now or datetime.now()
    published = _timestamp(release.get("created_at")) if release else None
    age = None if published is None else (now - published).total_seconds() / 3600
    last = _last_finished(syncs)
    outcome = None if last is None else str(last["status"])
    at = None if last is None else _timestamp(last.get("finished_at") or last.get("started_at"))
    if published is None:
        status = NO_RELEASE
    elif outcome not in (None, SUCCEEDED):
        status = FAILED
    elif is_stale(published, stale_after_hours, now):
        status = STALE
    else:
        status = OK
    return Freshness(status, age, outcome, at, stale_after_hours)


def _last_finished(syncs: list[dict]) -> dict | None:
    """The newest finished sync; a running one only if none has finished (a sync running now
    says nothing yet, and one that died stays `running` only until the next sync starts)."""
    finished = [row for row in syncs if row.get("status") != RUNNING]
    return finished[0] if finished else (syncs[0] if syncs else None)


def _timestamp(value: object) -> datetime | None:
    if value is None or value != value:  # NaT / NaN from pandas
        return None
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp: a plain datetime from here on
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
