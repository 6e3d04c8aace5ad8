"""app.py's start-up work: the release is loaded before the first visitor's page asks for it."""

from __future__ import annotations

from kanon.store import releases
from kanon.ui import context, data, startup


def test_the_release_is_loaded_once_at_start_up_and_served_from_the_cache(dev, monkeypatch):
    data._release.clear()
    data.release_info.clear()
    loads = []
    real = releases.current_at
    monkeypatch.setattr(releases, "current_at", lambda store: loads.append(store) or real(store))
    startup.warm_up()
    assert len(loads) == 1
    release = data.current_release(context.current_settings())
    assert release is not None and release.info["cells"] > 0
    assert len(loads) == 1  # the first page found it loaded


def test_a_bad_setting_is_left_for_the_page_to_report(dev, monkeypatch):
    monkeypatch.setenv("KANON_K", "1")
    startup.warm_up()  # no exception: the page names the setting (test_app.py)
