"""Every text a page shows is translated: the pages rendered in a marked test language.

The marked language is the Norwegian catalog with each translation wrapped in «…». A page is
rendered in it for each role; every visible text (titles, Markdown, captions, messages,
labels, options, tabs, metrics' labels, buttons, table headers, chart titles, legends and
period names) must be marked, or be data: a figure, a date, a category or title from the
release, an account or role name. Anything else was written without `_()` and is listed.
"""

from __future__ import annotations

import gettext
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from babel.messages import mofile
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from kanon import i18n
from kanon.access import log, preferences
from kanon.access.roles import ROLES, Identity
from kanon.sources import SOURCES
from kanon.ui import format, language
from reports import charts
from tests.app import support

MARKED = re.compile(r"«[^«»]*»")
# Data left when the marked parts are taken out: figures, dates (Norwegian, day first, or
# ISO), times, separators and the marks a figure carries.
DATA = re.compile(
    r"^[\s\d.,:;%+\-–−—/·()\u00a0]*$"
    r"|^(\s*(man|tir|ons|tor|fre|lør|søn)\.\s)?\d{1,2}\.\s[a-zæøå]{3,4}\.?(\s\d{4})?\s*$"
    r"|^[a-zæøå]{3,4}\.?\s\d{4}$"
)
# Always data, in every language: the product's name, each language's own name, GA4's names.
# Role, source and access-log action names are data too: the allow-list's, `kanon sync
# --source`'s and the log file's own words, which people type and scripts read.
PROPER = {"Kanon", *i18n.NAMES.values(), "CSV", "GA4"}
SHORTENED = (charts.LEGEND_LABEL, charts.AXIS_LABEL, charts.MAX_LABEL)
ROLES_PAGES = {
    "analyst": (support.ANALYST_ID, ["overview", "top_pages", "sources", "technology",
                                     "countries", "engagement", "privacy"]),
    "manager": (support.MANAGER_ID, ["overview"]),  # the download menu
    "admin": (support.ADMIN_ID, ["admin"]),
}  # fmt: skip


def marked_translations() -> gettext.GNUTranslations:
    """The Norwegian catalog with every translation wrapped in «…» (plural forms too)."""
    with i18n.catalog_path("nb").open("rb") as source:
        catalog = read_po(source, locale="nb_NO")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.string, str):
            message.string = f"«{message.string}»"
        else:
            message.string = tuple(f"«{form}»" for form in message.string)
    compiled = io.BytesIO()
    mofile.write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Norwegian, marked: the browser asks for nb-NO (AppTest's context), the catalog is marked."""
    translations = marked_translations()
    monkeypatch.setattr(i18n, "translations", lambda language: translations)


def release_names(home: Path) -> set[str]:
    """The release's category names and titles, whole and as tables, axes and legends cut them."""
    release = support.release_of(home)
    names = set(release.cells["category"].astype(str)) | set(release.labels.values())
    shortened = {charts.short_label(n, size) for n in names for size in SHORTENED}
    return {n for n in names | shortened | {format.clip(n) for n in names} if n}


def visible_texts(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) of everything the page shows as text."""
    found: list[tuple[str, str]] = []
    for kind in ("title", "header", "subheader", "markdown", "caption",
                 "info", "warning", "error", "success"):  # fmt: skip
        found += [(kind, str(e.value)) for e in getattr(at, kind)]
    found += [("metric", m.label) for m in at.metric]
    found += [("metric help", m.proto.help) for m in at.metric if m.proto.help]
    for kind in ("button", "selectbox", "radio", "multiselect", "text_input", "date_input",
                 "number_input", "expander", "tabs"):  # fmt: skip
        for element in getattr(at, kind):
            found.append((kind, element.label))
            found += [(f"{kind} option", str(o)) for o in getattr(element, "options", [])]
    for element in at.get("download_button"):
        found.append(("download button", element.proto.label))
    for element in at.get("button_group"):  # st.segmented_control
        found += [("segmented control", o.content) for o in element.proto.options]
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        for column in frame.value.columns:
            shown = config.get(f"name:{column}", config.get(str(column), {})).get("label")
            found.append(("table header", shown or str(column)))
        if "«Status»" in frame.value.columns:
            found += [("table status", str(s)) for s in frame.value["«Status»"] if s]
    for figure in support.figures(at):
        found.append(("chart title", support.title(figure)))
        found += [("chart legend", t["name"]) for t in figure["data"] if t.get("name")]
        found += [("chart period", str(t)) for t in figure["layout"]["xaxis"].get("ticktext", [])]
    return [(where, text) for where, text in found if text]


def unmarked(texts: list[tuple[str, str]], data: set[str]) -> list[tuple[str, str]]:
    """The texts that are neither marked nor data."""
    problems = []
    for where, text in texts:
        rest = text
        while MARKED.search(rest):  # «…» nest when a translated text fills another's gap
            rest = MARKED.sub(" ", rest)
        rest = rest.replace("*", "").strip()
        if not rest or DATA.match(rest) or rest in data or rest in PROPER:
            continue
        problems.append((where, text))
    return problems


@pytest.mark.parametrize("role", list(ROLES_PAGES))
def test_every_text_of_every_page_is_translated(role, as_identity, home, marked):
    identity, pages = ROLES_PAGES[role]
    as_identity(identity)
    data = release_names(home) | {identity.email, *ROLES, *SOURCES, *log.KNOWN_ACTIONS}
    problems = []
    at = AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
    at.context = {"locale": "nb-NO"}
    at.run()
    for page in pages:
        at.switch_page(f"kanon/ui/pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        problems += [(page, *p) for p in unmarked(visible_texts(at), data)]
    assert not problems, "\n".join(map(str, problems))


def test_the_sign_in_page_is_translated(locked, marked, monkeypatch, tmp_path):
    from kanon.access.accounts import Accounts

    own = tmp_path / "home"  # an account of its own: the shared home stays without accounts
    Accounts(own / "accounts.sqlite").add_local("ada", ["admin"], "a long enough passphrase 1")
    monkeypatch.setenv("KANON_HOME", str(own))
    at = AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
    at.context = {"locale": "nb-NO"}
    at.run()
    assert at.title[0].value == "«Logg inn i Kanon»"
    assert not unmarked(visible_texts(at), set())


def test_the_checker_catches_an_unwrapped_text():
    texts = [
        ("caption", "«Viser man. 3. nov. – søn. 23. nov. 2026: «3 hele uker»»"),
        ("metric", "12\u00a0843"),
        ("caption", "Dashed: the previous run of periods."),
    ]
    assert unmarked(texts, set()) == [("caption", "Dashed: the previous run of periods.")]


def test_the_browser_the_setting_and_the_accounts_choice_pick_the_language(
    as_identity, home, monkeypatch
):
    """Browser first, then the setting; an account's choice in the sidebar beats both, is kept
    with the account and survives a new browser session."""
    nora = Identity("nora@example.com", frozenset({"analyst"}))
    as_identity(nora)
    try:
        at = AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
        at.context = {"locale": "nb-NO"}
        at.run()
        assert at.title[0].value == "Oversikt"
        assert at.selectbox(key=language.PICKER).value == "nb"

        monkeypatch.setenv("KANON_DEFAULT_LANGUAGE", "nb")
        unknown = AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
        unknown.context = {"locale": "de-DE"}
        assert unknown.run().title[0].value == "Oversikt"  # the setting decides

        at.selectbox(key=language.PICKER).set_value("en").run()
        assert at.title[0].value == "Overview"
        accounts = home / "accounts.sqlite"
        assert preferences.language(accounts, nora.email) == "en"

        later = AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
        later.context = {"locale": "nb-NO"}
        assert later.run().title[0].value == "Overview"  # the account's choice wins
    finally:
        with sqlite3.connect(home / "accounts.sqlite") as con:
            con.execute("DELETE FROM account_preferences WHERE account = ?", (nora.email,))
