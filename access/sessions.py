"""Signed-in sessions: a random token held by the server's session, checked on every run.

The dashboard keeps only the token; the account and its roles are read from the allow-list on
every interaction, so a removed or disabled account, or changed roles, take effect at the next
click. A session idle for longer than the timeout is over. Tokens are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from access import db
from access.accounts import Account, account_from_row

TOUCH_EVERY = 15.0  # seconds: how stale last_seen may get before it is written again


@dataclass(frozen=True)
class Lookup:
    """What a token is worth now: the account, or why there is none."""

    account: Account | None
    expired: bool = False  # the session existed but was idle for too long
    expired_for: str = ""  # whose session that was


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, path: Path, idle_seconds: float) -> None:
        self.path = Path(path)
        self.idle_seconds = idle_seconds

    def open(self, account: Account, now: float | None = None) -> str:
        """A new session for `account`; the returned token is the only copy."""
        token = secrets.token_urlsafe(32)
        at = time.time() if now is None else now
        with db.connect(self.path) as con:
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)", (_hash(token), account.name, at, at)
            )
            # Forget sessions nobody can use again.
            con.execute("DELETE FROM sessions WHERE last_seen < ?", (at - self.idle_seconds,))
        return token

    def lookup(self, token: str | None, now: float | None = None) -> Lookup:
        """The account behind `token` if its session is open, and note the activity."""
        if not token or not isinstance(token, str):
            return Lookup(None)
        at = time.time() if now is None else now
        key = _hash(token)
        with db.connect(self.path) as con:
            row = con.execute(
                "SELECT s.last_seen, a.name, a.kind, a.roles, a.disabled FROM sessions s "
                "JOIN accounts a ON a.name = s.account WHERE s.token_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return Lookup(None)
            if at - row["last_seen"] > self.idle_seconds:
                con.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
                return Lookup(None, expired=True, expired_for=row["name"])
            if row["disabled"]:
                con.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
                return Lookup(None)
            if at - row["last_seen"] > TOUCH_EVERY:
                con.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (at, key))
        return Lookup(account_from_row(row))

    def close(self, token: str | None) -> None:
        if token:
            with db.connect(self.path) as con:
                con.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))
