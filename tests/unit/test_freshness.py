"""kanon/freshness.py: the one rule `/healthz`, `kanon doctor` and the stale banner share."""

from __future__ import annotations

from datetime import datetime, timedelta

from kanon.freshness import FAILED, NO_RELEASE, OK, STALE, judge

NOW = datetime(2026, 12, 7, 12, 0)


def _sync(status: str, hours_ago: float) -> dict:
    at = NOW - timedelta(hours=hours_ago)
    return {"status": status, "started_at": at - timedelta(minutes=2), "finished_at": at}


def _release(hours_ago: float) -> dict:
    return {"release_id": 3, "created_at": NOW - timedelta(hours=hours_ago)}


def test_fresh_until_stale_after_hours_then_stale():
    syncs = [_sync("ok", 2)]
    assert judge(_release(2), syncs, 36, NOW).status == OK
    assert judge(_release(35.9), syncs, 36, NOW).fresh
    assert judge(_release(36), syncs, 36, NOW).status == STALE


def test_a_failed_last_sync_is_not_fresh_even_with_a_recent_release():
    found = judge(_release(3), [_sync("failed", 1), _sync("ok", 3)], 36, NOW)
    assert found.status == FAILED and found.last_sync_outcome == "failed"
    assert found.last_sync_at == NOW - timedelta(hours=1)


def test_a_running_sync_says_nothing_yet_the_last_finished_one_counts():
    running = {"status": "running", "started_at": NOW, "finished_at": None}
    assert judge(_release(3), [running, _sync("ok", 3)], 36, NOW).fresh
    assert judge(_release(3), [running, _sync("failed", 3)], 36, NOW).status == FAILED


def test_no_release_is_never_fresh_and_the_body_names_no_figure():
    found = judge(None, [], 36, NOW)
    assert found.status == NO_RELEASE and not found.fresh
    body = judge(_release(2), [_sync("ok", 2)], 36, NOW).to_dict()
    assert set(body) == {"status", "release_age_hours", "stale_after_hours", "last_sync"}
    assert body["release_age_hours"] == 2.0 and set(body["last_sync"]) == {"outcome", "at"}
