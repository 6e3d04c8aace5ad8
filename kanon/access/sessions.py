"""Signed-in sessions: the server-side truth behind every page run and every download click.

A local sign-in is a random token. The dashboard keeps it in the browser only as an HttpOnly
cookie (set by Kanon's own server, see `app.py`), and this module keeps only its hash; every
run and every click looks it up again, so an idle, too old, removed or disabled session is over
at the next click. The cookie is set through a one-time ticket: the page that signed someone in
asks for a ticket, sends the browser to Kanon's `/auth/session?ticket=...`, and redeeming the
ticket there replaces the session's token with a new one that only the cookie holds.

An OpenID Connect sign-in lives in Streamlit's own identity cookie (30 days). Kanon keeps a
record per provider sign-in, keyed by a hash of that cookie's claims, and never forgets an
ended one while the cookie could still be shown: a reload, or someone else signing in, cannot
turn "this sign-in is over" into "never seen: open a new one".

No Streamlit here: `kanon.ui.context` hands over the token or the key.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from kanon.access import accounts_file
from kanon.access.accounts import Account, account_from_row

TOUCH_EVERY = 15.0  # seconds: how stale last_seen may get before it is written again
DEFAULT_LIFETIME = 12 * 3600.0  # seconds; settings.session_lifetime_hours decides
LONGEST_IDLE = 24 * 3600.0  # the longest idle_timeout_minutes allows
LONGEST_LIFETIME = 30 * 24 * 3600.0  # the longest session_lifetime_hours allows
TICKET_SECONDS = 60.0  # a sign-in ticket must be redeemed this soon, and only once
# Streamlit's identity cookie lasts 30 days: an OpenID Connect sign-in is remembered longer.
OIDC_REMEMBER = 32 * 24 * 3600.0

IDLE, LIFETIME, DISABLED, SIGNED_OUT, UNKNOWN = (
    "idle",
    "lifetime",
    "disabled",
    "signed-out",
    "unknown",
)


@dataclass(frozen=True)
class Lookup:
    """What a token is worth now: the account, or why there is none."""

    account: Account | None
    expired: bool = False  # the session existed but ran out (idle or too old)
    expired_for: str = ""  # whose session that was
    reason: str = ""  # IDLE, LIFETIME, DISABLED, SIGNED_OUT or UNKNOWN when there is no account


@dataclass(frozen=True)
class OidcVisit:
    """An OpenID Connect sign-in as it stands: new, open, or ended (and why)."""

    new: bool = False
    ended: str | None = None
    just_ended: bool = False  # it ended at this visit (log it once)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def oidc_key(claims: Mapping) -> str:
    """The key of one provider sign-in: its identity cookie's claims (iat, nonce, ...) hashed.
    The same cookie always gives the same key; a new sign-in gives a new one."""
    return _hash(json.dumps(dict(claims), sort_keys=True, default=str))


def safe_next(path: str | None) -> str:
    """A path on this server to go back to, never another site's address."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x21 for c in path) or "\\" in path:
        return "/"
    return path


class Sessions:
    def __init__(
        self, path: Path, idle_seconds: float, lifetime_seconds: float = DEFAULT_LIFETIME
    ) -> None:
        self.path = Path(path)
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return accounts_file.connect(self.path)

    # --- local sessions ---------------------------------------------------------------

    def open(self, account: Account, now: float | None = None) -> str:
        """A new session for `account`; the returned token is the only copy."""
        token = secrets.token_urlsafe(32)
        at = time.time() if now is None else now
        with self._connect() as con:
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)", (_hash(token), account.name, at, at)
            )
            # Forget sessions nobody can use again, whatever the settings say.
            con.execute(
                "DELETE FROM sessions WHERE last_seen < ? OR created_at < ?",
                (at - LONGEST_IDLE, at - LONGEST_LIFETIME),
            )
        return token

    def lookup(self, token: str | None, now: float | None = None) -> Lookup:
        """The account behind `token` if its session is open, and note the activity."""
        if not token or not isinstance(token, str):
            return Lookup(None, reason=UNKNOWN)
        at = time.time() if now is None else now
        with self._connect() as con:
            return self._lookup(con, _hash(token), at)

    def _lookup(self, con: sqlite3.Connection, key: str, at: float) -> Lookup:
        row = con.execute(
            "SELECT s.created_at, s.last_seen, a.name, a.kind, a.roles, a.disabled "
            "FROM sessions s JOIN accounts a ON a.name = s.account WHERE s.token_hash = ?",
            (key,),
        ).fetchone()
        if row is None:
            return Lookup(None, reason=UNKNOWN)
        reason = None
        if at - row["last_seen"] > self.idle_seconds:
            reason = IDLE
        elif at - row["created_at"] > self.lifetime_seconds:
            reason = LIFETIME
        elif row["disabled"]:
            reason = DISABLED
        if reason is not None:
            con.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
            expired = reason in (IDLE, LIFETIME)
            return Lookup(None, expired=expired, expired_for=row["name"], reason=reason)
        if at - row["last_seen"] > TOUCH_EVERY:
            con.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (at, key))
        return Lookup(account_from_row(row))

    def close(self, token: str | None) -> None:
        if token:
            with self._connect() as con:
                con.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))

    # --- the cookie's one-time ticket -------------------------------------------------

    def ticket(self, token: str, next_path: str = "/", now: float | None = None) -> str:
        """A one-time ticket that lets Kanon's server set `token`'s session as a cookie."""
        ticket = secrets.token_urlsafe(32)
        at = time.time() if now is None else now
        with self._connect() as con:
            con.execute("DELETE FROM session_tickets WHERE expires_at < ?", (at,))
            con.execute(
                "INSERT INTO session_tickets VALUES (?, ?, ?, ?)",
                (_hash(ticket), _hash(token), safe_next(next_path), at + TICKET_SECONDS),
            )
        return ticket

    def redeem(self, ticket: str | None, now: float | None = None) -> tuple[str, str] | None:
        """(a new token for the ticket's session, where to go next), or None. The ticket is
        spent whatever happens, and the session's old token stops working."""
        if not ticket or not isinstance(ticket, str):
            return None
        at = time.time() if now is None else now
        with self._connect() as con:
            row = con.execute(
                "SELECT token_hash, next, expires_at FROM session_tickets WHERE ticket_hash = ?",
                (_hash(ticket),),
            ).fetchone()
            if row is None:
                return None
            con.execute("DELETE FROM session_tickets WHERE ticket_hash = ?", (_hash(ticket),))
            if row["expires_at"] < at or self._lookup(con, row["token_hash"], at).account is None:
                return None
            token = secrets.token_urlsafe(32)
            con.execute(
                "UPDATE sessions SET token_hash = ?, last_seen = ? WHERE token_hash = ?",
                (_hash(token), at, row["token_hash"]),
            )
        return token, safe_next(row["next"])

    # --- OpenID Connect sign-ins ------------------------------------------------------

    def oidc_visit(
        self, key: str, name: str, issued_at: float | None = None, now: float | None = None
    ) -> OidcVisit:
        """Note a run of the OpenID Connect sign-in `key` (see `oidc_key`) by account `name`."""
        at = time.time() if now is None else now
        with self._connect() as con:
            con.execute("DELETE FROM oidc_signins WHERE created_at < ?", (at - OIDC_REMEMBER,))
            row = con.execute("SELECT * FROM oidc_signins WHERE key_hash = ?", (key,)).fetchone()
            if row is None:
                too_old = issued_at is not None and at - issued_at > self.lifetime_seconds
                ended_at, reason = (at, LIFETIME) if too_old else (None, None)
                con.execute(
                    "INSERT INTO oidc_signins VALUES (?, ?, ?, ?, ?, ?)",
                    (key, name, at, at, ended_at, reason),
                )
                return OidcVisit(ended=reason, just_ended=True) if too_old else OidcVisit(new=True)
            was_open = row["ended_at"] is None
            ended = self._oidc_state(con, row, name, at)
            return OidcVisit(ended=ended, just_ended=was_open and ended is not None)

    def oidc_check(self, key: str | None, name: str, now: float | None = None) -> str | None:
        """At a click: None while the sign-in `key` is open, else why it is not."""
        if not key:
            return UNKNOWN
        at = time.time() if now is None else now
        with self._connect() as con:
            row = con.execute("SELECT * FROM oidc_signins WHERE key_hash = ?", (key,)).fetchone()
            return UNKNOWN if row is None else self._oidc_state(con, row, name, at)

    def _oidc_state(
        self, con: sqlite3.Connection, row: sqlite3.Row, name: str, at: float
    ) -> str | None:
        if row["ended_at"] is not None:
            return row["reason"] or SIGNED_OUT
        if row["account"] != name:
            return UNKNOWN
        reason = None
        if at - row["last_seen"] > self.idle_seconds:
            reason = IDLE
        elif at - row["created_at"] > self.lifetime_seconds:
            reason = LIFETIME
        if reason is not None:
            _end(con, row["key_hash"], reason, at)
            return reason
        if at - row["last_seen"] > TOUCH_EVERY:
            con.execute(
                "UPDATE oidc_signins SET last_seen = ? WHERE key_hash = ?", (at, row["key_hash"])
            )
        return None

    def end_oidc(self, key: str | None, reason: str, now: float | None = None) -> None:
        """The sign-in `key` is over for good (signed out, or its account lost its access)."""
        if key:
            at = time.time() if now is None else now
            with self._connect() as con:
                _end(con, key, reason, at)


def _end(con: sqlite3.Connection, key: str, reason: str, at: float) -> None:
    con.execute(
        "UPDATE oidc_signins SET ended_at = ?, reason = ? WHERE key_hash = ? AND ended_at IS NULL",
        (at, reason, key),
    )
