"""The accounts file: one SQLite database under KANON_HOME for accounts, sessions, attempts,
and the e-mailed summaries (who gets which, and each one sent).

SQLite (Python's own) because the dashboard and `kanon users` write it from separate processes
at any time, and it takes turns on the file safely; the statistics store is a separate file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from kanon.errors import KanonError

# Each step brings the file one version up; PRAGMA user_version records where it stands. A
# file written before versions existed is at 0 and the steps hold for it too (IF NOT EXISTS):
# whatever tables it had, it ends with all of them. Append a step to change the schema (a new
# table is one line); never edit or reorder one a released Kanon has run.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "accounts, sessions and failed sign-ins",
        """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,          -- a local user name, or an email for OpenID Connect
    kind TEXT NOT NULL CHECK (kind IN ('local', 'oidc')),
    password_hash TEXT,             -- argon2id; NULL for OpenID Connect accounts
    roles TEXT NOT NULL DEFAULT '', -- comma-separated, from access.roles.ROLES
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,    -- sha256 of the token; the token itself is never stored
    account TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT NOT NULL,              -- 'account:<name tried>' or 'address:<client address>'
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_key ON failures (key, at);
""",
    ),
    (
        "throttled sign-ins are logged once per window",
        """
CREATE TABLE IF NOT EXISTS throttle_notes (
    key TEXT PRIMARY KEY,           -- a throttled key whose refusal was logged
    at REAL NOT NULL                -- when: logged again only once the window has passed
);
""",
    ),
    (
        "sign-in tickets and OpenID Connect sign-ins (kanon.access.sessions)",
        """
CREATE TABLE IF NOT EXISTS session_tickets (
    ticket_hash TEXT PRIMARY KEY,  -- sha256 of the one-time ticket
    token_hash TEXT NOT NULL,      -- the session it sets the cookie for
    next TEXT NOT NULL,            -- where the browser goes afterwards (a path on Kanon)
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS oidc_signins (
    key_hash TEXT PRIMARY KEY,     -- sha256 of the identity cookie's claims
    account TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    ended_at REAL,                 -- NULL while open
    reason TEXT                    -- why it ended: idle, lifetime, signed-out, disabled
);
""",
    ),
    (
        "e-mail addresses and summary subscriptions and sends (kanon.summaries)",
        """
CREATE TABLE IF NOT EXISTS account_emails (
    account TEXT PRIMARY KEY REFERENCES accounts(name) ON DELETE CASCADE,
    email TEXT NOT NULL,            -- a local account's address (OpenID Connect names are emails)
    changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS summary_subscriptions (
    account TEXT NOT NULL,          -- no foreign key: rows outlive their account, checked at send
    cadence TEXT NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    subscribed_at REAL NOT NULL,    -- no summary of a period older than the last one by then
    account_created_at REAL NOT NULL, -- an account removed and added again is a new one
    PRIMARY KEY (account, cadence)
);
CREATE TABLE IF NOT EXISTS summary_sends (
    account TEXT NOT NULL,
    cadence TEXT NOT NULL,
    period TEXT NOT NULL,           -- the period's first day, YYYY-MM-DD
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,                     -- the last failure, as the mail server or network gave it
    changed_at REAL NOT NULL,
    PRIMARY KEY (account, cadence, period)
);
""",
    ),
    (
        "the account's own choice of language (kanon.access.preferences)",
        """
CREATE TABLE IF NOT EXISTS account_preferences (
    account TEXT PRIMARY KEY REFERENCES accounts(name) ON DELETE CASCADE,
    language TEXT NOT NULL          -- kanon.i18n.LANGUAGES: the dashboard's language
);
""",
    ),
]
VERSION = len(MIGRATIONS)


class AccountsFileError(KanonError, RuntimeError):
    """The accounts file is newer than this Kanon knows."""


def version(con: sqlite3.Connection) -> int:
    # fetchall, not fetchone: a statement left unfinished keeps its read lock, and the
    # BEGIN IMMEDIATE that follows would then fail at once ("database is locked") whenever
    # another process is committing, instead of waiting its turn (twenty sign-ins at once).
    ((found,),) = con.execute("PRAGMA user_version").fetchall()
    return int(found)


def migrate(con: sqlite3.Connection, path: Path) -> list[str]:
    """Bring the file to `VERSION` in one transaction (BEGIN IMMEDIATE: a second process
    waits, then finds it done); refuse a newer file. Returns the steps run."""
    if version(con) == VERSION:
        return []
    con.execute("BEGIN IMMEDIATE")
    try:
        found = version(con)
        if found > VERSION:
            raise AccountsFileError(
                f"The accounts file {path} has schema version {found}, newer than this Kanon "
                f"knows ({VERSION}): a newer Kanon wrote it. Upgrade Kanon (install the newer "
                "release into this venv) and run the command again; nothing was changed."
            )
        steps = MIGRATIONS[found:]
        for _, script in steps:
            for statement in _statements(script):
                con.execute(statement)
        con.execute(f"PRAGMA user_version = {VERSION}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return [what for what, _ in steps]


def _statements(script: str) -> list[str]:
    """`executescript` would commit the transaction first: run each statement in it instead
    (split where SQLite says a statement is complete, so a ';' in a comment splits nothing)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """One transaction on the accounts file, its schema brought to this Kanon's version first:
    committed when the block ends, else rolled back."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():  # password hashes: the owner's alone, whatever the umask
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as con:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA busy_timeout = 30000")
        _write_ahead(con)
        migrate(con, path)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _write_ahead(con: sqlite3.Connection) -> None:
    """Every page run and click takes a turn on this file: in WAL mode a turn is short (a
    commit appends to the log, with no fsync of the file each time: `synchronous = NORMAL`
    keeps the file whole across a crash and may lose only the last commits on a power cut),
    so twenty people signing in at once wait milliseconds, not seconds, for each other. The
    mode stays with the file; the log files get the file's own permissions."""
    ((mode,),) = con.execute("PRAGMA journal_mode").fetchall()
    if mode != "wal":
        # Another process holding the file keeps it in its mode: tried again next time.
        with contextlib.suppress(sqlite3.OperationalError):
            con.execute("PRAGMA journal_mode = WAL").fetchall()
    con.execute("PRAGMA synchronous = NORMAL")


def version_of(path: Path) -> int:
    """The file's schema version without changing it (0 when there is no file yet)."""
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return version(con)


def migrate_file(path: Path) -> list[str]:
    """Migrate the accounts file now (`kanon migrate`); the steps run, none when current."""
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as con:
        con.execute("PRAGMA busy_timeout = 10000")
        return migrate(con, path)
