"""An account's own choices kept with it in the accounts file: today, its language.

A preference row goes with its account (`ON DELETE CASCADE`); a name with no account (developer
mode, a sign-in the allow-list no longer holds) has no preference and cannot store one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kanon.access.accounts_file import connect
from kanon.errors import KanonError
from kanon.i18n import LANGUAGES


class PreferenceError(KanonError, ValueError):
    """A preference that cannot be kept: an unknown language, or no such account."""


def language(path: Path, account: str) -> str | None:
    """The language `account` chose, or None when it chose none (or the file does not exist)."""
    if not account or not path.exists():
        return None
    with connect(path) as con:
        row = con.execute(
            "SELECT language FROM account_preferences WHERE account = ?", (account,)
        ).fetchone()
    chosen = row["language"] if row else None
    return chosen if chosen in LANGUAGES else None


def set_language(path: Path, account: str, chosen: str) -> None:
    """Keep `chosen` as `account`'s language (one statement: a concurrent choice simply wins)."""
    if chosen not in LANGUAGES:
        raise PreferenceError(f"Unknown language {chosen!r}; choose one of {', '.join(LANGUAGES)}.")
    try:
        with connect(path) as con:
            con.execute(
                "INSERT INTO account_preferences (account, language) VALUES (?, ?) "
                "ON CONFLICT (account) DO UPDATE SET language = excluded.language",
                (account, chosen),
            )
    except sqlite3.IntegrityError as error:
        raise PreferenceError(
            f"No account {account!r} to keep a language for; it was removed or never added."
        ) from error
