"""Failed sign-ins slow down guessing: per account name tried, and per client address.

After `ACCOUNT_LIMIT` failures for one name within the window, that name waits before the next
attempt, and each further failure doubles the wait. Names are counted whether or not the
account exists, so a wait says nothing about which accounts there are. Attempts refused while
waiting are not counted, so nobody can keep someone else's account locked for longer than the
window.

An attempt is *reserved* before its password is checked: in one transaction (BEGIN IMMEDIATE)
the failures are counted and a failure is recorded for the attempt, which a right password
then takes back. Forty simultaneous guesses for one name therefore see each other, and at most
`ACCOUNT_LIMIT` of them reach the password check.

An address that failed `ADDRESS_LIMIT` times is slowed down (`ADDRESS_DELAY` before each of
its checks), never refused outright: behind a proxy or an office network many people share an
address, and someone else's failures must not keep a right password out. The per-name limit
still refuses. No address (None) and loopback addresses are not counted at all: they say
nothing about who is asking. IPv6 addresses count per /64, as one host usually holds a /64.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from kanon.access import accounts_file
from kanon.access.accounts import could_be_name, normalise

WINDOW = 15 * 60  # seconds
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_WAIT = 60.0  # seconds after reaching the limit; doubles with each further failure
LONGEST_WAIT = WINDOW
ADDRESS_DELAY = 2.0  # seconds before each check from an address past its limit
NOT_A_NAME = "account:(not a name)"  # one key for every text that cannot be an account's name


SETUP_CODE = "(set-up code)"  # the name under which set-up code attempts are counted


def account_key(name: str) -> str:
    """The throttle's key for a name tried (anything that cannot be a name shares one key)."""
    if name == SETUP_CODE:
        return "setup:code"
    return f"account:{normalise(name)}" if could_be_name(name.strip()) else NOT_A_NAME


def address_key(address: str | None) -> str | None:
    """The key for a client address, or None when it is not counted (absent or loopback)."""
    if not address or not address.strip():
        return None
    text = address.strip()[:64]
    try:
        parsed = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return f"address:{text}"
    if parsed.is_loopback:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return address_key(str(parsed.ipv4_mapped))
        return f"address:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
    return f"address:{parsed}"


def _keys(name: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(account_key(name), ACCOUNT_LIMIT)]
    key = address_key(address)
    if key:
        keys.append((key, ADDRESS_LIMIT))
    return keys


def _wait(count: int, last: float | None, limit: int, at: float) -> float:
    if count < limit or last is None:
        return 0.0
    return max(last + min(FIRST_WAIT * 2 ** (count - limit), LONGEST_WAIT) - at, 0.0)


@dataclass(frozen=True)
class Reservation:
    """The outcome of asking to try a password: refused (wait > 0), or reserved (`rows`, the
    failure recorded for this attempt until a right password takes it back) after `delay`
    seconds. `log_refusal` is True for the first refusal of a key in a window."""

    wait: float = 0.0
    delay: float = 0.0
    rows: tuple[int, ...] = ()
    log_refusal: bool = False

    @property
    def refused(self) -> bool:
        return self.wait > 0


class Throttle:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def reserve(self, name: str, address: str | None, now: float | None = None) -> Reservation:
        """Count the failures and, unless the name must wait, record this attempt as a failure:
        one transaction, so simultaneous attempts each see the ones before them."""
        at = time.time() if now is None else now
        account, limit = _keys(name, address)[0]
        address_entry = address_key(address)
        with accounts_file.connect(self.path) as con:  # BEGIN IMMEDIATE
            _forget_old(con, at)
            count, last = _count(con, account, at)
            wait = _wait(count, last, limit, at)
            if wait > 0:
                noted = con.execute(
                    "SELECT 1 FROM throttle_notes WHERE key = ? AND at >= ?",
                    (account, at - WINDOW),
                ).fetchone()
                if not noted:
                    con.execute(
                        "INSERT OR REPLACE INTO throttle_notes VALUES (?, ?)", (account, at)
                    )
                return Reservation(wait=wait, log_refusal=not noted)
            delay = 0.0
            if address_entry:
                failures, _ = _count(con, address_entry, at)
                delay = ADDRESS_DELAY if failures >= ADDRESS_LIMIT else 0.0
            rows = tuple(_add_failure(con, key, at) for key in (account, address_entry) if key)
        return Reservation(delay=delay, rows=rows)

    def succeeded(self, name: str, reservation: Reservation | None = None) -> None:
        """A right password: take back this attempt's failures and clear the name's."""
        with accounts_file.connect(self.path) as con:
            rows = reservation.rows if reservation else ()
            con.executemany("DELETE FROM failures WHERE rowid = ?", [(row,) for row in rows])
            con.execute("DELETE FROM failures WHERE key = ?", (account_key(name),))

    def release(self, reservation: Reservation) -> None:
        """Take back a reserved attempt that turned out not to be a guess."""
        with accounts_file.connect(self.path) as con:
            con.executemany(
                "DELETE FROM failures WHERE rowid = ?", [(row,) for row in reservation.rows]
            )

    # --- the counts alone (tests, and callers that check without a password) ------------

    def wait(self, name: str, address: str | None, now: float | None = None) -> float:
        """Seconds before `name` may be tried again (0: go ahead). Only the name's failures
        make it wait; an address's failures slow its attempts down (`delay`)."""
        at = time.time() if now is None else now
        key = account_key(name)
        with accounts_file.connect(self.path) as con:
            _forget_old(con, at)
            count, last = _count(con, key, at)
        return _wait(count, last, ACCOUNT_LIMIT, at)

    def delay(self, address: str | None, now: float | None = None) -> float:
        """Seconds an attempt from `address` is slowed down before its password check."""
        at = time.time() if now is None else now
        key = address_key(address)
        if key is None:
            return 0.0
        with accounts_file.connect(self.path) as con:
            count, _ = _count(con, key, at)
        return ADDRESS_DELAY if count >= ADDRESS_LIMIT else 0.0

    def failed(self, name: str, address: str | None, now: float | None = None) -> None:
        """Record a failure that was not reserved (a set-up code tried, say)."""
        at = time.time() if now is None else now
        with accounts_file.connect(self.path) as con:
            con.executemany(
                "INSERT INTO failures VALUES (?, ?)", [(key, at) for key, _ in _keys(name, address)]
            )


def _forget_old(con, at: float) -> None:
    con.execute("DELETE FROM failures WHERE at < ?", (at - WINDOW,))
    con.execute("DELETE FROM throttle_notes WHERE at < ?", (at - WINDOW,))


def _count(con, key: str, at: float) -> tuple[int, float | None]:
    count, last = con.execute(
        "SELECT count(*), max(at) FROM failures WHERE key = ? AND at >= ?", (key, at - WINDOW)
    ).fetchone()
    return count, last


def _add_failure(con: sqlite3.Connection, key: str, at: float) -> int:
    """Record one failure; its row id, by which a right password takes it back."""
    row_id = con.execute("INSERT INTO failures VALUES (?, ?)", (key, at)).lastrowid
    assert row_id is not None  # an INSERT into a rowid table always has one
    return row_id
