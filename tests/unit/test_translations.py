"""The catalogs against the code, and the reader's numbers and dates (docs/translations.md).

The catalogs are parsed with Babel and compared with a fresh extraction, as `pybabel extract`
makes it from `babel.cfg` with the keywords the documented command gives.
"""

from __future__ import annotations

import re
import sqlite3
import string
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kanon import i18n
from kanon.access import preferences
from kanon.access.accounts import Accounts
from kanon.ui import figures, format
from reports import charts

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = ROOT / "docs" / "translations.md"


def documented_keywords() -> dict[str, tuple[int, ...]]:
    """The `-k NAME:ARG` keywords of the extraction command in docs/translations.md."""
    text = DOCUMENTED.read_text(encoding="utf-8")
    command = next(line for line in text.splitlines() if "pybabel extract" in line)
    return {name: (int(arg),) for name, arg in re.findall(r"-k (\w+):(\d+)", command)}


def extracted() -> set[str | tuple[str, str]]:
    """Every message in the code, freshly extracted."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    keywords = {**DEFAULT_KEYWORDS, **documented_keywords()}
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def catalog(language: str):
    with i18n.catalog_path(language).open("rb") as source:
        return read_po(source, locale=i18n.LOCALES[language])


def ids(language: str) -> set[str | tuple[str, str]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog(language) if m.id}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_documented_command_extracts_the_registries_labels():
    assert documented_keywords() == {"Figure": (2,), "Breakdown": (2,), "Promise": (1,)}
    messages = extracted()
    assert {"Visitors", "Page views", "Browsers", "Operating systems"} <= messages
    assert "Nothing is shared with Google or anyone else." in messages  # a policy promise


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_catalog_holds_exactly_the_messages_in_the_code(language):
    in_code, in_catalog = extracted(), ids(language)
    assert not in_code - in_catalog, f"not in the {language} catalog: run the update command"
    assert not in_catalog - in_code, f"obsolete in the {language} catalog"


def test_every_norwegian_message_is_translated_with_the_same_placeholders():
    problems = []
    for message in catalog("nb"):
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(("fuzzy", message.id))
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        targets = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(targets):
            problems.append(("untranslated", message.id))
            continue
        for target in targets:
            if placeholders(target) != placeholders(sources[0]):
                problems.append(("placeholders", message.id, target))
    assert not problems, problems


def test_the_catalog_answers_and_falls_back_to_english():
    i18n.use("nb")
    try:
        assert i18n._("Overview") == "Oversikt"
        assert i18n._("a text nobody translated") == "a text nobody translated"
        assert i18n.ngettext("{count} week", "{count} weeks", 3).format(count=3) == "3 uker"
    finally:
        i18n.use("en")
    assert i18n._("Overview") == "Overview"
    assert i18n.translations("nb") is i18n.translations("nb")  # compiled once per process


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("nb-NO", "nb"),
        ("no", "nb"),
        ("nn-NO", "nb"),
        ("en-US", "en"),
        ("de-DE", None),
        (None, None),
    ],  # noqa: E501
)
def test_a_browsers_language_tag_picks_a_language(tag, language):
    assert i18n.from_tag(tag) == language


def test_norwegian_numbers_and_dates_follow_sprakradet():
    i18n.use("nb")
    try:
        assert format.figure(12843, "sessions") == "12\u00a0843"
        assert format.figure(2.109, "views_per_session") == "2,11"
        assert format.figure(67.94, "engagement_rate") == "67,9\u00a0%"
        assert format.change(-2.25) == "-2,2\u00a0%"  # the card's delta keeps an ASCII sign
        assert format.day(date(2026, 12, 7)) == "man. 7. des. 2026"
        assert format.week(date(2026, 12, 7)) == "uke 50"
        assert format.week(date(2027, 1, 1)) == "uke 53"  # ISO: week 53 of 2026, not week 1
        assert format.month(date(2026, 12, 1)) == "des. 2026"
        assert format.moment(datetime(2026, 12, 7, 6, 5)) == "7. des. 2026 kl. 06:05"
        assert format.periods(3, "week") == "3 hele uker"
        assert format.kpi_label("users", "week") == "Besøkende per uke (gjennomsnitt)"
    finally:
        i18n.use("en")


def test_english_numbers_and_dates_count_iso_weeks_too():
    assert format.figure(12843, "sessions") == "12,843"
    assert format.figure(2.109, "views_per_session") == "2.11"
    assert format.day(date(2026, 12, 7)) == "Mon 7 Dec 2026"
    assert format.week(date(2027, 1, 1)) == "week 53"
    assert format.periods(1, "day") == "1 whole day"


def test_a_norwegian_chart_has_norwegian_marks_titles_and_periods():
    import pandas as pd

    i18n.use("nb")
    try:
        periods = pd.to_datetime(["2026-11-30", "2026-12-07"])
        trend = pd.DataFrame({"period": periods, "sessions": [12843.0, 9000.0]})
        trend["status"] = "published"
        chart = charts.site_trend_chart(trend, "sessions", "week", words=figures.wording("nb"))
    finally:
        i18n.use("en")
    assert chart.layout.separators == ",\u00a0"  # decimal comma, then a no-break space
    assert chart.layout.title.text == "Besøk per uke"
    assert list(chart.layout.xaxis.ticktext) == ["uke 49", "uke 50"]
    assert chart.data[0].name == "Valgt periode"


def test_an_accounts_language_is_kept_with_it_and_goes_with_it(tmp_path):
    path = tmp_path / "accounts.sqlite"
    accounts = Accounts(path)
    accounts.add_local("ana", ["analyst"], "a long enough passphrase 1")
    assert preferences.language(path, "ana") is None
    preferences.set_language(path, "ana", "en")
    preferences.set_language(path, "ana", "nb")
    assert preferences.language(path, "ana") == "nb"
    with pytest.raises(preferences.PreferenceError, match="Unknown language"):
        preferences.set_language(path, "ana", "de")
    with pytest.raises(preferences.PreferenceError, match="No account 'bob'"):
        preferences.set_language(path, "bob", "nb")
    accounts.remove("ana")
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM account_preferences").fetchone() == (0,)
