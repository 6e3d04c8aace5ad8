"""The first admin of a fresh install: a one-time set-up code, as self-hosted tools do.

Until an admin exists nothing is open. The dashboard prints a set-up code on the console it was
started from (and keeps it, readable only by its owner, in KANON_HOME/setup-code, like
Jenkins's initialAdminPassword); whoever holds it may create the first admin account in the
browser. The code is deleted once used. `kanon users add NAME --role admin` does the same
from the command line.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def code_path(home: Path) -> Path:
    return Path(home) / "setup-code"


def setup_code(home: Path) -> tuple[str, bool]:
    """The pending set-up code, and whether it was made just now."""
    path = code_path(home)
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    code = "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made one a moment ago
        return setup_code(home)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(code + "\n")
    return code, True


def code_matches(home: Path, attempt: str) -> bool:
    path = code_path(home)
    if not path.exists():
        return False
    expected = path.read_text(encoding="utf-8").strip()
    given = attempt.strip().upper().replace(" ", "")
    return hmac.compare_digest(expected.encode(), given.encode())


def use_code(home: Path) -> None:
    code_path(home).unlink(missing_ok=True)
