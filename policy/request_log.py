"""The data-subject request log: when, which tools, what came of it, and each tool's receipt.

A person's identifier is never written: only a salted hash (HMAC-SHA-256 with a salt made on
first use and kept beside the log), enough to tell that two requests were about the same person
without saying who. Callers scrub receipts of the identifier (`scrub`) before recording. Entries
older than the retention period are dropped whenever the log is written or read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LOG_NAME = "dsr_requests.jsonl"
SALT_NAME = "dsr_salt"


def log_path(folder: Path) -> Path:
    return folder / LOG_NAME


def subject_hash(folder: Path, kind: str, value: str) -> str:
    """`hmac-sha256:...` of the identifier (normalised), with this installation's salt."""
    digest = hmac.new(_salt(folder), f"{kind}:{value.strip().lower()}".encode(), hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()


def record(folder: Path, entry: dict, retention_days: int) -> dict:
    """Append `entry` (dropping entries past the retention period first); returns it."""
    purge(folder, retention_days)
    folder.mkdir(parents=True, exist_ok=True)
    path = log_path(folder)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
    return entry


def read(folder: Path, retention_days: int) -> list[dict]:
    """Every entry still within the retention period, oldest first."""
    purge(folder, retention_days)
    return _entries(log_path(folder))


def purge(folder: Path, retention_days: int, now: datetime | None = None) -> int:
    """Drop entries older than `retention_days`; how many were dropped."""
    path = log_path(folder)
    entries = _entries(path)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    kept = [entry for entry in entries if _when(entry) >= cutoff]
    if len(kept) != len(entries):
        partial = path.with_suffix(".tmp")
        partial.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in kept))
        os.chmod(partial, 0o600)
        partial.replace(path)
    return len(entries) - len(kept)


def scrub(value: Any, raw: str, replacement: str) -> Any:
    """`value` with `raw` (any case, as a whole token) replaced, in nested dicts and lists.

    Whole tokens only, so a short user id such as "2" does not eat the digits of a timestamp.
    """
    if not raw:
        return value
    pattern = re.compile(rf"(?<![\w.@+-]){re.escape(raw)}(?![\w.@+-])", re.IGNORECASE)
    return _replace(value, pattern, replacement)


def _replace(value: Any, pattern: re.Pattern[str], replacement: str) -> Any:
    if isinstance(value, dict):
        return {
            _replace(k, pattern, replacement): _replace(v, pattern, replacement)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_replace(item, pattern, replacement) for item in value]
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    return value


def _salt(folder: Path) -> bytes:
    path = folder / SALT_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by a request running at the same moment: use that one
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text(encoding="utf-8").strip())


def _entries(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _when(entry: dict) -> datetime:
    moment = datetime.fromisoformat(str(entry.get("when")))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
