"""Signing in and out, framework-free: what the sign-in page and the set-up page call.

Every outcome is logged (the name tried on a failure, never the password), and a failure says
only that the name or password is wrong, whether the account exists or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from access import log, setup
from access.accounts import Account, AccountError, Accounts
from access.roles import ADMIN
from access.sessions import Sessions
from access.throttle import Throttle

WRONG = "The name or password is wrong."


@dataclass(frozen=True)
class Outcome:
    token: str | None = None  # the new session's token when signed in
    message: str = ""


@dataclass(frozen=True)
class Gate:
    """The accounts file, the sessions in it, the throttle and the access log of one install."""

    accounts_path: Path
    log_path: Path
    home: Path
    idle_seconds: float

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.accounts_path)

    @property
    def sessions(self) -> Sessions:
        return Sessions(self.accounts_path, self.idle_seconds)

    @property
    def throttle(self) -> Throttle:
        return Throttle(self.accounts_path)

    def sign_in(self, name: str, password: str, address: str | None) -> Outcome:
        name = name.strip()
        wait = self.throttle.wait(name, address)
        if wait > 0:
            log.event(self.log_path, name, log.SIGN_IN_FAILED, reason="waiting", address=address)
            return Outcome(message=waiting(wait))
        account = self.accounts.verify_password(name, password) if name and password else None
        if account is None:
            self.throttle.failed(name, address)
            log.event(self.log_path, name, log.SIGN_IN_FAILED, address=address)
            return Outcome(message=WRONG)
        self.throttle.succeeded(name)
        return self.open_session(account, address, via="password")

    def open_session(self, account: Account, address: str | None, via: str) -> Outcome:
        token = self.sessions.open(account)
        log.event(self.log_path, account.name, log.SIGN_IN, via=via, address=address)
        return Outcome(token=token)

    def sign_out(self, token: str | None, who: str) -> None:
        self.sessions.close(token)
        log.event(self.log_path, who, log.SIGN_OUT)

    def create_first_admin(
        self, code: str, name: str, password: str, address: str | None
    ) -> Outcome:
        """The set-up page: the console's code, then the first admin's name and password."""
        wait = self.throttle.wait("(set-up code)", address)
        if wait > 0:
            return Outcome(message=waiting(wait))
        if self.accounts.has_admin():
            return Outcome(message="An admin exists already: sign in instead.")
        if not setup.code_matches(self.home, code):
            self.throttle.failed("(set-up code)", address)
            log.event(self.log_path, name.strip(), log.SIGN_IN_FAILED, reason="set-up code")
            return Outcome(message="That is not the set-up code printed on Kanon's console.")
        try:
            account = self.accounts.add_local(name, [ADMIN], password)
        except AccountError as error:
            return Outcome(message=str(error))
        setup.use_code(self.home)
        log.event(self.log_path, account.name, "user-add", account=account.name, roles=ADMIN)
        return self.open_session(account, address, via="set-up")


def waiting(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed attempts. Try again in {minutes} {unit}."
