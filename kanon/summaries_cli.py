"""`kanon summaries`: who gets the e-mailed summaries, and sending what is due.

`subscribe NAME --weekly|--monthly`, `unsubscribe NAME [--weekly|--monthly]`, `list [--json]`,
`send --due [--dry-run]`. Exit codes: 0 done (a failed send is reported and retried at the next
run, see docs/summaries.md), 1 a send failed, 2 no SMTP settings or a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from kanon.access.accounts import normalise
from kanon.errors import EXIT_FAILED, EXIT_USAGE
from kanon.settings import Settings
from kanon.summaries import records
from kanon.summaries.schedule import CADENCES
from kanon.users_cli import EXIT_OK, changed

HELP = "e-mailed summaries to accounts: subscribe, unsubscribe, list, send"


def add_commands(commands: argparse._SubParsersAction) -> None:
    summaries = commands.add_parser("summaries", help=HELP)
    actions = summaries.add_subparsers(required=True, metavar="ACTION")

    subscribe = actions.add_parser("subscribe", help="send an account a summary")
    subscribe.add_argument("name", help="the account (an analyst or a manager)")
    _cadence(subscribe, required=True)
    subscribe.set_defaults(run=cmd_subscribe)

    unsubscribe = actions.add_parser("unsubscribe", help="stop an account's summaries")
    unsubscribe.add_argument("name")
    _cadence(unsubscribe, required=False)
    unsubscribe.set_defaults(run=cmd_unsubscribe)

    listing = actions.add_parser("list", help="every subscription and whether it delivers")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=cmd_list)

    send = actions.add_parser("send", help="send the summaries that are due, once each")
    send.add_argument("--due", action="store_true", help="send what is due (the timer's command)")
    send.add_argument("--dry-run", action="store_true", help="print who would get what; send none")
    send.set_defaults(run=cmd_send)


def _cadence(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    for cadence, grain in CADENCES.items():
        group.add_argument(
            f"--{cadence}",
            dest="cadence",
            action="store_const",
            const=cadence,
            help=f"the summary of the last whole {'ISO ' if grain == 'week' else ''}{grain}",
        )


def cmd_subscribe(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.summaries.delivery import standings

    sub = records.subscribe(settings.accounts_path, args.name, args.cadence)
    changed(settings, "summary-subscribe", sub.account, cadence=sub.cadence)
    state = next(st for s, st in standings(settings) if s == sub)
    print(f"{sub.account}: {sub.cadence} summary, {state}")
    return EXIT_OK


def cmd_unsubscribe(settings: Settings, args: argparse.Namespace) -> int:
    wanted = (args.cadence,) if args.cadence else tuple(CADENCES)
    ended = records.unsubscribe(settings.accounts_path, args.name, wanted)
    for cadence in ended:
        changed(settings, "summary-unsubscribe", normalise(args.name), cadence=cadence)
    print(f"ended: {', '.join(ended)}" if ended else "no such subscription; nothing changed")
    return EXIT_OK


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.summaries.delivery import standings

    listed = standings(settings)
    for sub, state in listed:
        since = datetime.fromtimestamp(sub.subscribed_at, UTC).isoformat(timespec="seconds")
        if args.json:
            record = {"account": sub.account, "cadence": sub.cadence, "since": since}
            print(json.dumps({**record, "state": state}))
        else:
            print(f"{sub.account}  {sub.cadence}  since {since}  {state}")
    if not listed and not args.json:
        print("no subscriptions: `kanon summaries subscribe NAME --weekly` makes one")
    for failed in records.sends(settings.accounts_path, (records.FAILED,)):
        if not args.json:
            print(
                f"failed: {failed.cadence} summary of {failed.period} to {failed.account} "
                f"({failed.attempts} attempts): {failed.error}; retried at the next send"
            )
    return EXIT_OK


def cmd_send(settings: Settings, args: argparse.Namespace) -> int:
    if not (args.due or args.dry_run):
        print(
            "kanon: error: `send` sends only what is due, once per account and period: add "
            "--due (or --dry-run to see who would get what).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from kanon.summaries.delivery import send_due

    outcome = send_due(settings, dry_run=args.dry_run)
    if not args.dry_run:
        print(f"{len(outcome.sent)} sent, {len(outcome.failed)} failed")
    return EXIT_FAILED if outcome.failed else EXIT_OK
