"""`kanon backup` and `kanon restore`: one archive holding what a Kanon home cannot regenerate.

The archive is a gzipped tar: Python's `tarfile` keeps file modes and, on the way back in, has
the `data` extraction filter (no absolute paths, no `..`, no links out, no device files),
which `zipfile` lacks. Inside:

    manifest.json      what it holds: the format, when, the schema versions, each file's sha256
    kanon.duckdb       the store: copied whole after a CHECKPOINT, under the store's own lock
    accounts.sqlite    accounts and sessions, through SQLite's backup API
    access.log         copied under the log's lock (no entry half-written)
    policy/...         the last check-property result, the DSR log and its salt

Left out: a regenerated sample (`kanon sample` makes it again) and the one-time set-up code.

A backup holds the store only while it checkpoints and copies the file (a second or less for a
store of a few hundred megabytes; the time is printed), so a sync that wants the store meanwhile
waits that long (it waits up to `LOCK_WAIT_SECONDS`) and the dashboard's reads too; the sync's
own lock (`Store.sync_lock`) is never taken, so a running sync does not hold a backup up.

`restore` checks the archive before it touches anything, unpacks it into a folder beside the
home, migrates its schemas, applies retention there (nothing older than the window comes
back), then swaps it in with renames.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kanon.access import accounts_file
from kanon.access import log as access_log
from kanon.errors import InvalidInput, KanonError
from kanon.private import FOLDER_MODE
from kanon.settings import Settings
from kanon.store import schema
from kanon.store.duckdb_store import Store

FORMAT = "kanon-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
POLICY = "policy"
MAX_MEMBERS = 10_000  # a home holds a handful of files: more means this is not our archive
MAX_BYTES = 64 * 1024**3  # unpacked; a bound against an archive that expands without end


class BackupError(KanonError):
    """A backup could not be written or restored; the message says what to do."""


@dataclass(frozen=True)
class Written:
    path: Path
    files: list[str]
    store_held_seconds: float  # how long the store was held (a sync waited at most this)

    def lines(self) -> list[str]:
        return [
            f"wrote {self.path} ({len(self.files)} files: {', '.join(self.files)})",
            f"the store was held {self.store_held_seconds:.2f} s for its snapshot",
        ]


# --- backup -------------------------------------------------------------------------------


def backup(settings: Settings, out: Path) -> Written:
    """Write the archive to `out` (mode 0600), whole or not at all."""
    if out.is_symlink() or out.is_dir():
        raise InvalidInput(f"--out {out} is a link or a folder; name a new file to write.")
    if not settings.store_path.exists():
        raise BackupError(
            f"There is no Kanon store at {settings.store_path}: nothing to back up. Check "
            "KANON_HOME (it must name the home the dashboard uses)."
        )
    with tempfile.TemporaryDirectory(prefix=".kanon-backup-", dir=settings.home) as staging:
        folder = Path(staging)
        held = snapshot_store(settings.store_path, folder / "kanon.duckdb")
        if settings.accounts_path.exists():
            snapshot_accounts(settings.accounts_path, folder / "accounts.sqlite")
        access_log.copy_to(settings.access_log_path, folder / "access.log")
        if settings.policy_folder.is_dir():
            shutil.copytree(settings.policy_folder, folder / POLICY, symlinks=True)
        files = sorted(
            str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()
        )
        manifest = _manifest(folder, files)
        _write_archive(folder, files, manifest, out)
    return Written(out, files, held)


def snapshot_store(store_path: Path, target: Path) -> float:
    """Copy the store as one consistent file; returns how long the store was held.

    The connection holds DuckDB's lock on the file, so no other process writes while the
    checkpoint folds the write-ahead log into the file and the copy reads it."""
    store = Store(store_path)
    started = time.monotonic()
    with store.connect() as con:
        con.execute("CHECKPOINT")
        shutil.copyfile(store_path, target)
        held = time.monotonic() - started
    return held


def snapshot_accounts(path: Path, target: Path) -> None:
    """SQLite's backup API: a consistent copy while the dashboard reads and writes."""
    with (
        closing(sqlite3.connect(path, timeout=10)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)


def _manifest(folder: Path, files: list[str]) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "store_schema": schema.VERSION,
        "accounts_schema": accounts_file.VERSION,
        "files": {name: _sha256(folder / name) for name in files},
    }


def _write_archive(folder: Path, files: list[str], manifest: dict, out: Path) -> None:
    try:
        descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except FileNotFoundError:
        raise InvalidInput(f"--out {out}: the folder {out.parent} does not exist.") from None
    except PermissionError:
        raise InvalidInput(f"--out {out}: no permission to write in {out.parent}.") from None
    try:
        os.fchmod(descriptor, 0o600)  # raw cells and password hashes: the owner's alone
        with os.fdopen(descriptor, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w:gz") as archive:
                body = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
                archive.addfile(info, io.BytesIO(body))
                for name in files:
                    archive.add(folder / name, arcname=name, recursive=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- restore ------------------------------------------------------------------------------


def restore(settings: Settings, archive: Path, force: bool = False) -> list[str]:
    """Restore `archive` into `settings.home`: empty (or `force`), checked, then swapped in."""
    home = settings.home.absolute()
    if _has_entries(home) and not force:
        raise BackupError(
            f"KANON_HOME {home} is not empty; restore replaces everything in it. Point "
            "KANON_HOME at an empty folder, or add --force to replace this home."
        )
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging_folder(home)
    try:
        manifest = unpack(archive, staging)
        restored = settings.model_copy(update={"home": staging})
        lines = _migrate(restored)
        lines += _apply_retention(restored)
        _make_private(staging)
        _swap_in(staging, home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = ", ".join(manifest["files"])
    return [f"restored {archive} (made {manifest['created_at']}) into {home}: {files}", *lines]


def _has_entries(home: Path) -> bool:
    return home.exists() and any(home.iterdir())


def _staging_folder(home: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=f".{home.name}.restore-", dir=home.parent))
    except PermissionError:
        raise BackupError(
            f"Cannot write in {home.parent}, where the restore unpacks before it swaps the home "
            "in. Run the restore as a user who may write there, or use a KANON_HOME one folder "
            "deeper (e.g. /var/lib/kanon/home)."
        ) from None


def unpack(archive: Path, folder: Path) -> dict:
    """Check every member, then extract (with tarfile's `data` filter where Python has it);
    returns the manifest."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            _refuse_unsafe(members, archive)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(folder, filter="data")
            else:  # Python before 3.11.4 (Debian 12's 3.11.2): no extraction filters yet, and
                # `_refuse_unsafe` has refused what the `data` filter would (links, special
                # files, absolute or parent paths); the restore makes every file private after.
                tar.extractall(folder)
    except (tarfile.TarError, EOFError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise BackupError(f"There is no archive {archive}.") from None
        raise BackupError(f"{archive} is not a Kanon backup ({error}).") from None
    return _checked_manifest(folder, archive)


def _refuse_unsafe(members: list[tarfile.TarInfo], archive: Path) -> None:
    if len(members) > MAX_MEMBERS:
        raise BackupError(f"{archive} holds {len(members)} entries: not a Kanon backup.")
    total = 0
    for member in members:
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not parts:
            raise BackupError(
                f"{archive} names {member.name!r}, outside the folder it unpacks into: refused, "
                "nothing was changed."
            )
        if not (member.isfile() or member.isdir()):
            raise BackupError(
                f"{archive} holds {member.name!r}, which is a link or a special file: refused, "
                "nothing was changed (a Kanon backup holds only files)."
            )
        total += member.size
    if total > MAX_BYTES:
        raise BackupError(f"{archive} unpacks to more than {MAX_BYTES} bytes: refused.")


def _checked_manifest(folder: Path, archive: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError(f"{archive} has no readable {MANIFEST}: not a Kanon backup.") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{archive} is a backup format this Kanon does not know "
            f"({manifest.get('format')} {manifest.get('format_version')}): upgrade Kanon."
        )
    found = sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST
    )
    if found != sorted(manifest["files"]):
        raise BackupError(f"{archive} does not hold the files its manifest lists: damaged.")
    for name, digest in manifest["files"].items():
        if _sha256(folder / name) != digest:
            raise BackupError(f"{archive}: {name} does not match its checksum: damaged.")
    (folder / MANIFEST).unlink()
    return manifest


def _migrate(settings: Settings) -> list[str]:
    """Bring the restored files to this Kanon's schemas (refusing newer ones) before use."""
    lines = []
    migrated = Store(settings.store_path).migrate()
    if migrated.steps:
        lines.append(f"store: schema {migrated.before} → {migrated.after}")
    if settings.accounts_path.exists():
        with accounts_file.connect(settings.accounts_path) as con:
            # Sign-ins open when the backup was taken end here: everyone signs in again on the
            # restored install. (Ended OpenID Connect sign-ins stay remembered, so an old
            # identity cookie cannot reopen one.)
            ended = con.execute("DELETE FROM sessions").rowcount
            con.execute("DELETE FROM session_tickets")
        lines.append(f"accounts: {ended} open session(s) from the backup ended")
    return lines


def _apply_retention(settings: Settings) -> list[str]:
    from kanon.retention import purge

    return [f"retention: {line}" for line in purge(settings)]


def _make_private(folder: Path) -> None:
    folder.chmod(FOLDER_MODE)
    for path in folder.rglob("*"):
        path.chmod(FOLDER_MODE if path.is_dir() else 0o600)


def _swap_in(staging: Path, home: Path) -> None:
    """The restored folder takes the home's name; the old home (empty, or replaced with
    --force) is removed after. Each step is a rename within one folder."""
    if not home.exists():
        staging.rename(home)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{home.name}.old-", dir=home.parent))
    old.rmdir()
    home.rename(old)
    staging.rename(home)
    shutil.rmtree(old, ignore_errors=True)
