"""Sending what is due: who gets which summary now, and the sending itself over SMTP.

Whether an account may receive is decided here, at send time, from the allow-list as it is
now: an account removed (or removed and added again), disabled, without the analyst or manager
role, or without an e-mail address gets nothing, whatever its subscriptions say.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import smtplib
import ssl
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

from connectors.ga4_auth import secrets_paths
from kanon import i18n
from kanon.access import log, preferences
from kanon.access.accounts import Account, Accounts
from kanon.access.roles import ANALYST, MANAGER
from kanon.errors import EXIT_FAILED, EXIT_USAGE, KanonError
from kanon.i18n import N_
from kanon.settings import Settings
from kanon.sources import summary_book
from kanon.store.duckdb_store import Store
from kanon.store.releases import current
from kanon.summaries import records
from kanon.summaries.content import Summary, build
from kanon.summaries.message import build_message
from kanon.summaries.schedule import first_eligible, grain_of, latest_period
from reports.grid import period_end
from reports.protect import Release

RECEIVING_ROLES = frozenset({ANALYST, MANAGER})
SMTP_TIMEOUT = 30  # seconds for the mail server to answer; a dead server fails the run soon
SECRETS_TABLE = "smtp"
ACTIVE = N_("active")


class SummariesError(KanonError):
    """Summaries cannot be sent as things stand; the message says what to change."""


class NotConfigured(SummariesError):
    exit_code = EXIT_USAGE


class Busy(SummariesError):
    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class Planned:
    """One summary to send now: to whom, which period, and whether the workbook goes along."""

    account: str
    address: str
    cadence: str
    period: date
    workbook: bool
    retry: bool  # an earlier attempt failed or was cut short
    language: str  # the recipient's own choice on the dashboard, else `default_language`


@dataclass
class Outcome:
    sent: list[Planned]
    failed: list[tuple[Planned, str]]


def standing(
    account: Account | None,
    created_at: float | None,
    sub: records.Subscription,
    address: str | None,
) -> str:
    """Whether a subscription delivers now (`ACTIVE`), or why not."""
    if account is None or created_at != sub.account_created_at:
        return N_("stopped: the account was removed")
    if account.disabled:
        return N_("stopped: the account is disabled")
    if not account.roles & RECEIVING_ROLES:
        return N_("stopped: the account holds neither the analyst nor the manager role")
    if not address:
        return N_("stopped: the account has no e-mail address (`kanon users set-email`)")
    return ACTIVE


def standings(settings: Settings) -> list[tuple[records.Subscription, str]]:
    """Every subscription with its standing (for `kanon summaries list` and the Admin page)."""
    accounts = Accounts(settings.accounts_path)
    by_name = {account.name: account for account in accounts.all()}
    emails = accounts.emails()
    return [
        (
            sub,
            standing(
                by_name.get(sub.account),
                accounts.created_at(sub.account),
                sub,
                emails.get(sub.account),
            ),
        )
        for sub in records.subscriptions(settings.accounts_path)
    ]


def plan(settings: Settings, release: Release) -> list[Planned]:
    """What is due: per active subscription, the newest whole period the release holds, and any
    earlier period whose send failed or was cut short, never one older than the subscription."""
    path = settings.accounts_path
    accounts = Accounts(path)
    by_name = {account.name: account for account in accounts.all()}
    emails = accounts.emails()
    unfinished = records.sends(path, (records.SENDING, records.FAILED))
    due = []
    for sub, state in standings(settings):
        if state != ACTIVE:
            continue
        held = set(release.periods(grain_of(sub.cadence)))
        earliest = first_eligible(sub.cadence, sub.subscribed_on, settings.settle_days)
        retries = {
            s.period for s in unfinished if (s.account, s.cadence) == (sub.account, sub.cadence)
        }
        latest = latest_period(release, sub.cadence)
        for period in sorted(retries | ({latest} if latest else set())):
            if period < earliest or period not in held:
                continue
            if records.state_of(path, sub.account, sub.cadence, period) == records.SENT:
                continue
            manager = MANAGER in by_name[sub.account].roles
            due.append(
                Planned(
                    sub.account,
                    emails[sub.account],
                    sub.cadence,
                    period,
                    manager,
                    period in retries,
                    preferences.language(path, sub.account) or settings.default_language,
                )
            )
    return due


def send_due(
    settings: Settings, dry_run: bool = False, say: Callable[[str], None] = print
) -> Outcome:
    """Send every summary due, each recorded before and after the mail server takes it."""
    if not dry_run:
        check_configured(settings)
    release = current(Store(settings.store_path))
    if release is None:
        raise SummariesError("There is no release yet: run `kanon sync` first.")
    outcome = Outcome([], [])
    if dry_run:
        for item in plan(settings, release):
            say(describe(item, "would send"))
        return outcome
    with _one_run(settings), Mailer(settings) as mailer:
        built: dict[tuple[str, date], Summary] = {}
        # a workbook takes seconds: one per period and language
        books: dict[tuple[str, date, str], bytes] = {}
        for item in plan(settings, release):
            key = (item.cadence, item.period)
            if key not in built:
                built[key] = build(release, item.cadence, item.period, settings.public_url)
            with i18n.speaking(item.language):  # the recipient's words, numbers and dates
                if item.workbook and (*key, item.language) not in books:
                    books[(*key, item.language)] = _workbook(settings, release, built[key])
                workbook = books[(*key, item.language)] if item.workbook else None
                message = build_message(
                    built[key], item.account, item.address, str(settings.smtp_from), workbook
                )
            _deliver(settings, mailer, item, message, outcome, say)
    return outcome


def _deliver(
    settings: Settings,
    mailer: Mailer,
    item: Planned,
    message: EmailMessage,
    outcome: Outcome,
    say: Callable[[str], None],
) -> None:
    """Claim, send and record one summary (`sending`, then `sent` or `failed`)."""
    path, key = settings.accounts_path, (item.account, item.cadence, item.period)
    if not records.mark_sending(path, *key):
        return  # sent already, by a run that ended after this one planned
    try:
        mailer.send(message)
    except (OSError, smtplib.SMTPException) as error:  # ssl.SSLError is an OSError
        reason = f"{type(error).__name__}: {error}"
        records.mark_failed(path, *key, reason)
        outcome.failed.append((item, reason))
        say(describe(item, "failed") + f": {reason}")
        return
    records.mark_sent(path, *key)
    _log_sent(settings, item)
    outcome.sent.append(item)
    say(describe(item, "sent"))


def failed_sends(settings: Settings) -> list[records.Send]:
    """Summaries whose last attempt failed or was cut short, for the Admin page and
    `kanon doctor`: each is retried by the next `kanon summaries send --due`."""
    return records.sends(settings.accounts_path, (records.FAILED, records.SENDING))


def describe(item: Planned, what: str) -> str:
    extra = " with the workbook" if item.workbook else ""
    again = " (again)" if item.retry else ""
    return (
        f"{what}{again}: {item.cadence} summary of {item.period} to {item.account} "
        f"<{item.address}>{extra}"
    )


def check_configured(settings: Settings) -> None:
    missing = [name for name in ("smtp_host", "smtp_from") if not getattr(settings, name)]
    if missing:
        raise NotConfigured(
            f"No SMTP settings: set {' and '.join(missing)} (KANON_SMTP_HOST, KANON_SMTP_FROM, "
            "see docs/settings.md) to send summaries. `--dry-run` shows what would be sent."
        )


def _workbook(settings: Settings, release: Release, summary: Summary) -> bytes:
    """The workbook `kanon export --summary` makes for the same period and grain, in the
    language being spoken (the recipient's)."""
    return summary_book(settings, release, grain_of(summary.cadence), summary.first, summary.last)


def _log_sent(settings: Settings, item: Planned) -> None:
    """Who got which period: never a figure."""
    grain = grain_of(item.cadence)
    log.event(
        settings.access_log_path,
        item.account,
        "summary-sent",
        report="summary",
        grain=grain,
        start=item.period.isoformat(),
        end=period_end(item.period, grain).isoformat(),
        cadence=item.cadence,
        attachment="workbook" if item.workbook else None,
    )


@contextmanager
def _one_run(settings: Settings) -> Iterator[None]:
    """One `send` at a time: a send found `sending` by the run holding this lock was cut short
    by a crash, never in flight in another process."""
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(settings.home / "summaries.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(
                "Another `kanon summaries send` is running; let it finish and run this again."
            ) from None
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


class Mailer:
    """One connection to the mail server for a run, opened at the first message. A server that
    cannot be reached fails every message of the run at once, without asking again each time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._unreachable: Exception | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._smtp is not None:
            # the messages were accepted already; a rude goodbye changes nothing
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()

    def send(self, message: EmailMessage) -> None:
        if self._unreachable is not None:
            raise self._unreachable
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (OSError, smtplib.SMTPException) as error:
                self._unreachable = error
                raise
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None  # the next message connects again
            raise

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        host, port = str(settings.smtp_host), settings.smtp_port_or_default
        context = ssl.create_default_context()  # the server's certificate and name are checked
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        try:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)  # a server without STARTTLS is refused
            if settings.smtp_username:
                smtp.login(settings.smtp_username, smtp_password(settings) or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def smtp_password(settings: Settings) -> str | None:
    """`smtp_password`, else `password` in a [smtp] table of .streamlit/secrets.toml."""
    if settings.smtp_password is not None:
        return settings.smtp_password.get_secret_value()
    for path in secrets_paths():
        if path.is_file():
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8")).get(SECRETS_TABLE)
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise NotConfigured(f"Could not read {path}: {error}") from None
            if isinstance(table, dict) and table.get("password"):
                return str(table["password"])
    return None
