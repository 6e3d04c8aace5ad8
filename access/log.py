"""The access log: who signed in, looked at or downloaded which report and range, and when.

Sign-ins, sign-outs, failed attempts (the name tried, never a password), page views, downloads
and changes to accounts (and by whom). Never visitor data. One JSON object per line in
KANON_HOME/access.log, only ever appended to; entries older than the retention window are
removed by `kanon purge` and on every sync, like the statistics themselves.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

_LOCK = threading.Lock()

SIGN_IN, SIGN_OUT, SIGN_IN_FAILED, IDLE_TIMEOUT = "sign-in", "sign-out", "sign-in-failed", "idle"
VIEW, DOWNLOAD = "view", "download"
FIELDS = ("at", "who", "action", "report", "grain", "start", "end", "detail")


def event(path: Path, who: str, action: str, **details: object) -> None:
    """Append one entry; `details` are short facts (a report, a range, an account name)."""
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "who": who, "action": action}
    entry.update({name: value for name, value in details.items() if value is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path), path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


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


def read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]


def entries(
    path: Path, since: date | None = None, who: str | None = None, action: str | None = None
) -> list[dict]:
    """The entries from `since` on, optionally only one person's or one action's."""
    wanted = who.strip().lower() if who else None
    return [
        entry
        for entry in read(path)
        if (since is None or date.fromisoformat(entry["at"][:10]) >= since)
        and (wanted is None or str(entry.get("who", "")).lower() == wanted)
        and (action is None or entry.get("action") == action)
    ]


def line(entry: dict) -> str:
    """One entry as a line of text for `kanon access-log`."""
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
    return "  ".join(str(part) for part in parts)


def purge(path: Path, first_day: date) -> int:
    """Drop entries made before the retention window; returns how many were dropped."""
    if not path.exists():
        return 0
    with _exclusive(path):
        entries = read(path)
        kept = [e for e in entries if date.fromisoformat(e["at"][:10]) >= first_day]
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept), encoding="utf-8"
        )
        os.replace(temporary, path)  # atomic: a crash never leaves half a log
    return len(entries) - len(kept)
