"""Signing in and out, framework-free: what the sign-in page and the set-up page call.

Every outcome is logged (the name tried on a failure, never the password), and a failure says
only that the name or password is wrong, whether the account exists or not. What a visitor
types is bounded before anything else: a name tried is logged only if it could be an account's
name (else its length), a password over `MAX_PASSWORD_LENGTH` is never hashed, and a refusal
while waiting is logged once per window, not once per attempt.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from kanon.access import log, setup
from kanon.access.accounts import (
    MAX_PASSWORD_LENGTH,
    Account,
    AccountError,
    Accounts,
    could_be_name,
    loggable_name,
)
from kanon.access.roles import ADMIN
from kanon.access.sessions import Sessions
from kanon.access.throttle import SETUP_CODE, Throttle
from kanon.i18n import N_, _, ngettext

WRONG = N_("The name or password is wrong.")


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
        name, password = name or "", password or ""
        who = loggable_name(name)  # anyone's text: only a possible account name is kept
        reservation = self.throttle.reserve(name, address)
        if reservation.refused:
            if reservation.log_refusal:  # once per window and name, not once per attempt
                log.event(self.log_path, who, log.SIGN_IN_FAILED, reason="waiting",
                          address=_shown(address))  # fmt: skip
            return Outcome(message=waiting(reservation.wait))
        if reservation.delay:
            pause(reservation.delay)
        account = None
        if could_be_name(name.strip()) and password and len(password) <= MAX_PASSWORD_LENGTH:
            account = self.accounts.verify_password(name.strip(), password)
        if account is None:  # the reserved failure stands
            log.event(self.log_path, who, log.SIGN_IN_FAILED, address=_shown(address))
            return Outcome(message=_(WRONG))
        self.throttle.succeeded(name, reservation)
        return self.open_session(account, address, via="password")

    def open_session(self, account: Account, address: str | None, via: str) -> Outcome:
        token = self.sessions.open(account)
        log.event(self.log_path, account.name, log.SIGN_IN, via=via, address=_shown(address))
        return Outcome(token=token)

    def sign_out(self, token: str | None, who: str) -> None:
        self.sessions.close(token)
        log.event(self.log_path, who, log.SIGN_OUT)

    def create_first_admin(
        self, code: str, name: str, password: str, address: str | None
    ) -> Outcome:
        """The set-up page: the console's code, then the first admin's name and password."""
        code, name, password = code or "", name or "", password or ""
        reservation = self.throttle.reserve(SETUP_CODE, address)
        if reservation.refused:
            if reservation.log_refusal:
                log.event(self.log_path, loggable_name(name), log.SIGN_IN_FAILED,
                          reason="set-up code, waiting", address=_shown(address))  # fmt: skip
            return Outcome(message=waiting(reservation.wait))
        if reservation.delay:
            pause(reservation.delay)
        if self.accounts.has_admin():
            self.throttle.release(reservation)
            return Outcome(message=_("An admin exists already: sign in instead."))
        if not setup.code_matches(self.home, code):  # an empty code never matches
            log.event(self.log_path, loggable_name(name), log.SIGN_IN_FAILED,
                      reason="set-up code", address=_shown(address))  # fmt: skip
            return Outcome(message=_("That is not the set-up code printed on Kanon's console."))
        try:  # checks that no admin exists and creates this one in one transaction
            account = self.accounts.add_first_admin(name, password)
        except AccountError as error:
            self.throttle.release(reservation)  # the code was right: not a guess
            return Outcome(message=str(error))
        self.throttle.succeeded(SETUP_CODE, reservation)
        setup.use_code(self.home)
        log.event(self.log_path, account.name, "user-add", account=account.name, roles=ADMIN)
        return self.open_session(account, address, via="set-up")


def pause(seconds: float) -> None:
    """Slow an attempt down (outside any transaction and any password check's turn)."""
    time.sleep(seconds)


def _shown(address: str | None) -> str | None:
    return address.strip()[:64] if address else None


def waiting(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many failed attempts. Try again in {minutes} minute.",
        "Too many failed attempts. Try again in {minutes} minutes.",
        minutes,
    ).format(minutes=minutes)
