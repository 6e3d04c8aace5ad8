"""`/healthz` on the dashboard's own server, asked over plain HTTP as an uptime monitor would:
200 while the release is fresh and the last sync succeeded, 503 once a sync failed; no figure,
no name, no account; never cached; no sign-in needed."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import date, timedelta

import pytest

from connectors.base import ConnectorError
from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.sync import sync
from tests.browser.support import dashboard

DAY = date(2025, 6, 1)
KEYS = {"status", "release_age_hours", "stale_after_hours", "last_sync"}


class Unreachable(SampleConnector):
    """A source that fails mid-sync, as GA4 does when the network is down."""

    def run_many(self, requests):
        raise ConnectorError("GA4 did not answer (connection refused)")


def _lower(headers) -> dict:
    return {name.lower(): value for name, value in headers.items()}


def _get(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, _lower(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), json.load(error)


def _until(url: str, status: int, seconds: float = 20) -> tuple[int, dict, dict]:
    """Ask until the answer's status is `status` (the server keeps an answer a few seconds)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = _get(url)
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_healthz_is_200_while_fresh_and_503_after_a_failed_sync(tmp_path):
    home = tmp_path / "home"
    settings = load_settings(home=home, retention_months=1, developer_mode=False)
    sync(settings, SampleConnector(scale=0.1, today=DAY))
    with dashboard(home, KANON_RETENTION_MONTHS="1") as url:
        code, headers, body = _get(f"{url}/healthz")
        assert code == 200, body
        assert set(body) == KEYS and body["status"] == "ok"
        assert 0 <= body["release_age_hours"] < 1
        assert body["last_sync"]["outcome"] == "ok" and body["last_sync"]["at"].endswith("+00:00")
        assert headers["cache-control"] == "no-store"
        assert headers["content-type"] == "application/json"

        with pytest.raises(Exception, match="did not answer"):
            sync(settings, Unreachable(scale=0.1, today=DAY + timedelta(days=2)))
        code, headers, body = _until(f"{url}/healthz", 503)
        assert code == 503 and body["status"] == "sync-failed"
        assert body["last_sync"]["outcome"] == "failed"
        assert set(body) == KEYS and set(body["last_sync"]) == {"outcome", "at"}
        assert "GA4" not in json.dumps(body)  # the cause is for admins (doctor), not monitors
        assert headers["cache-control"] == "no-store"
