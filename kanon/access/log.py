"""The access log: who signed in, looked at or downloaded which report and range, and when.

Sign-ins, sign-outs, failed attempts (the name tried, never a password), page views, downloads
and changes to accounts (and by whom). Never visitor data. One JSON object per line in
KANON_HOME/access.log, only ever appended to; entries older than the retention window are
removed by `kanon purge` and on every sync, like the statistics themselves.

The file is its owner's alone (0600). Every value is bounded (`MAX_TEXT`), so nobody can grow
the log by sending a long name. A line that is not a dated JSON object (half a line left by a
full disk, say) is skipped and counted, never raised: reading, paging and purging go on, and
the Admin page says how many lines were skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

_LOCK = threading.Lock()

SIGN_IN, SIGN_OUT, SIGN_IN_FAILED, IDLE_TIMEOUT = "sign-in", "sign-out", "sign-in-failed", "idle"
VIEW, DOWNLOAD = "view", "download"
FIELDS = ("at", "who", "action", "report", "grain", "start", "end", "detail")
MAX_TEXT = 256  # characters of any one value; a name may be 254
# Actions others than the dashboard's pages write; the Admin page offers these as filters.
NOTE_ADD, NOTE_EDIT, NOTE_REMOVE = "note-add", "note-edit", "note-remove"
KNOWN_ACTIONS = (
    SIGN_IN, SIGN_OUT, SIGN_IN_FAILED, IDLE_TIMEOUT, VIEW, DOWNLOAD, "sync", "user-add",
    "user-remove", "user-set-role", "user-reset-password", "user-disable", "user-enable",
    "user-set-email", "summary-subscribe", "summary-unsubscribe", "summary-sent",
    NOTE_ADD, NOTE_EDIT, NOTE_REMOVE,
)  # fmt: skip


def event(path: Path, who: str, action: str, **details: object) -> None:
    """Append one entry; `details` are short facts (a report, a range, an account name)."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    entry: dict[str, object] = {"at": at, "who": who, "action": action}
    entry.update({name: value for name, value in details.items() if value is not None})
    bounded = {name: _bounded(value) for name, value in entry.items()}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(bounded, ensure_ascii=False, default=str) + "\n"
    with _exclusive(path):
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "r+b") as log:
            end = log.seek(0, os.SEEK_END)
            if end and os.pread(descriptor, 1, end - 1) != b"\n":
                text = "\n" + text  # half a line was left (a full disk): end it, keep ours whole
            log.write(text.encode("utf-8"))


def _bounded(value: object) -> object:
    """A value as logged: text longer than `MAX_TEXT` is cut, saying how long it was."""
    plain = isinstance(value, str | int | float | bool) or value is None
    text = value if plain else str(value)
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return f"{text[:MAX_TEXT]}… ({len(text)} chars)"
    return text


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """The log to ourselves, across processes too: the dashboard appends while a sync or
    `kanon purge` rewrites the file, and an entry appended in between would be lost."""
    with _LOCK, path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def copy_to(path: Path, target: Path) -> bool:
    """Copy the log whole, no entry half-written (a backup); False when there is none."""
    if not path.exists():
        return False
    with _exclusive(path):
        shutil.copyfile(path, target)
    return True


def record(
    path: Path,
    who: str,
    action: str,
    report: str,
    first: date | None = None,
    last: date | None = None,
    grain: str | None = None,
) -> None:
    """Append a view or download of `report` over a range."""
    event(
        path,
        who,
        action,
        report=report,
        grain=grain,
        start=first.isoformat() if first else None,
        end=last.isoformat() if last else None,
    )


def note_changed(path: Path, who: str, action: str, note_id: int, first: date, last: date) -> None:
    """A note added, edited or removed: who, which note and its days. Never its text: a note
    removed because it should not have been written would live on here."""
    event(path, who, action, note=note_id, start=first.isoformat(), end=last.isoformat())


def parse(text: str) -> dict | None:
    """One line as an entry, or None if it is not a JSON object with a valid `at` day."""
    if not text.strip():
        return None
    try:
        entry = json.loads(text)
        date.fromisoformat(entry["at"][:10])
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None
    return entry if isinstance(entry, dict) else None


def _day_of(entry: dict) -> date:
    return date.fromisoformat(entry["at"][:10])


def _lines(path: Path) -> Iterator[str]:
    """The log's lines, oldest first, one at a time (never the whole file in memory)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as log:
            yield from log
    except FileNotFoundError:
        return


@dataclass
class Scan:
    """Entries read from the log, and how many non-blank lines were skipped as malformed."""

    entries: list[dict] = field(default_factory=list)
    skipped: int = 0


def scan(path: Path) -> Scan:
    result = Scan()
    for text in _lines(path):
        entry = parse(text)
        if entry is not None:
            result.entries.append(entry)
        elif text.strip():
            result.skipped += 1
    return result


def read(path: Path) -> list[dict]:
    """Every well-formed entry, oldest first; malformed lines are skipped (`skipped_lines`)."""
    return scan(path).entries


_SKIPPED_CACHE: dict[Path, tuple[tuple[int, int], int]] = {}


def skipped_lines(path: Path) -> int:
    """How many lines of the log are malformed (streamed; remembered while the file is
    unchanged)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return 0
    stamp = (info.st_size, info.st_mtime_ns)
    known = _SKIPPED_CACHE.get(path)
    if known and known[0] == stamp:
        return known[1]
    count = sum(1 for text in _lines(path) if text.strip() and parse(text) is None)
    _SKIPPED_CACHE[path] = (stamp, count)
    return count


def _matches(entry: dict, since: date | None, wanted: str | None, action: str | None) -> bool:
    return (
        (since is None or _day_of(entry) >= since)
        and (wanted is None or str(entry.get("who", "")).lower() == wanted)
        and (action is None or entry.get("action") == action)
    )


def entries(
    path: Path, since: date | None = None, who: str | None = None, action: str | None = None
) -> list[dict]:
    """The entries from `since` on, optionally only one person's or one action's."""
    wanted = who.strip().lower() if who else None
    return [entry for entry in read(path) if _matches(entry, since, wanted, action)]


@dataclass(frozen=True)
class Page:
    """Some of the log's matching entries, newest first, and whether older ones follow."""

    entries: list[dict]
    more: bool


def page(
    path: Path,
    since: date | None = None,
    who: str | None = None,
    action: str | None = None,
    offset: int = 0,
    limit: int = 200,
) -> Page:
    """Matching entries `offset` to `offset + limit`, newest first, read from the file's end.

    Only the blocks holding these entries are read (the log only grows at its end and is in
    time order, so the scan stops at the first entry older than `since`)."""
    wanted = who.strip().lower() if who else None
    found: list[dict] = []
    for entry in _newest_first(path):
        if since is not None and _day_of(entry) < since:
            break
        if _matches(entry, None, wanted, action):
            found.append(entry)
            if len(found) > offset + limit:
                break
    return Page(found[offset : offset + limit], more=len(found) > offset + limit)


def _newest_first(path: Path, block: int = 1 << 16) -> Iterator[dict]:
    """Well-formed entries from the end of the file backwards, a block at a time."""
    try:
        log = path.open("rb")
    except FileNotFoundError:
        return
    with log:
        position = log.seek(0, os.SEEK_END)
        rest = b""
        while position > 0:
            step = min(block, position)
            position -= step
            log.seek(position)
            chunk = log.read(step) + rest
            lines = chunk.split(b"\n")
            rest = lines.pop(0)  # maybe the tail of a line that starts in an earlier block
            for raw in reversed(lines):
                entry = parse(raw.decode("utf-8", errors="replace"))
                if entry is not None:
                    yield entry
        entry = parse(rest.decode("utf-8", errors="replace"))
        if entry is not None:
            yield entry


def escape(text: str) -> str:
    """`text` with control characters (newlines, ANSI escapes, ...) written as escapes, so a
    name tried at sign-in cannot forge a line or drive the terminal it is printed on."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def line(entry: dict) -> str:
    """One entry as a line of text for `kanon access-log` (control characters escaped)."""
    parts = [entry.get("at", ""), entry.get("who") or "-", entry.get("action", "")]
    if entry.get("report"):
        parts.append(entry["report"])
    if entry.get("start") or entry.get("end"):
        span = f"{entry.get('start', '')}..{entry.get('end', '')}"
        parts.append(f"{entry['grain']} {span}" if entry.get("grain") else span)
    extra = {k: v for k, v in entry.items() if k not in FIELDS}
    parts.extend(f"{name}={value}" for name, value in sorted(extra.items()))
    if entry.get("detail"):
        parts.append(str(entry["detail"]))
    return escape("  ".join(str(part) for part in parts))


def json_line(entry: dict) -> str:
    """One entry as JSON for `kanon access-log --json`: valid JSON, with every character a
    terminal would act on (C1 controls, line separators too) escaped."""
    text = json.dumps(entry, ensure_ascii=False, default=str)
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


def purge(path: Path, first_day: date) -> int:
    """Drop entries made before the retention window, and malformed lines (which cannot be
    dated); returns how many lines were dropped. Never raises on the log's content."""
    if not path.exists():
        return 0
    with _exclusive(path):
        entries = read(path)
        malformed = skipped_lines(path)
        kept = [e for e in entries if _day_of(e) >= first_day]
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in kept)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # atomic: a crash never leaves half a log
    return len(entries) - len(kept) + malformed
