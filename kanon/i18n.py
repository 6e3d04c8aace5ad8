"""Kanon's words in Norwegian Bokmål and English: gettext over the catalogs in `kanon/locale/`.

Wrap a text meant for people in `_()`, with named placeholders filled afterwards, so a
translator sees the whole sentence and may reorder it:

    _("{count} cells withheld").format(count=n)
    ngettext("{count} week", "{count} weeks", n).format(count=n)

A text defined before any language is known (a constant, a registry's label) is marked with
`N_()` and translated where it is shown: `_(TITLE)`. `docs/translations.md` has the commands
that extract the texts and update the catalogs.

The `.po` files are the only form kept: each is compiled in memory the first time its language
is used in a process (`translations`), so no compiled `.mo` can drift from its source. The
current language belongs to one script run (a `ContextVar`, set by `use` at the start of the
run); outside a run (the CLI, the sync) it is English, the language the texts are written in.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from babel.messages import mofile, pofile
from babel.numbers import format_decimal

LANGUAGES = ("nb", "en")  # the languages Kanon speaks; the first is the default setting's
SOURCE_LANGUAGE = "en"  # the language of the texts in the code
NAMES = {"nb": "Norsk bokmål", "en": "English"}  # each language in its own words
# Babel's locale per language. Norwegian needs its region: bare `nb` counts weeks the US way
# (1 January 2027 in week 1), `nb_NO` by ISO 8601 (week 53 of 2026), as Kanon's weeks are.
# English is British for the same reason (en_US weeks start on Sunday and are not ISO) and
# because the English texts write dates day first ("Mon 7 Dec 2026").
LOCALES = {"nb": "nb_NO", "en": "en_GB"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kanon"

_language: ContextVar[str] = ContextVar("kanon_language", default=SOURCE_LANGUAGE)


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalog, read from its `.po` and compiled once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; Kanon speaks {', '.join(LANGUAGES)}.")
    with catalog_path(language).open("rb") as source:
        catalog = pofile.read_po(source, locale=LOCALES[language])
    compiled = io.BytesIO()
    mofile.write_mo(compiled, catalog)  # fuzzy entries are left out: they are not translations
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def use(language: str) -> None:
    """Speak `language` for the rest of this script run (or thread)."""
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; Kanon speaks {', '.join(LANGUAGES)}.")
    _language.set(language)


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak `language` inside the block (an e-mail in its recipient's language), then the
    language spoken before."""
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; Kanon speaks {', '.join(LANGUAGES)}.")
    token = _language.set(language)
    try:
        yield
    finally:
        _language.reset(token)


def language() -> str:
    return _language.get()


def locale() -> str:
    """Babel's locale for the current language's numbers and dates."""
    return LOCALES[_language.get()]


def _(message: str) -> str:
    """`message` in the current language (itself when the catalog has no translation)."""
    if not message:
        return message  # gettext("") is the catalog's header
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for `count`, in the current language."""
    return translations(_language.get()).ngettext(singular, plural, count)


def bound() -> Callable[[str], str]:
    """The current language's `_`, fixed now: for a widget's `format_func`, which Streamlit's
    AppTest also calls outside the run (where the current language is not the page's)."""
    language = _language.get()
    return lambda message: translations(language).gettext(message) if message else message


def number(value: float, places: int = 0, grouped: bool = True) -> str:
    """`12 843` / `12,843`; `2,11` / `2.11`: the current locale's marks, at `places` decimals
    (for the pages, through `kanon.ui.format`, and for the e-mails alike)."""
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * places if places else "")
    return format_decimal(value, pattern, locale=locale(), decimal_quantization=True)


def N_(message: str) -> str:
    """Marks a text for extraction; it is translated where it is shown, with `_()`."""
    return message


def from_tag(tag: str | None) -> str | None:
    """Kanon's language for a browser's language tag (`nb-NO`, `no`, `en-US`), if it speaks it.

    Norwegian readers of Nynorsk and unspecified Norwegian read Bokmål better than English."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].lower()
    if primary in ("nb", "no", "nn"):
        return "nb"
    return primary if primary in LANGUAGES else None
