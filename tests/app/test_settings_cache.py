"""The dashboard reads its settings once per change of their sources, not on every rerun, and
still sees every change: a KANON_ variable, or the settings file rewritten."""

from __future__ import annotations

import os

import pytest

from kanon.ui import context


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("KANON_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_changed_variable_is_read(clean, monkeypatch):
    monkeypatch.setenv("KANON_K", "12")
    first = context.settings_or_stop()
    assert first.k == 12 and context.settings_or_stop() is first  # read once
    monkeypatch.setenv("KANON_K", "13")
    assert context.settings_or_stop().k == 13


def test_a_rewritten_settings_file_is_read(clean):
    settings = clean / "kanon.toml"
    settings.write_text("k = 14\n", encoding="utf-8")
    assert context.settings_or_stop().k == 14
    settings.write_text("k = 15\n", encoding="utf-8")
    stamp = settings.stat().st_mtime_ns + 1_000_000_000
    os.utime(settings, ns=(stamp, stamp))  # a later modification time, however fast the disk
    assert context.settings_or_stop().k == 15
