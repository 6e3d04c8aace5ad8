"""The accounts file: one SQLite database under KANON_HOME for accounts, sessions, attempts,
and the e-mailed summaries (who gets which, and each one sent).

SQLite (Python's own) because the dashboard and `kanon users` write it from separate processes
at any time, and it takes turns on the file safely; the statistics store is a separate file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS throttle_notes (
    key TEXT PRIMARY KEY,           -- a throttled key whose refusal was logged
    at REAL NOT NULL                -- when: logged again only once the window has passed
);
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
"""


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """One transaction on the accounts file: committed when the block ends, else rolled back."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():  # password hashes: the owner's alone, whatever the umask
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as con:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA busy_timeout = 10000")
        con.executescript(SCHEMA)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
