"""The access log: who looked at which report and range, and when. Never visitor data.

One JSON object per line in KANON_HOME/access.log; entries older than the retention window are
removed by `kanon purge` and on every sync, like the statistics themselves.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, date, datetime
from pathlib import Path

_LOCK = threading.Lock()


def record(
    path: Path,
    who: str,
    action: str,
    report: str,
    first: date | None = None,
    last: date | None = None,
    grain: str | None = None,
) -> None:
    """Append one entry (view or download)."""
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "who": who,
        "action": action,
        "report": report,
        "grain": grain,
        "start": first.isoformat() if first else None,
        "end": last.isoformat() if last else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")


def read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]


def purge(path: Path, first_day: date) -> int:
    """Drop entries made before the retention window; returns how many were dropped."""
    if not path.exists():
        return 0
    with _LOCK:
        entries = read(path)
        kept = [e for e in entries if date.fromisoformat(e["at"][:10]) >= first_day]
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept), encoding="utf-8"
        )
        os.replace(temporary, path)  # atomic: a crash never leaves half a log
    return len(entries) - len(kept)
