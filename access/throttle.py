"""Failed sign-ins slow down guessing: per account name tried, and per client address.

After `ACCOUNT_LIMIT` failures for one name within the window, that name waits before the next
attempt, and each further failure doubles the wait; an address that fails `ADDRESS_LIMIT` times
waits the same way whatever names it tries. Names are counted whether or not the account
exists, so a wait says nothing about which accounts there are. Attempts refused while waiting
are not counted, so nobody can keep someone else's account locked for longer than the window.
"""

from __future__ import annotations

import time
from pathlib import Path

from access import db
from access.accounts import normalise

WINDOW = 15 * 60  # seconds
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_WAIT = 60.0  # seconds after reaching the limit; doubles with each further failure
LONGEST_WAIT = WINDOW


def _keys(name: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"account:{normalise(name)}", ACCOUNT_LIMIT)]
    if address:
        keys.append((f"address:{address}", ADDRESS_LIMIT))
    return keys


class Throttle:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def wait(self, name: str, address: str | None, now: float | None = None) -> float:
        """Seconds before `name` may be tried again from `address` (0: go ahead)."""
        at = time.time() if now is None else now
        longest = 0.0
        with db.connect(self.path) as con:
            con.execute("DELETE FROM failures WHERE at < ?", (at - WINDOW,))
            for key, limit in _keys(name, address):
                count, last = con.execute(
                    "SELECT count(*), max(at) FROM failures WHERE key = ?", (key,)
                ).fetchone()
                if count >= limit:
                    wait = min(FIRST_WAIT * 2 ** (count - limit), LONGEST_WAIT)
                    longest = max(longest, last + wait - at)
        return max(longest, 0.0)

    def failed(self, name: str, address: str | None, now: float | None = None) -> None:
        at = time.time() if now is None else now
        with db.connect(self.path) as con:
            con.executemany(
                "INSERT INTO failures VALUES (?, ?)", [(key, at) for key, _ in _keys(name, address)]
            )

    def succeeded(self, name: str) -> None:
        """A right password clears the name's failures (not the address's)."""
        with db.connect(self.path) as con:
            con.execute("DELETE FROM failures WHERE key = ?", (f"account:{normalise(name)}",))
