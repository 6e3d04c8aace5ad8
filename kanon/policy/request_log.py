"""The data-subject request log: when, which tools, what came of it, and each tool's receipt.

A person's identifier is never written: only a salted hash (HMAC-SHA-256 with a salt made on
first use and kept beside the log), enough to tell that two requests were about the same person
without saying who. Callers scrub receipts of the identifier (`scrub`) before recording, and
only named receipt fields are ever written (`RECEIPT_FIELDS`): an API that echoes more about the
person (an address, a name, their visits) has it dropped, not logged. Entries older than the
retention period are dropped whenever the log is written or read.
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

from kanon.policy.config import PolicyError

LOG_NAME = "dsr_requests.jsonl"
SALT_NAME = "dsr_salt"
SALT_BYTES = 32

# What a receipt may keep: ids and outcomes of the request, never data about the person.
# Hotjar's user lookup: its id, whether it deleted, and per site how many hits it found; GA4's
# submitUserDeletion: when it takes effect, for which property, by which identifier kind.
RECEIPT_FIELDS = frozenset(
    {"lookup_id", "request_id", "id", "status", "deleted", "found", "deletion_request_time",
     "property", "field"}
)  # fmt: skip
FOUND_FIELDS = frozenset({"site_id", "hits"})
TOOL_FIELDS = ("status", "message", "receipt")
MAX_VALUE = 200  # characters of one kept text value


def log_path(folder: Path) -> Path:
    return folder / LOG_NAME


def subject_hash(folder: Path, kind: str, value: str) -> str:
    """`hmac-sha256:...` of the identifier (normalised), with this installation's salt."""
    digest = hmac.new(_salt(folder), f"{kind}:{value.strip().lower()}".encode(), hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()


def kept_receipt(receipt: object) -> dict:
    """Only the receipt's named fields (`RECEIPT_FIELDS`), with plain short values."""
    if not isinstance(receipt, dict):
        return {}
    kept: dict[str, Any] = {}
    for name in sorted(RECEIPT_FIELDS & set(receipt)):
        value = receipt[name]
        if name == "found":
            value = _found(value)
        if value is None or isinstance(value, bool | int | float):
            kept[name] = value
        elif isinstance(value, str):
            kept[name] = value[:MAX_VALUE]
        elif name == "found":
            kept[name] = value
    return kept


def _found(value: object) -> list[dict] | None:
    if not isinstance(value, list):
        return None
    return [
        {k: item[k] for k in sorted(FOUND_FIELDS & set(item)) if _plain(item[k])}
        for item in value
        if isinstance(item, dict)
    ]


def _plain(value: object) -> bool:
    return isinstance(value, bool | int | float) or (
        isinstance(value, str) and len(value) <= MAX_VALUE
    )


def record(folder: Path, entry: dict, retention_days: int) -> dict:
    """Append `entry` (dropping entries past the retention period first); returns it as
    written: each tool's part holds only its status, message and named receipt fields."""
    entry = {
        **entry,
        "tools": {
            str(tool): {
                "status": part.get("status"),
                "message": str(part.get("message", ""))[:2000],
                "receipt": kept_receipt(part.get("receipt")),
            }
            for tool, part in (entry.get("tools") or {}).items()
        },
    }
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


class SaltError(PolicyError):
    """The salt file is unreadable; the message says what to do."""


def _salt(folder: Path) -> bytes:
    path = folder / SALT_NAME
    if not path.exists():
        _make_salt(folder, path)
    try:
        salt = bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except (ValueError, UnicodeDecodeError):
        salt = b""
    if len(salt) < SALT_BYTES // 2:  # an empty salt would hash identifiers all but in clear
        raise SaltError(
            f"The data-subject request log's salt {path} is damaged (it should hold "
            f"{SALT_BYTES * 2} hex digits). Restore it from a backup; or remove it, and a new "
            "salt is made (then a person's new entries no longer match their earlier ones)."
        )
    return salt


def _make_salt(folder: Path, path: Path) -> None:
    """Write a new salt whole or not at all: a 0600 temporary file, fsynced, then linked into
    place (a link, unlike a rename, never replaces a salt another request made meanwhile)."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{SALT_NAME}.{secrets.token_hex(8)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(SALT_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # made by a request running at the same moment: use that one
        else:
            _fsync_folder(folder)
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _entries(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _when(entry: dict) -> datetime:
    moment = datetime.fromisoformat(str(entry.get("when")))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
