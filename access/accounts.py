"""The allow-list: local accounts and OpenID Connect identities, each with its roles.

One list decides roles for both kinds of identity. Local accounts sign in with a password
(hashed with argon2id, never stored, logged or echoed in plain text); OpenID Connect accounts,
named by email, may sign in only through the provider. Anyone not listed holds no role.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from access import db
from access.roles import ADMIN, ROLES, RoleError

LOCAL, OIDC = "local", "oidc"
MIN_PASSWORD_LENGTH = 12
LOCAL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_HASHER = PasswordHasher()
# Verified when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")


class AccountError(ValueError):
    """An account request that cannot be carried out; the message says why and what to do."""


@dataclass(frozen=True)
class Account:
    name: str
    kind: str
    roles: frozenset[str]
    disabled: bool = False

    @property
    def active_roles(self) -> frozenset[str]:
        return frozenset() if self.disabled else self.roles


def normalise(name: str) -> str:
    return name.strip().lower()


def password_problem(name: str, password: str) -> str | None:
    """Why a password is too weak, or None if it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if password.strip().lower() == normalise(name):
        return "A password must not be the account's name."
    return None


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(role.strip().lower() for role in roles)
    unknown = chosen - set(ROLES)
    if unknown:
        raise RoleError(
            f"Unknown role(s) {', '.join(sorted(unknown))}; roles are: {', '.join(sorted(ROLES))}."
        )
    return chosen


class Accounts:
    """The allow-list in KANON_HOME's accounts file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # --- reading -------------------------------------------------------------------------

    def get(self, name: str) -> Account | None:
        with db.connect(self.path) as con:
            row = con.execute(
                "SELECT name, kind, roles, disabled FROM accounts WHERE name = ?",
                (normalise(name),),
            ).fetchone()
        return account_from_row(row) if row else None

    def all(self) -> list[Account]:
        with db.connect(self.path) as con:
            rows = con.execute("SELECT name, kind, roles, disabled FROM accounts ORDER BY name")
            return [account_from_row(row) for row in rows.fetchall()]

    def is_empty(self) -> bool:
        with db.connect(self.path) as con:
            return con.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is None

    def has_admin(self) -> bool:
        return any(ADMIN in account.active_roles for account in self.all())

    def verify_password(self, name: str, password: str) -> Account | None:
        """The local account if `password` is its password, else None (in the same time)."""
        with db.connect(self.path) as con:
            row = con.execute(
                "SELECT name, kind, roles, disabled, password_hash FROM accounts "
                "WHERE name = ? AND kind = ?",
                (normalise(name), LOCAL),
            ).fetchone()
        stored = row["password_hash"] if row else None
        try:
            _HASHER.verify(stored or _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            self._store_hash(row["name"], password)
        account = account_from_row(row)
        return None if account.disabled else account

    # --- changing ------------------------------------------------------------------------

    def add_local(self, name: str, roles: Iterable[str], password: str) -> Account:
        name = normalise(name)
        if not LOCAL_NAME.fullmatch(name):
            raise AccountError(
                f"{name!r} is not a valid account name: use letters a-z, digits, '.', '_' or '-' "
                "(at most 64), starting with a letter or digit. For an email that signs in "
                "through OpenID Connect, add --oidc."
            )
        self._refuse_weak(name, password)
        return self._insert(name, LOCAL, check_roles(roles), _HASHER.hash(password))

    def add_oidc(self, email: str, roles: Iterable[str]) -> Account:
        email = normalise(email)
        if not EMAIL.fullmatch(email):
            raise AccountError(f"{email!r} is not an email address; --oidc accounts are emails.")
        return self._insert(email, OIDC, check_roles(roles), None)

    def remove(self, name: str) -> Account:
        account = self._existing(name)
        with db.connect(self.path) as con:
            con.execute("DELETE FROM accounts WHERE name = ?", (account.name,))
        return account

    def set_roles(self, name: str, roles: Iterable[str]) -> Account:
        account = self._existing(name)
        chosen = check_roles(roles)
        with db.connect(self.path) as con:
            con.execute(
                "UPDATE accounts SET roles = ?, changed_at = ? WHERE name = ?",
                (",".join(sorted(chosen)), time.time(), account.name),
            )
        return Account(account.name, account.kind, chosen, account.disabled)

    def set_disabled(self, name: str, disabled: bool) -> Account:
        account = self._existing(name)
        with db.connect(self.path) as con:
            con.execute(
                "UPDATE accounts SET disabled = ?, changed_at = ? WHERE name = ?",
                (int(disabled), time.time(), account.name),
            )
            if disabled:
                _end_sessions(con, account.name)
        return Account(account.name, account.kind, account.roles, disabled)

    def reset_password(self, name: str, password: str) -> Account:
        account = self._existing(name)
        if account.kind != LOCAL:
            raise AccountError(f"{account.name} signs in through OpenID Connect: no password.")
        self._refuse_weak(account.name, password)
        self._store_hash(account.name, password)
        with db.connect(self.path) as con:
            _end_sessions(con, account.name)
        return account

    # --- helpers -------------------------------------------------------------------------

    def _existing(self, name: str) -> Account:
        account = self.get(name)
        if account is None:
            raise AccountError(f"There is no account {normalise(name)!r}; `kanon users list`.")
        return account

    def _insert(self, name: str, kind: str, roles: frozenset[str], hashed: str | None) -> Account:
        now = time.time()
        with db.connect(self.path) as con:
            if con.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise AccountError(
                    f"There is already an account {name!r}; use `kanon users set-role` to change "
                    "its roles."
                )
            con.execute(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, 0, ?, ?)",
                (name, kind, hashed, ",".join(sorted(roles)), now, now),
            )
        return Account(name, kind, roles)

    def _refuse_weak(self, name: str, password: str) -> None:
        problem = password_problem(name, password)
        if problem:
            raise AccountError(problem)

    def _store_hash(self, name: str, password: str) -> None:
        with db.connect(self.path) as con:
            con.execute(
                "UPDATE accounts SET password_hash = ?, changed_at = ? WHERE name = ?",
                (_HASHER.hash(password), time.time(), name),
            )


def account_from_row(row: sqlite3.Row) -> Account:
    roles = frozenset(role for role in row["roles"].split(",") if role)
    return Account(row["name"], row["kind"], roles, bool(row["disabled"]))


def _end_sessions(con: sqlite3.Connection, name: str) -> None:
    con.execute("DELETE FROM sessions WHERE account = ?", (name,))
