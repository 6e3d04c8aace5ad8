"""Admin: release info, sync history, the Sync button, errors, stale data; admins only."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.base import ConnectorError, Usage
from kanon.access import log
from kanon.access.roles import developer_identity
from kanon.store.duckdb_store import Store
from kanon.sync import SyncReport
from tests.app import support


@pytest.fixture
def own_home(tmp_path: Path, home: Path) -> Path:
    """A copy of the published store, so a sync here leaves the shared release alone."""
    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy(home / "kanon.duckdb", copy / "kanon.duckdb")
    return copy


def admin_in(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Every role (as in developer mode, without its banner) over `home`."""
    monkeypatch.setenv("KANON_HOME", str(home))
    monkeypatch.setattr("kanon.ui.context.identity", lambda settings: developer_identity())


def test_admin_sees_release_info_and_sync_history(as_identity, home):
    as_identity(support.ADMIN_ID)
    at = support.open_page("admin")
    info = Store(home / "kanon.duckdb").release_info()
    cards = {m.label: m.value for m in at.metric}
    assert cards["Threshold k"] == str(info["k"])
    assert cards["Cells"] == f"{info['cells']:,}"
    assert cards[f"Withheld: fewer than {info['k']} visitors"] == f"{info['withheld_primary']:,}"
    assert cards["Withheld: protects another cell"] == f"{info['withheld_secondary']:,}"
    history = at.dataframe[0].value
    assert history["status"].iloc[0] == "ok"
    assert at.button(key="sync_now")


def test_non_admins_cannot_open_it_even_directly(as_identity):
    for identity in (support.ANALYST_ID, support.MANAGER_ID):
        as_identity(identity)
        at = support.open_page_alone("admin")
        assert at.error and not at.metric and not at.button
        assert "admin" not in [p.url_path for p in _navigation(identity)]


def _navigation(identity):
    from kanon.ui.navigation import allowed

    return allowed(identity)


def test_a_failed_sync_says_why_and_keeps_the_release(monkeypatch, own_home):
    admin_in(monkeypatch, own_home)
    before = Store(own_home / "kanon.duckdb").release_info()["release_id"]

    class Broken:
        name = "sample"

        def today(self):
            return support.TODAY + timedelta(days=14)  # new periods to fetch

        def run_many(self, requests):
            raise ConnectorError("The sample property could not be read: disk on fire.")

        def usage(self):
            return Usage()

    monkeypatch.setattr("kanon.ui.admin_panels.make_connector", lambda settings, source: Broken())
    at = support.open_page("admin")
    at.button(key="sync_now").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "disk on fire" in message and "previous release is unchanged" in message
    store = Store(own_home / "kanon.duckdb")
    assert store.release_info()["release_id"] == before
    assert store.syncs()["status"].iloc[0] == "failed"
    assert support.open_page("overview").metric  # still shown


def test_a_sync_reports_progress_then_its_outcome(monkeypatch, own_home):
    """The button runs `kanon.sync.sync` with the chosen source (replaced here: a real sync
    with suppression and the attacker check takes minutes and is tested with the CLI)."""
    admin_in(monkeypatch, own_home)
    steps: list[tuple[float, str]] = []

    def fake_sync(settings, connector, progress=None, today=None):
        for step in ((0.0, "fetching reports 1-5 of 10"), (0.9, "protecting"), (1.0, "done")):
            progress(*step)
            steps.append(step)
        assert settings.home == own_home and connector == "connector for sample"
        return SyncReport(7, "sample", 10, 1234, 0, 0, 0, 1.5, {"k": 10, "cells": 99})

    monkeypatch.setattr("kanon.ui.admin_panels.sync", fake_sync)
    monkeypatch.setattr(
        "kanon.ui.admin_panels.make_connector", lambda s, source: f"connector for {source}"
    )
    at = support.open_page("admin")
    at.button(key="sync_now").click().run()
    assert not at.exception and not at.error
    assert [s for _, s in steps][-1] == "done"
    assert at.success[0].value.startswith("sync 7 from sample: 10 reports, 1234 rows")
    last = log.read(own_home / "access.log")[-1]
    assert (last["action"], last["report"]) == ("sync", "sample")


def test_stale_data_is_flagged_on_every_page(monkeypatch, own_home):
    admin_in(monkeypatch, own_home)
    old = datetime.now() - timedelta(hours=100)
    with duckdb.connect(str(own_home / "kanon.duckdb")) as con:
        con.execute("UPDATE syncs SET finished_at = ?", [old])
    for page in (None, "sources", "privacy", "admin"):
        at = support.open_page(page)
        assert any("out of date" in w.value for w in at.warning), page


def test_no_release_yet_tells_the_admin_what_to_run(monkeypatch, empty_home):
    empty_home.mkdir()
    monkeypatch.setenv("KANON_HOME", str(empty_home))
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    for page in (None, "sources", "admin"):
        at = support.open_page(page)
        assert any("kanon sync --source sample" in i.value for i in at.info), page
        assert not support.figures(at)


@pytest.mark.parametrize(("retention", "ok"), [("FOURTEEN_MONTHS", True), ("TWO_MONTHS", False)])
def test_admin_checks_the_ga4_property_through_the_admin_api(
    as_identity, home, tmp_path, monkeypatch, retention, ok
):
    import json

    from connectors.sample import SampleConnector
    from tests.emulator.ga4_emulator import GA4Emulator, service_account_key

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with GA4Emulator(SampleConnector(scale=0.05), data_retention=retention) as emulator:
        key, _ = service_account_key(emulator.token_uri)
        key_path = tmp_path / "key.json"
        key_path.write_text(json.dumps(key), encoding="utf-8")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_path))
        monkeypatch.setenv("KANON_GA4_PROPERTY", emulator.property_id)
        monkeypatch.setenv("KANON_GA4_ENDPOINT", emulator.endpoint)
        as_identity(support.ADMIN_ID)
        at = support.open_page("admin")
        at.button(key="check_property").click().run()
    assert not at.exception
    shown = at.success if ok else at.error
    assert len(shown) == 1
    text = shown[0].value.replace("\\", "")  # Markdown escapes of the API's text
    assert "Result: OK" in text if ok else "Result: NOT OK" in text
