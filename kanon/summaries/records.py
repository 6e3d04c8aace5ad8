"""Subscriptions and sends, in the accounts file (SQLite), where the accounts are.

One table says who asked for which cadence and when; another records each summary sent, keyed
by (account, cadence, period), so a period goes to an account once. A send is marked `sending`
in its own transaction before the mail server is asked, and `sent` after it accepted the
message: a crash in between leaves `sending`, which the next run sends again (a duplicate, never
a loss; see docs/summaries.md). `failed` is retried at every run.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from kanon.access import accounts_file
from kanon.access.accounts import AccountError, normalise
from kanon.i18n import N_
from kanon.summaries.schedule import CADENCES

SENDING, SENT, FAILED = "sending", "sent", "failed"
MAX_ERROR = 300  # characters of a mail server's answer kept with a failed send


@dataclass(frozen=True)
class Subscription:
    account: str
    cadence: str
    subscribed_at: float
    account_created_at: float

    @property
    def subscribed_on(self) -> date:
        return datetime.fromtimestamp(self.subscribed_at, UTC).date()


@dataclass(frozen=True)
class Send:
    account: str
    cadence: str
    period: date
    state: str
    attempts: int
    error: str | None
    changed_at: float


def check_cadence(cadence: str) -> str:
    if cadence not in CADENCES:
        raise AccountError(f"Unknown cadence {cadence!r}; use one of: {', '.join(CADENCES)}.")
    return cadence


def subscribe(path: Path, name: str, cadence: str) -> Subscription:
    """Subscribe an existing account; subscribing again keeps the first subscription's date."""
    check_cadence(cadence)
    with accounts_file.connect(path) as con:  # one transaction: the account exists as we add
        account = con.execute(
            "SELECT name, created_at FROM accounts WHERE name = ?", (normalise(name),)
        ).fetchone()
        if account is None:
            raise AccountError.said(
                N_("There is no account {name!r}; `kanon users list`."), name=normalise(name)[:254]
            )
        key = (account["name"], cadence)
        con.execute(
            "DELETE FROM summary_subscriptions WHERE account = ? AND cadence = ? "
            "AND account_created_at != ?",
            (*key, account["created_at"]),
        )  # a subscription left by an earlier account of this name does not carry over
        con.execute(
            "INSERT OR IGNORE INTO summary_subscriptions VALUES (?, ?, ?, ?)",
            (*key, time.time(), account["created_at"]),
        )
        row = con.execute(
            "SELECT * FROM summary_subscriptions WHERE account = ? AND cadence = ?", key
        ).fetchone()
    return _subscription(row)


def unsubscribe(path: Path, name: str, cadences: tuple[str, ...] = tuple(CADENCES)) -> list[str]:
    """End the account's subscriptions of `cadences`; the cadences that were ended."""
    ended = []
    with accounts_file.connect(path) as con:
        for cadence in map(check_cadence, cadences):
            gone = con.execute(
                "DELETE FROM summary_subscriptions WHERE account = ? AND cadence = ?",
                (normalise(name), cadence),
            )
            if gone.rowcount:
                ended.append(cadence)
    return ended


def subscriptions(path: Path, name: str | None = None) -> list[Subscription]:
    query = "SELECT * FROM summary_subscriptions"
    query += " WHERE account = ?" if name is not None else ""
    with accounts_file.connect(path) as con:
        rows = con.execute(
            query + " ORDER BY account, cadence", (normalise(name),) if name is not None else ()
        ).fetchall()
    return [_subscription(row) for row in rows]


def sends(path: Path, states: tuple[str, ...] = (SENDING, SENT, FAILED)) -> list[Send]:
    marks = ", ".join("?" for _ in states)
    with accounts_file.connect(path) as con:
        rows = con.execute(
            f"SELECT * FROM summary_sends WHERE state IN ({marks}) "
            "ORDER BY period DESC, account, cadence",
            states,
        ).fetchall()
    return [_send(row) for row in rows]


def state_of(path: Path, account: str, cadence: str, period: date) -> str | None:
    with accounts_file.connect(path) as con:
        row = con.execute(
            "SELECT state FROM summary_sends WHERE account = ? AND cadence = ? AND period = ?",
            (account, cadence, period.isoformat()),
        ).fetchone()
    return row["state"] if row else None


def mark_sending(path: Path, account: str, cadence: str, period: date) -> bool:
    """Claim a send before the mail server is asked; False if it was sent already."""
    with accounts_file.connect(path) as con:  # BEGIN IMMEDIATE: check and claim at once
        row = con.execute(
            "SELECT state FROM summary_sends WHERE account = ? AND cadence = ? AND period = ?",
            (account, cadence, period.isoformat()),
        ).fetchone()
        if row is not None and row["state"] == SENT:
            return False
        con.execute(
            "INSERT INTO summary_sends VALUES (?, ?, ?, ?, 1, NULL, ?) "
            "ON CONFLICT (account, cadence, period) DO UPDATE SET state = excluded.state, "
            "attempts = attempts + 1, changed_at = excluded.changed_at",
            (account, cadence, period.isoformat(), SENDING, time.time()),
        )
    return True


def mark_sent(path: Path, account: str, cadence: str, period: date) -> None:
    _finish(path, account, cadence, period, SENT, None)


def mark_failed(path: Path, account: str, cadence: str, period: date, error: str) -> None:
    _finish(path, account, cadence, period, FAILED, " ".join(error.split())[:MAX_ERROR])


def _finish(
    path: Path, account: str, cadence: str, period: date, state: str, error: str | None
) -> None:
    with accounts_file.connect(path) as con:
        con.execute(
            "UPDATE summary_sends SET state = ?, error = ?, changed_at = ? "
            "WHERE account = ? AND cadence = ? AND period = ?",
            (state, error, time.time(), account, cadence, period.isoformat()),
        )


def purge_before(path: Path, first_day: date) -> int:
    """Forget sends of periods starting before `first_day` (the retention window's start): the
    record of who got which period follows the window like the access log."""
    if not path.exists():
        return 0
    with accounts_file.connect(path) as con:
        gone = con.execute("DELETE FROM summary_sends WHERE period < ?", (first_day.isoformat(),))
    return gone.rowcount


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        row["account"], row["cadence"], row["subscribed_at"], row["account_created_at"]
    )


def _send(row: sqlite3.Row) -> Send:
    return Send(
        row["account"],
        row["cadence"],
        date.fromisoformat(row["period"]),
        row["state"],
        row["attempts"],
        row["error"],
        row["changed_at"],
    )
