"""The `kanon` command: sample, sync, export, audit, purge, check-property, dsr, users, logs,
summaries, notes, and the operator's doctor, backup, restore and migrate."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb

from connectors.base import ConnectorError
from connectors.catalog import BREAKDOWNS, GRAINS
from kanon import notes_cli, summaries_cli, users_cli
from kanon.errors import EXIT_FAILED, EXIT_USAGE, InvalidInput, KanonError
from kanon.private import make_private
from kanon.settings import Settings, load_settings
from kanon.sources import bigquery_export_folder, make_connector, sample_folder
from kanon.store.duckdb_store import Store, StoreError
from reports.protect import listing_of

EXIT_OK = 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "summary", False) and args.dialect is not None:
        parser.error(
            "--dialect is for a CSV (--report); the workbook (--summary) has none: a spreadsheet "
            "shows its numbers in its own locale. Leave out --dialect."
        )
    try:
        if args.run is cmd_doctor:  # it reports on the settings and the home, fixing nothing
            return cmd_doctor(None, args)
        settings = load_settings()
        make_private(settings.home)  # before anything is written: the home is its owner's alone
        return args.run(settings, args)
    # Kanon's own errors carry a message for the user and their exit code; anything else is a
    # bug and keeps its traceback.
    except KanonError as error:
        print(f"kanon: error: {error}", file=sys.stderr)
        return error.exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kanon", description="Privacy-aware GA4 reporting: aggregate statistics only."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    sample = commands.add_parser("sample", help="regenerate the sample property under KANON_HOME")
    sample.add_argument(
        "--scale",
        type=_positive_float,
        default=1.0,
        help="traffic multiplier (1 = about 400 visits a day)",
    )
    sample.add_argument("--seed", type=int, default=None, help="random seed (default: setting)")
    sample.add_argument(
        "--bigquery-export",
        action="store_true",
        help="also write it as GA4's BigQuery export (events), for a local BigQuery fake",
    )
    sample.set_defaults(run=cmd_sample)

    sync = commands.add_parser("sync", help="pull, store, protect and publish the release")
    sync.add_argument(
        "--source",
        choices=["sample", "ga4", "bigquery"],
        default=None,
        help="where to pull from (default: the `source` setting)",
    )
    sync.set_defaults(run=cmd_sync)

    export = commands.add_parser(
        "export", help="write a CSV summary of one report, or the workbook of every report"
    )
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("--report", choices=list(BREAKDOWNS), help="one report, as CSV")
    what.add_argument("--summary", action="store_true", help="every report, as an XLSX workbook")
    export.add_argument("--grain", required=True, choices=list(GRAINS))
    export.add_argument("--start", required=True, type=_day, help="YYYY-MM-DD")
    export.add_argument("--end", required=True, type=_day, help="YYYY-MM-DD")
    export.add_argument("--out", required=True, type=Path, help="file to write")
    export.add_argument(
        "--dialect",
        choices=["plain", "excel-nb"],
        help="CSV flavour: plain (',' and '.', for tools; the default) or excel-nb "
        "(';' and ',', for a spreadsheet with a Norwegian locale)",
    )
    export.set_defaults(run=cmd_export)

    audit = commands.add_parser("audit", help="attacker check; exit 1 if any cell is exposed")
    audit.add_argument(
        "--full",
        action="store_true",
        help="solve every block from the stored release alone, reusing no earlier proof",
    )
    audit.set_defaults(run=cmd_audit)

    purge = commands.add_parser("purge", help="delete everything older than the retention window")
    purge.set_defaults(run=cmd_purge)

    check = commands.add_parser(
        "check-property", help="check the GA4 property against the privacy policy (exit 0/1/3)"
    )
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.set_defaults(run=cmd_check_property)
    _dsr_parser(commands)
    users_cli.add_commands(commands, day=_day)
    summaries_cli.add_commands(commands)
    notes_cli.add_commands(commands, day=_day)
    _operations_parser(commands)
    return parser


def _operations_parser(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser("doctor", help="is this install ready? exit 0 yes, 1 no")
    doctor.add_argument(
        "--online", action="store_true", help="also ask GA4, BigQuery and Hotjar once each"
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.set_defaults(run=cmd_doctor)

    backup = commands.add_parser("backup", help="write one archive of the store, accounts, logs")
    backup.add_argument("--out", required=True, type=Path, help="the archive to write (.tar.gz)")
    backup.set_defaults(run=cmd_backup)

    restore = commands.add_parser("restore", help="restore a backup into an empty KANON_HOME")
    restore.add_argument("archive", type=Path, help="a file written by `kanon backup`")
    restore.add_argument(
        "--force", action="store_true", help="replace a KANON_HOME that is not empty"
    )
    restore.set_defaults(run=cmd_restore)

    migrate = commands.add_parser("migrate", help="bring the store and accounts file up to date")
    migrate.set_defaults(run=cmd_migrate)


def _dsr_parser(commands: argparse._SubParsersAction) -> None:
    dsr = commands.add_parser("dsr", help="data-subject requests in Hotjar and GA4 (admins)")
    actions = dsr.add_subparsers(required=True, metavar="ACTION")
    for name, text in (
        ("lookup", "show what Hotjar holds on a person; deletes nothing"),
        ("delete", "delete what Hotjar and GA4 hold on a person, after a confirmation"),
    ):
        action = actions.add_parser(name, help=text)
        who = action.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", help="the person's email address")
        who.add_argument("--user-id", help="the user id your site sent to GA4 / Hotjar")
        who.add_argument("--client-id", help="GA4's client id (the _ga cookie)")
        if name == "delete":
            action.add_argument("--yes", action="store_true", help="do not ask to confirm")
        action.set_defaults(run=cmd_dsr, dsr_action=name)
    log = actions.add_parser("log", help="print the request log (identifiers hashed)")
    log.add_argument("--json", action="store_true", help="one JSON object per line")
    log.set_defaults(run=cmd_dsr_log)


def cmd_sample(settings: Settings, args: argparse.Namespace) -> int:
    from connectors.sample import write_sample

    seed = settings.sample_seed if args.seed is None else args.seed
    folder = write_sample(sample_folder(settings), seed=seed, scale=args.scale, today=None)
    print(f"sample property (seed {seed}, scale {args.scale:g}) written to {folder}")
    if args.bigquery_export:
        from connectors.sample_export import write_export
        from connectors.sample_property import generate

        export = write_export(bigquery_export_folder(settings), generate(seed, args.scale))
        print(f"its GA4 BigQuery export (events) written to {export}")
    print("run `kanon sync --source sample` to publish it")
    return EXIT_OK


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.sync import refuse_in_developer_mode, sync

    source = args.source or settings.source
    refuse_in_developer_mode(settings, source)
    connector = make_connector(settings, source)
    # A progress line is for a person at a terminal; the daily timer's journal gets the
    # outcome alone: one line, the report or the error.
    progress = _print_progress if sys.stderr.isatty() else None
    try:
        report = sync(settings, connector, progress=progress)
    except KanonError:
        _end_progress_line(progress)
        raise
    except (OSError, duckdb.Error) as error:  # the machine's (a full disk), not a bug's
        _end_progress_line(progress)
        raise SyncFailed(
            f"the sync failed ({type(error).__name__}: {error}); nothing of it was published "
            "and the last release stays. Fix the cause and run `kanon sync` again."
        ) from None
    _end_progress_line(progress)
    print("\n".join(report.lines()))
    for warning in report.warnings:  # the release was published: a warning, not a failure
        print(f"kanon: warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.sources import summary_book, summary_facts
    from reports import export
    from reports.status import SHOWN_WITHHELD

    _refuse_a_link(args.out)
    release = _release(settings)
    facts = summary_facts(settings, release.info)
    if args.summary:
        book = summary_book(settings, release, args.grain, args.start, args.end)
        write_file(args.out, book)
        print(
            f"wrote the summary workbook ({args.grain}, {args.start} to {args.end}) to {args.out}"
        )
        return EXIT_OK
    selection = export.selection_for(release, args.report, args.grain, args.start, args.end)
    frame = export.summary(release, args.report, selection)
    header = export.provenance(release, selection, facts, report=args.report)
    write_file(args.out, export.to_csv(frame, header, args.dialect or "plain"))
    withheld = int((frame["visits"] == SHOWN_WITHHELD).sum())
    print(f"wrote {len(frame)} rows ({withheld} withheld) to {args.out}")
    return EXIT_OK


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from reports.audit import audit

    release = _release(settings)
    proven = frozenset() if args.full else Store(settings.store_path).read_release_proofs()
    listing = listing_of(release.info)
    result = audit(release.cells, release.k, proven=proven, listing=listing)
    print("\n".join(result.lines()))
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.retention import purge

    for line in purge(settings):
        print(line)
    return EXIT_OK


def cmd_check_property(settings: Settings, args: argparse.Namespace) -> int:
    from connectors.ga4_auth import load_credentials
    from kanon.policy.config import PolicyError
    from kanon.policy.property_check import EXIT_NOT_RUN, check_property, save_report
    from kanon.policy_setup import last_check_path, property_config

    try:
        report = check_property(property_config(settings), load_credentials())
    except (PolicyError, ConnectorError) as error:
        print(f"kanon: error: {error}", file=sys.stderr)
        return EXIT_NOT_RUN
    save_report(report, last_check_path(settings))
    print(json.dumps(report.to_dict(), indent=2) if args.json else "\n".join(report.lines()))
    return report.exit_code


def cmd_dsr(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.policy import dsr, google
    from kanon.policy.config import PolicyError
    from kanon.policy_setup import dsr_config

    kind, value = next(
        (kind, getattr(args, kind)) for kind in dsr.KINDS if getattr(args, kind) is not None
    )
    try:
        config = dsr_config(settings)
        subject = dsr.Subject(kind, value)
        if args.dsr_action == "lookup":
            result = dsr.lookup(config, subject)
        else:
            if not (args.yes or _confirmed(kind, value)):
                print("Nothing was deleted.", file=sys.stderr)
                return EXIT_USAGE
            key = config.ga4_key
            result = dsr.delete(config, subject, lambda: google.key_credentials(key, [google.EDIT]))
    except PolicyError as error:
        print(f"kanon: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(result.lines()))
    return result.exit_code


def cmd_dsr_log(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.policy import request_log

    entries = request_log.read(settings.policy_folder, settings.dsr_log_retention_days)
    if args.json:
        for entry in entries:
            print(json.dumps(entry, sort_keys=True))
        return EXIT_OK
    if not entries:
        print("No data-subject request is logged.")
    for entry in entries:
        tools = ", ".join(f"{tool} {part['status']}" for tool, part in entry["tools"].items())
        print(
            f"{entry['when']}  {entry['action']:<6}  {entry['subject_kind']:<9}  "
            f"{entry['subject_hash'][:24]}…  by {entry.get('by')}  {tools}"
        )
    return EXIT_OK


def cmd_doctor(settings: Settings | None, args: argparse.Namespace) -> int:
    from kanon import doctor

    os.umask(0o077)  # whatever it writes (a migrated accounts file) stays private
    findings = doctor.examine(online=args.online)
    print(doctor.to_json(findings) if args.json else "\n".join(f.line() for f in findings))
    return EXIT_OK if doctor.ready(findings) else EXIT_FAILED


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.backup import backup

    print("\n".join(backup(settings, args.out).lines()))
    return EXIT_OK


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.backup import restore

    print("\n".join(restore(settings, args.archive, force=args.force)))
    return EXIT_OK


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.access import accounts_file

    migrated = Store(settings.store_path).migrate()
    print(_migration_line("store", settings.store_path, migrated.before, list(migrated.steps)))
    before = accounts_file.version_of(settings.accounts_path)
    steps = accounts_file.migrate_file(settings.accounts_path)
    print(_migration_line("accounts", settings.accounts_path, before, steps))
    return EXIT_OK


def _migration_line(name: str, path: Path, before: int, steps: list[str]) -> str:
    if not steps:
        return f"{name}: {path} is at schema version {before}, this Kanon's; nothing to do"
    done = "; ".join(steps)
    return f"{name}: {path} migrated from schema version {before} to {before + len(steps)}: {done}"


def _confirmed(kind: str, value: str) -> bool:
    prompt = (
        f"Delete everything Hotjar and GA4 hold on the person with {kind} {value}? This cannot be "
        "undone. Type 'delete' to go on: "
    )
    try:
        return input(prompt).strip().lower() == "delete"
    except EOFError:  # no terminal to ask: --yes is the way to say it
        print("\nNo answer (use --yes in scripts).", file=sys.stderr)
        return False


def _refuse_a_link(path: Path) -> None:
    if path.is_symlink():
        raise InvalidInput(
            f"--out {path} is a symbolic link; Kanon does not write through links (the file it "
            "points to could be anyone's). Remove the link or name another file."
        )
    if path.is_dir():
        raise InvalidInput(f"--out {path} is a folder; name a file to write.")


def write_file(path: Path, content: bytes) -> None:
    """Write `content` to `path` whole or not at all: a new file in the same folder, renamed
    over `path`. A rename replaces a symbolic link at `path` rather than following it, so a
    link planted after the check still redirects nothing."""
    _refuse_a_link(path)
    folder = path.parent
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise InvalidInput(f"--out {path}: the folder {folder} does not exist.") from None
    except PermissionError:
        raise InvalidInput(f"--out {path}: no permission to write in {folder}.") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # as a plain new file would be
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _release(settings: Settings):
    from kanon.store.releases import current

    release = current(Store(settings.store_path))
    if release is None:
        raise StoreError("There is no release yet. Run `kanon sync --source sample` (or ga4).")
    return release


class SyncFailed(KanonError):
    """A sync stopped on the machine's error (a full disk, an unwritable store): one line
    naming it. Any other exception is a bug and keeps its traceback."""


def _end_progress_line(progress: object) -> None:
    if progress is not None:
        print(file=sys.stderr)


def _print_progress(fraction: float, message: str) -> None:
    print(f"\r[{fraction:4.0%}] {message:<60}", end="", file=sys.stderr, flush=True)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


if __name__ == "__main__":
    sys.exit(main())
