"""The data-subject request log: when, which tools, what came of it, and each tool's receipt.

A person's identifier is never written: only a salted hash (HMAC-SHA-256 with a salt made on
first use and kept beside the log), enough to tell that two requests were about the same person
without saying who. Receipts are scrubbed of the identifier before they are written. Entries
older than the retention period are dropped whenever the log is written or read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
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


def record(folder: Path, entry: dict, retention_days: int, raw: str) -> dict:
    """Append `entry` (with `raw`, the identifier, scrubbed out of it); returns what was written."""
    written = scrub(entry, raw, "(identifier)")
    purge(folder, retention_days)
    folder.mkdir(parents=True, exist_ok=True)
    path = log_path(folder)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(written, sort_keys=True, default=str) + "\n")
    return written


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
    """`value` with every occurrence of `raw` (any case) replaced, in nested dicts and lists."""
    if not raw:
        return value
    if isinstance(value, dict):
        return {scrub(k, raw, replacement): scrub(v, raw, replacement) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, raw, replacement) for item in value]
    if isinstance(value, str):
        lowered, needle = value.lower(), raw.lower()
        out, start = [], 0
        while (found := lowered.find(needle, start)) >= 0:
            out += [value[start:found], replacement]
            start = found + len(raw)
        return "".join(out) + value[start:]
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
