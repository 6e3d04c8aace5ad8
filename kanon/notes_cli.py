"""`kanon notes`: notes on the charts from a shell (add, list, remove).

Whoever runs `kanon` can read and write KANON_HOME, so the command line acts as an admin: it
removes any note. A note added here is credited to `--by NAME` (an account on the allow-list,
who may then edit it on the dashboard) or else to `cli:<operator>`. Every change is an
access-log entry, as on the dashboard.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date

from kanon.access import log
from kanon.access.accounts import AccountError, Accounts
from kanon.settings import Settings
from kanon.store import notes
from kanon.store.duckdb_store import Store
from kanon.users_cli import operator_name
from reports.grid import Window
from reports.notes import Note

EXIT_OK = 0


def add_commands(commands: argparse._SubParsersAction, day: Callable[[str], date]) -> None:
    parser = commands.add_parser("notes", help="notes on the charts (a campaign, an outage, ...)")
    actions = parser.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help=f"add a note; {notes.REMINDER}")
    add.add_argument("--date", required=True, type=day, help="YYYY-MM-DD: its (first) day")
    add.add_argument("--to", type=day, help="YYYY-MM-DD: its last day, for a run of days")
    add.add_argument("--text", required=True, help=f"at most {notes.MAX_TEXT} characters")
    add.add_argument("--by", help="the account it is credited to (default: cli:<operator>)")
    add.set_defaults(run=cmd_add)

    listing = actions.add_parser("list", help="the notes, earliest first")
    listing.add_argument("--since", type=day, help="YYYY-MM-DD: notes with a day from this on")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=cmd_list)

    remove = actions.add_parser("remove", help="delete a note")
    remove.add_argument("note_id", type=int, metavar="ID")
    remove.set_defaults(run=cmd_remove)


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    today, store = date.today(), Store(settings.store_path)
    window = Window.on(today, settings.retention_months, settings.settle_days)
    earliest = notes.first_allowed_day(store, window.first_day)
    first, last = notes.checked_days(args.date, args.to, earliest, today)
    author = _account(settings, args.by) if args.by else f"cli:{operator_name()}"
    note = notes.add(store, first, last, args.text, author)
    log.note_changed(
        settings.access_log_path, f"cli:{operator_name()}", log.NOTE_ADD, note.note_id, first, last
    )
    print(f"added note {note.note_id}: {_line(note)}")
    return EXIT_OK


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    found = notes.listed(Store(settings.store_path), first=args.since)
    for note in found:
        print(_json(note) if args.json else _line(note))
    if not found and not args.json:
        print("no notes" + (f" from {args.since} on" if args.since else ""))
    return EXIT_OK


def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    who = f"cli:{operator_name()}"
    note = notes.remove(Store(settings.store_path), args.note_id, by=who, admin=True)
    log.note_changed(
        settings.access_log_path, who, log.NOTE_REMOVE, note.note_id, note.first_day, note.last_day
    )
    print(f"removed note {note.note_id}: {_line(note)}")
    return EXIT_OK


def _account(settings: Settings, name: str) -> str:
    account = Accounts(settings.accounts_path).get(name)
    if account is None:
        raise AccountError(
            f"No account {name!r} on the allow-list: --by names the account a note is credited "
            "to (`kanon users list`), or leave it out."
        )
    return account.name


def _line(note: Note) -> str:
    return log.escape(f"{note.note_id}  {note.days}  by {note.author}  {note.text}")


def _json(note: Note) -> str:
    record = {
        "id": note.note_id,
        "first_day": note.first_day.isoformat(),
        "last_day": note.last_day.isoformat(),
        "text": note.text,
        "author": note.author,
        "created_at": note.created_at.isoformat(),
        "changed_at": note.changed_at.isoformat(),
    }
    return json.dumps(record, ensure_ascii=False)
