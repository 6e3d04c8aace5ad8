"""Kanon's files are its owner's alone: the home folder 0700, every file in it 0600.

The store's raw table holds cells of 1 to k-1 visitors (the figures Kanon exists to hide), the
accounts file holds password hashes and the access log holds addresses and names tried. So each
entry point (the CLI, the dashboard) calls `make_private(home)` first: it sets the process's
umask to 077, so whatever Kanon creates from then on is private, and fixes lax modes it finds
under the home folder, with a warning for each.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

UMASK = 0o077
FOLDER_MODE = 0o700
LAX = stat.S_IRWXG | stat.S_IRWXO  # any group or other bit

_log = logging.getLogger(__name__)
_done: set[Path] = set()


def make_private(home: Path, *, again: bool = False) -> list[str]:
    """Set umask 077 and make `home` 0700 and everything in it private; say what was fixed.

    Done once per home and process (the dashboard's script runs at every click) unless `again`.
    Returns one warning per path whose mode was fixed; each is also logged and printed on
    standard error."""
    os.umask(UMASK)
    home = Path(home)
    key = home.resolve()
    if key in _done and not again:
        return []
    home.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    warnings = [w for w in (_fix(home),) if w]
    for folder, folders, files in os.walk(home):
        for name in folders + files:
            warning = _fix(Path(folder) / name)
            if warning:
                warnings.append(warning)
    for warning in warnings:
        if logging.getLogger().handlers:  # the host logs: once there
            _log.warning(warning)
        else:  # else on standard error, once (not twice through logging's last resort)
            print(f"kanon: warning: {warning}", file=sys.stderr)
    _done.add(key)
    return warnings


def _fix(path: Path) -> str | None:
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed while we looked
        return None
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        return None  # not ours to change (and chmod would follow the link)
    mode = stat.S_IMODE(info.st_mode)
    if not mode & LAX:
        return None
    private = mode & ~LAX
    if stat.S_ISDIR(info.st_mode):
        private |= FOLDER_MODE
    try:
        os.chmod(path, private)
    except OSError as error:
        return f"{path} is readable by others (mode {mode:o}) and could not be fixed: {error}"
    return f"{path} was readable by others (mode {mode:o}); it is now {private:o}"
