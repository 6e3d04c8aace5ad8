"""The `kanon` command: sample, sync, export, audit, purge, check-property."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from connectors.base import ConnectorError
from connectors.catalog import BREAKDOWNS, GRAINS, CatalogError
from kanon.settings import Settings, SettingsError, load_settings
from kanon.sources import make_connector, sample_folder
from kanon.sync import SyncError
from reports.protect import ReleaseError
from store.db import Store, StoreError

# Failures that carry a message for the user; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (
    SettingsError,
    CatalogError,
    ConnectorError,
    StoreError,
    SyncError,
    ReleaseError,
    ValueError,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.run(settings, args)
    except EXPECTED_ERRORS as error:
        print(f"kanon: error: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, SettingsError | CatalogError) else EXIT_FAILED


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
    sample.set_defaults(run=cmd_sample)

    sync = commands.add_parser("sync", help="pull, store, protect and publish the release")
    sync.add_argument(
        "--source",
        choices=["sample", "ga4"],
        default=None,
        help="where to pull from (default: the `source` setting)",
    )
    sync.set_defaults(run=cmd_sync)

    export = commands.add_parser("export", help="write a CSV summary from the release")
    export.add_argument("--report", required=True, choices=list(BREAKDOWNS))
    export.add_argument("--grain", required=True, choices=list(GRAINS))
    export.add_argument("--start", required=True, type=_day, help="YYYY-MM-DD")
    export.add_argument("--end", required=True, type=_day, help="YYYY-MM-DD")
    export.add_argument("--out", required=True, type=Path, help="CSV file to write")
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

    check = commands.add_parser("check-property", help="check the GA4 property's settings")
    check.set_defaults(run=cmd_check_property)
    return parser


def cmd_sample(settings: Settings, args: argparse.Namespace) -> int:
    from connectors.sample import write_sample

    seed = settings.sample_seed if args.seed is None else args.seed
    folder = write_sample(sample_folder(settings), seed=seed, scale=args.scale, today=None)
    print(f"sample property (seed {seed}, scale {args.scale:g}) written to {folder}")
    print("run `kanon sync --source sample` to publish it")
    return EXIT_OK


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.sync import sync

    source = args.source or settings.source
    connector = make_connector(settings, source)
    report = sync(settings, connector, progress=_print_progress)
    print(file=sys.stderr)
    print("\n".join(report.lines()))
    return EXIT_OK


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from reports.export import summary_for_range, to_csv

    release = _release(settings)
    frame = summary_for_range(release, args.report, args.grain, args.start, args.end)
    args.out.write_bytes(to_csv(frame))
    withheld = int((frame["status"] != "published").sum())
    print(f"wrote {len(frame)} rows ({withheld} withheld) to {args.out}")
    return EXIT_OK


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from reports.audit import audit

    release = _release(settings)
    proven = frozenset() if args.full else Store(settings.store_path).read_release_proofs()
    result = audit(release.cells, release.k, proven=proven)
    print("\n".join(result.lines()))
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from kanon.retention import purge

    for line in purge(settings):
        print(line)
    return EXIT_OK


def cmd_check_property(settings: Settings, args: argparse.Namespace) -> int:
    from connectors.ga4_admin import check_property

    result = check_property(settings)
    print("\n".join(result.lines()))
    return EXIT_OK if result.ok else EXIT_FAILED


def _release(settings: Settings):
    from reports.protect import current

    release = current(Store(settings.store_path))
    if release is None:
        raise StoreError("There is no release yet. Run `kanon sync --source sample` (or ga4).")
    return release


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
