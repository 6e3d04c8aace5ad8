"""The first admin of a fresh install: a one-time set-up code, as self-hosted tools do.

Until an admin exists nothing is open. The dashboard prints a set-up code on the console it was
started from (and keeps it, readable only by its owner, in KANON_HOME/setup-code, like
Jenkins's initialAdminPassword); whoever holds it may create the first admin account in the
browser. The code is written atomically (a temporary file, fsync, rename), so a crash or a full
disk never leaves an empty code that an empty attempt would match: a missing, empty, malformed
or expired (`LIFETIME`) code counts as absent and is made anew. It is deleted as soon as an
admin exists, however it was made (`kanon users add NAME --role admin` too).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")
LIFETIME = 24 * 60 * 60  # seconds a code is good for
MAX_ATTEMPT = 64  # characters: anything longer is not a code


def code_path(home: Path) -> Path:
    return Path(home) / "setup-code"


def _new_code() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))


def current_code(home: Path, now: float | None = None) -> str | None:
    """The pending code if there is a valid one: None if missing, empty, malformed or expired."""
    path = code_path(home)
    try:
        made = path.stat().st_mtime
        with path.open(encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_ATTEMPT).strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    if not CODE.fullmatch(text):
        return None
    if (time.time() if now is None else now) - made > LIFETIME:
        return None
    return text


def setup_code(home: Path) -> tuple[str, bool]:
    """The pending set-up code, and whether it was made just now (a missing, empty, malformed
    or expired one is replaced)."""
    existing = current_code(home)
    if existing is not None:
        return existing, False
    path = code_path(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    code = _new_code()
    descriptor, temporary = tempfile.mkstemp(prefix=".setup-code-", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(code + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.lexists(path):  # empty, malformed or expired: replace it
            os.replace(temporary, path)  # the code is there whole, or not at all
        else:
            try:  # whole, and never over a code another process made a moment ago
                os.link(temporary, path)
            except FileExistsError:
                return setup_code(home)
    finally:
        Path(temporary).unlink(missing_ok=True)
    _sync_folder(path.parent)
    return code, True


def _sync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def normalise_attempt(attempt: str | None) -> str:
    return (attempt or "")[: MAX_ATTEMPT + 1].strip().upper().replace(" ", "")


def code_matches(home: Path, attempt: str | None) -> bool:
    """Whether `attempt` is the pending code. An empty or over-long attempt is refused before
    any comparison, and so is every attempt while no valid code is pending."""
    given = normalise_attempt(attempt)
    if not given or len(given) > MAX_ATTEMPT:
        return False
    expected = current_code(home)
    if not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def use_code(home: Path) -> None:
    """Delete the code: an admin exists now."""
    code_path(home).unlink(missing_ok=True)
