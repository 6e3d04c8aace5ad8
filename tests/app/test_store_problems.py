"""A locked or damaged store in the browser: Kanon's message and what to do, after a short
wait, and no number (nor a raw traceback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kanon.access.roles import ROLES, Identity
from tests.app import support

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def own_home(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy(home / "kanon.duckdb", copy / "kanon.duckdb")
    for name in ("KANON_SETTINGS", "KANON_K", "KANON_DEVELOPER_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(copy))
    monkeypatch.chdir(copy.parent)
    everyone = Identity("ada@example.com", frozenset(ROLES))  # every page, not developer mode
    monkeypatch.setattr("kanon.ui.context.identity", lambda settings: everyone)
    from kanon.ui import data

    data.forget()
    data._release.clear()
    return copy


def _shows_the_message(at, *words: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, support.all_text(at)
    text = at.error[0].value
    assert all(word in text for word in words), text
    assert not at.metric and not support.figures(at)


@pytest.mark.parametrize("page", [None, "admin", "sources"])
def test_a_damaged_store_says_so_and_what_to_do(own_home, page):
    (own_home / "kanon.duckdb").write_bytes(os.urandom(50_000))
    at = support.open_page_alone(page) if page else _dashboard()
    _shows_the_message(at, "damaged", "kanon restore", "new KANON_HOME")


def test_a_locked_store_says_so_after_a_short_wait(own_home):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(own_home / "kanon.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        at = _dashboard()
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    _shows_the_message(at, "in use by another program", "wait")
    assert waited < 10  # one short wait, not 15 s for every connection the page opens


def test_developer_mode_over_a_damaged_store_refuses_with_the_message(own_home, monkeypatch):
    (own_home / "kanon.duckdb").write_bytes(os.urandom(50_000))
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    monkeypatch.undo()  # the real identity: developer mode's own check
    monkeypatch.setenv("KANON_HOME", str(own_home))
    monkeypatch.setenv("KANON_DEVELOPER_MODE", "1")
    at = _dashboard()
    _shows_the_message(at, "will not start in developer mode", "damaged")


def _dashboard():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT).run()
