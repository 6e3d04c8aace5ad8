"""The Admin page's access log: a page at a time from the file's end, malformed lines counted."""

from __future__ import annotations

from datetime import date, timedelta

from streamlit.testing.v1 import AppTest

from kanon.access import log


def _section() -> None:
    from kanon.access.roles import developer_identity
    from kanon.settings import load_settings
    from kanon.ui import people

    people.access_log_section(load_settings(), developer_identity())


def _write(path, count: int) -> None:
    today = date.today()
    path.write_text(
        "".join(
            f'{{"at": "{today - timedelta(days=1)}T10:00:00+00:00", "who": "u{number}", '
            '"action": "view"}\n'
            for number in range(count)
        ),
        encoding="utf-8",
    )


def test_the_log_is_shown_a_page_at_a_time_and_malformed_lines_are_counted(tmp_path, monkeypatch):
    for name in ("KANON_SETTINGS", "KANON_DEVELOPER_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KANON_HOME", str(tmp_path))
    path = tmp_path / "access.log"
    _write(path, 450)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-12-0')  # half a line: the disk filled up
    log.event(path, "ada", log.SIGN_IN)
    at = AppTest.from_function(_section, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[0].value
    assert len(shown) == 200 and shown["who"].iloc[0] == "ada"
    assert "1 line(s)" in at.warning[0].value
    at.number_input(key="log_page").set_value(3).run()
    assert not at.exception
    last = at.dataframe[0].value
    assert len(last) == 51 and last["who"].iloc[-1] == "u0"
