"""The allow-list: local accounts and OpenID Connect identities, each with its roles.

One list decides roles for both kinds of identity. Local accounts sign in with a password
(hashed with argon2id, never stored, logged or echoed in plain text); OpenID Connect accounts,
named by email, may sign in only through the provider. Anyone not listed holds no role.

The first admin cannot be taken: creating it checks that no admin exists in the same
transaction, and the set-up code is deleted whenever an admin comes to exist by any path. The
last active admin cannot lose the role, be disabled or be removed, so nobody can be locked out
of administering Kanon (nor reopen the set-up page). Password checks (argon2, about 100 ms of a
core each) take turns through a small server-wide limit (`CONCURRENT_CHECKS`), so a flood of
sign-ins queues instead of starving the dashboard.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kanon.access import accounts_file, setup
from kanon.access.addresses import EMAIL, MAX_NAME_LENGTH
from kanon.access.roles import ADMIN, ROLES, RoleError
from kanon.errors import KanonError

LOCAL, OIDC = "local", "oidc"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # characters: longer is refused before any hashing
CONCURRENT_CHECKS = 4  # argon2 hashes or verifications at once, across the process
LOCAL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

_HASHER = PasswordHasher()
# Verified when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")
_CHECKS = threading.BoundedSemaphore(CONCURRENT_CHECKS)


def _verify(stored: str, password: str) -> bool:
    """Whether `password` matches the argon2 hash `stored`, taking turns with other checks."""
    with _CHECKS:
        try:
            return _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _hash(password: str) -> str:
    with _CHECKS:
        return _HASHER.hash(password)


class AccountError(KanonError, ValueError):
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


def could_be_name(name: str) -> bool:
    """Whether `name` could be an account's name (local or email), by the rules for adding one."""
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        return False
    name = normalise(name)
    return bool(LOCAL_NAME.fullmatch(name) or EMAIL.fullmatch(name))


def loggable_name(name: str) -> str:
    """A name tried, as the access log may keep it: itself if it could be an account's name,
    else a marker saying only how long it was (anyone's text must not fill the log)."""
    name = name.strip()
    if could_be_name(name):
        return normalise(name)
    return f"(not a name, {len(name)} chars)"


def password_problem(name: str, password: str) -> str | None:
    """Why a password is too weak, or None if it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"A password may have at most {MAX_PASSWORD_LENGTH} characters."
    if password.strip().lower() == normalise(name):
        return "A password must not be the account's name."
    return None


def check_email(email: str) -> str:
    """`email` normalised, or an AccountError saying it is not an e-mail address."""
    email = normalise(email)
    if len(email) > MAX_NAME_LENGTH or not EMAIL.fullmatch(email):
        shown = email if len(email) <= MAX_NAME_LENGTH else f"{email[:40]}…"
        raise AccountError(f"{shown!r} is not an e-mail address, e.g. ana@example.com.")
    return email


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
        with accounts_file.connect(self.path) as con:
            row = con.execute(
                "SELECT name, kind, roles, disabled FROM accounts WHERE name = ?",
                (normalise(name),),
            ).fetchone()
        return account_from_row(row) if row else None

    def all(self) -> list[Account]:
        with accounts_file.connect(self.path) as con:
            rows = con.execute("SELECT name, kind, roles, disabled FROM accounts ORDER BY name")
            return [account_from_row(row) for row in rows.fetchall()]

    def is_empty(self) -> bool:
        with accounts_file.connect(self.path) as con:
            return con.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is None

    def has_admin(self) -> bool:
        with accounts_file.connect(self.path) as con:
            return _active_admins(con) > 0

    def emails(self) -> dict[str, str]:
        """Every account's e-mail address, by name: an OpenID Connect account's name, a local
        account's address set with `set_email` (local accounts without one are left out)."""
        with accounts_file.connect(self.path) as con:
            rows = con.execute(
                "SELECT a.name, a.kind, e.email FROM accounts a "
                "LEFT JOIN account_emails e ON e.account = a.name"
            ).fetchall()
        found = {row["name"]: row["name"] if row["kind"] == OIDC else row["email"] for row in rows}
        return {name: email for name, email in found.items() if email}

    def verify_password(self, name: str, password: str) -> Account | None:
        """The local account if `password` is its password, else None (in the same time)."""
        with accounts_file.connect(self.path) as con:
            row = con.execute(
                "SELECT name, kind, roles, disabled, password_hash FROM accounts "
                "WHERE name = ? AND kind = ?",
                (normalise(name), LOCAL),
            ).fetchone()
        stored = row["password_hash"] if row else None
        if not password or len(password) > MAX_PASSWORD_LENGTH:
            return None  # cannot be anyone's password; no hashing of anyone's megabytes
        if not _verify(stored or _DUMMY_HASH, password) or row is None or stored is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            self._store_hash(row["name"], password)
        account = account_from_row(row)
        return None if account.disabled else account

    # --- changing ------------------------------------------------------------------------

    def add_local(self, name: str, roles: Iterable[str], password: str) -> Account:
        name = _local_name(name)
        self._refuse_weak(name, password)
        return self._insert(name, LOCAL, check_roles(roles), _hash(password))

    def add_oidc(self, email: str, roles: Iterable[str]) -> Account:
        email = normalise(email)
        if len(email) > MAX_NAME_LENGTH or not EMAIL.fullmatch(email):
            shown = email if len(email) <= MAX_NAME_LENGTH else f"{email[:40]}…"
            raise AccountError(f"{shown!r} is not an email address; --oidc accounts are emails.")
        return self._insert(email, OIDC, check_roles(roles), None)

    def add_first_admin(self, name: str, password: str) -> Account:
        """The first admin, as the set-up page makes it: refused if an active admin exists,
        checked and created in one transaction (two set-up pages cannot both succeed)."""
        name = _local_name(name)
        self._refuse_weak(name, password)
        return self._insert(name, LOCAL, frozenset({ADMIN}), _hash(password), first_admin=True)

    def remove(self, name: str) -> Account:
        with accounts_file.connect(self.path) as con:
            account = _existing(con, name)
            _keep_an_admin(con, account, "removed")
            con.execute("DELETE FROM accounts WHERE name = ?", (account.name,))
        return account

    def set_roles(self, name: str, roles: Iterable[str]) -> Account:
        chosen = check_roles(roles)
        with accounts_file.connect(self.path) as con:
            account = _existing(con, name)
            if ADMIN not in chosen:
                _keep_an_admin(con, account, "left without the admin role")
            con.execute(
                "UPDATE accounts SET roles = ?, changed_at = ? WHERE name = ?",
                (",".join(sorted(chosen)), time.time(), account.name),
            )
            changed = Account(account.name, account.kind, chosen, account.disabled)
        self._admin_exists_if(changed)
        return changed

    def set_disabled(self, name: str, disabled: bool) -> Account:
        with accounts_file.connect(self.path) as con:
            account = _existing(con, name)
            if disabled:
                _keep_an_admin(con, account, "disabled")
            con.execute(
                "UPDATE accounts SET disabled = ?, changed_at = ? WHERE name = ?",
                (int(disabled), time.time(), account.name),
            )
            if disabled:
                _end_sessions(con, account.name)
            changed = Account(account.name, account.kind, account.roles, disabled)
        self._admin_exists_if(changed)
        return changed

    def set_email(self, name: str, email: str | None) -> Account:
        """Give a local account an e-mail address for summaries (None removes it)."""
        if email is not None:
            email = check_email(email)
        with accounts_file.connect(self.path) as con:
            account = _existing(con, name)
            if account.kind == OIDC:
                raise AccountError(
                    f"{account.name} signs in through OpenID Connect: its name is its e-mail."
                )
            con.execute("DELETE FROM account_emails WHERE account = ?", (account.name,))
            if email is not None:
                con.execute(
                    "INSERT INTO account_emails VALUES (?, ?, ?)",
                    (account.name, email, time.time()),
                )
        return account

    def created_at(self, name: str) -> float | None:
        """When the account of this name was added; a removed and re-added one is newer."""
        with accounts_file.connect(self.path) as con:
            row = con.execute(
                "SELECT created_at FROM accounts WHERE name = ?", (normalise(name),)
            ).fetchone()
        return float(row["created_at"]) if row else None

    def reset_password(self, name: str, password: str) -> Account:
        account = self._existing(name)
        if account.kind != LOCAL:
            raise AccountError(f"{account.name} signs in through OpenID Connect: no password.")
        self._refuse_weak(account.name, password)
        self._store_hash(account.name, password)
        with accounts_file.connect(self.path) as con:
            _end_sessions(con, account.name)
        return account

    # --- helpers -------------------------------------------------------------------------

    def _existing(self, name: str) -> Account:
        with accounts_file.connect(self.path) as con:
            return _existing(con, name)

    def _admin_exists_if(self, account: Account) -> None:
        """An active admin exists now: the set-up code has done its work, whoever made it."""
        if ADMIN in account.active_roles:
            setup.use_code(self.path.parent)

    def _insert(
        self,
        name: str,
        kind: str,
        roles: frozenset[str],
        hashed: str | None,
        first_admin: bool = False,
    ) -> Account:
        now = time.time()
        with accounts_file.connect(self.path) as con:  # BEGIN IMMEDIATE: nobody writes in between
            if first_admin and _active_admins(con):
                raise AccountError("An admin exists already: sign in instead.")
            if con.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise AccountError(
                    f"There is already an account {name!r}; use `kanon users set-role` to change "
                    "its roles."
                )
            con.execute(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, 0, ?, ?)",
                (name, kind, hashed, ",".join(sorted(roles)), now, now),
            )
        account = Account(name, kind, roles)
        self._admin_exists_if(account)
        return account

    def _refuse_weak(self, name: str, password: str) -> None:
        problem = password_problem(name, password)
        if problem:
            raise AccountError(problem)

    def _store_hash(self, name: str, password: str) -> None:
        with accounts_file.connect(self.path) as con:
            con.execute(
                "UPDATE accounts SET password_hash = ?, changed_at = ? WHERE name = ?",
                (_hash(password), time.time(), name),
            )


def account_from_row(row: sqlite3.Row) -> Account:
    roles = frozenset(role for role in row["roles"].split(",") if role)
    return Account(row["name"], row["kind"], roles, bool(row["disabled"]))


def _local_name(name: str) -> str:
    name = normalise(name)
    if not LOCAL_NAME.fullmatch(name):
        shown = name if len(name) <= 70 else f"{name[:40]}… ({len(name)} chars)"
        raise AccountError(
            f"{shown!r} is not a valid account name: use letters a-z, digits, '.', '_' or '-' "
            "(at most 64), starting with a letter or digit. For an email that signs in "
            "through OpenID Connect, add --oidc."
        )
    return name


def _existing(con: sqlite3.Connection, name: str) -> Account:
    row = con.execute(
        "SELECT name, kind, roles, disabled FROM accounts WHERE name = ?", (normalise(name),)
    ).fetchone()
    if row is None:
        shown = normalise(name)[:MAX_NAME_LENGTH]
        raise AccountError(f"There is no account {shown!r}; `kanon users list`.")
    return account_from_row(row)


def _active_admins(con: sqlite3.Connection, besides: str | None = None) -> int:
    rows = con.execute("SELECT name, roles FROM accounts WHERE disabled = 0").fetchall()
    return sum(1 for row in rows if ADMIN in row["roles"].split(",") and row["name"] != besides)


def _keep_an_admin(con: sqlite3.Connection, account: Account, change: str) -> None:
    """Refuse a change that would leave no active admin (inside the change's transaction)."""
    if ADMIN in account.active_roles and not _active_admins(con, besides=account.name):
        raise AccountError(
            f"{account.name} is the last active admin and cannot be {change}: make another "
            "account an admin first (`kanon users set-role NAME admin`)."
        )


def _end_sessions(con: sqlite3.Connection, name: str) -> None:
    con.execute("DELETE FROM sessions WHERE account = ?", (name,))
