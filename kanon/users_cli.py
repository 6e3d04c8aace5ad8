"""`kanon users` and `kanon access-log`: the allow-list and the access log from a shell.

Passwords are read from a prompt (twice, only on a terminal) or from standard input with
`--password-stdin`; never from the command line, where `ps` and shell history would keep them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import date

from kanon.access import log
from kanon.access.accounts import OIDC, Account, AccountError, Accounts
from kanon.access.roles import ROLES
from kanon.settings import Settings

EXIT_OK = 0


def add_commands(commands: argparse._SubParsersAction, day: Callable[[str], date]) -> None:
    users = commands.add_parser("users", help="local accounts, OpenID Connect users and roles")
    actions = users.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an account with its roles")
    add.add_argument("name", help="a user name, or an email with --oidc")
    add.add_argument("--role", action="append", choices=sorted(ROLES), default=[], dest="roles")
    add.add_argument("--oidc", action="store_true", help="signs in through OpenID Connect only")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(run=cmd_add)

    remove = actions.add_parser("remove", help="remove an account; its sessions end")
    remove.add_argument("name")
    remove.set_defaults(run=cmd_remove)

    listing = actions.add_parser("list", help="every account with its roles")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=cmd_list)

    set_role = actions.add_parser("set-role", help="replace an account's roles")
    set_role.add_argument("name")
    set_role.add_argument("roles", nargs="+", choices=sorted(ROLES), metavar="ROLE")
    set_role.set_defaults(run=cmd_set_role)

    reset = actions.add_parser("reset-password", help="set a new password; its sessions end")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(run=cmd_reset_password)

    set_email = actions.add_parser(
        "set-email", help="a local account's e-mail address, for summaries ('' removes it)"
    )
    set_email.add_argument("name")
    set_email.add_argument("email", help="e.g. ana@example.com; an empty string removes it")
    set_email.set_defaults(run=cmd_set_email)

    for verb, disabled in (("disable", True), ("enable", False)):
        toggle = actions.add_parser(verb, help=f"{verb} an account (keeps it on the list)")
        toggle.add_argument("name")
        toggle.set_defaults(run=cmd_toggle, disabled=disabled)

    access_log = commands.add_parser("access-log", help="print the access log")
    access_log.add_argument("--since", type=day, help="YYYY-MM-DD: entries from this day on")
    access_log.add_argument("--who", help="only this person's entries")
    access_log.add_argument("--action", help="only this action (sign-in, view, download, ...)")
    access_log.add_argument("--json", action="store_true", help="one JSON object per line")
    access_log.set_defaults(run=cmd_access_log)


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    accounts = Accounts(settings.accounts_path)
    if args.oidc:
        if args.password_stdin:
            raise AccountError("OpenID Connect accounts have no password: drop --password-stdin.")
        account = accounts.add_oidc(args.name, args.roles)
    else:
        account = accounts.add_local(args.name, args.roles, _new_password(args))
    changed(settings, "user-add", account, roles=_roles(account), kind=account.kind)
    print(f"added {_describe(account)}")
    return EXIT_OK


def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    account = Accounts(settings.accounts_path).remove(args.name)
    changed(settings, "user-remove", account)
    print(f"removed {account.name}; its open sessions end at their next interaction")
    return EXIT_OK


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    allow_list = Accounts(settings.accounts_path)
    accounts, emails = allow_list.all(), allow_list.emails()
    for account in accounts:
        email = emails.get(account.name)
        if args.json:
            record = {"name": account.name, "kind": account.kind, "disabled": account.disabled}
            print(json.dumps({**record, "roles": sorted(account.roles), "email": email}))
        else:
            print(_describe(account) + (f"  email: {email}" if email else ""))
    if not accounts and not args.json:
        print("no accounts yet: `kanon users add NAME --role admin` makes the first admin")
    return EXIT_OK


def cmd_set_role(settings: Settings, args: argparse.Namespace) -> int:
    account = Accounts(settings.accounts_path).set_roles(args.name, args.roles)
    changed(settings, "user-set-role", account, roles=_roles(account))
    print(f"{_describe(account)}")
    return EXIT_OK


def cmd_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    accounts = Accounts(settings.accounts_path)
    account = accounts.get(args.name)
    if account is None:
        raise AccountError(f"There is no account {args.name!r}; `kanon users list`.")
    if account.kind == OIDC:
        raise AccountError(f"{account.name} signs in through OpenID Connect: no password.")
    accounts.reset_password(account.name, _new_password(args))
    changed(settings, "user-reset-password", account)
    print(f"new password set for {account.name}; its open sessions end")
    return EXIT_OK


def cmd_set_email(settings: Settings, args: argparse.Namespace) -> int:
    email = args.email.strip() or None
    account = Accounts(settings.accounts_path).set_email(args.name, email)
    changed(settings, "user-set-email", account, email=email or "none")
    print(f"{account.name}  email: {email}" if email else f"{account.name} has no email now")
    return EXIT_OK


def cmd_toggle(settings: Settings, args: argparse.Namespace) -> int:
    account = Accounts(settings.accounts_path).set_disabled(args.name, args.disabled)
    changed(settings, "user-disable" if args.disabled else "user-enable", account)
    print(_describe(account))
    return EXIT_OK


def cmd_access_log(settings: Settings, args: argparse.Namespace) -> int:
    since: date | None = args.since
    for entry in log.entries(settings.access_log_path, since, args.who, args.action):
        print(log.json_line(entry) if args.json else log.line(entry))
    skipped = log.skipped_lines(settings.access_log_path)
    if skipped:
        print(f"kanon: {skipped} malformed line(s) in the access log were skipped", file=sys.stderr)
    return EXIT_OK


def _new_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise AccountError("No password on standard input.")
        return password
    if not sys.stdin.isatty():
        raise AccountError(
            "No terminal to ask for the password: pipe it in with --password-stdin "
            "(a password is never taken from the command line)."
        )
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("The two passwords differ; nothing was changed.")
    return first


def changed(settings: Settings, action: str, account: Account | str, **details: object) -> None:
    """Log a change made from the shell to `account` (an Account or a name)."""
    name = account if isinstance(account, str) else account.name
    log.event(settings.access_log_path, f"cli:{operator_name()}", action, account=name, **details)


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "unknown"


def _roles(account: Account) -> str:
    return ",".join(sorted(account.roles)) or "none"


def _describe(account: Account) -> str:
    kind = "OpenID Connect" if account.kind == OIDC else "local"
    state = " (disabled)" if account.disabled else ""
    return f"{account.name}  {kind}  roles: {_roles(account)}{state}"
