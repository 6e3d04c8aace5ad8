"""kanon/access/log.py: an entry appended by another process while the log is purged is kept."""

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from kanon.access import log

ROOT = Path(__file__).resolve().parents[2]

APPEND = "import sys; from pathlib import Path; from kanon.access import log; " \
         "log.event(Path(sys.argv[1]), 'ada@example.no', log.SIGN_IN)"  # fmt: skip


def test_an_entry_appended_during_a_purge_is_not_lost(tmp_path, monkeypatch):
    path = tmp_path / "access.log"
    log.event(path, "old@example.no", log.VIEW)
    unpatched_read = log.read
    appender = []

    def read_while_the_dashboard_appends(target):
        entries = unpatched_read(target)
        # The dashboard's process appends now; unless it waits for the purge, it writes to
        # the file the purge is about to replace. Give it time to do so.
        size = target.stat().st_size
        appender.append(subprocess.Popen([sys.executable, "-c", APPEND, str(target)], cwd=ROOT))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and target.stat().st_size == size:
            time.sleep(0.05)
        return entries

    monkeypatch.setattr(log, "read", read_while_the_dashboard_appends)
    dropped = log.purge(path, date(2000, 1, 1))
    monkeypatch.setattr(log, "read", unpatched_read)
    assert appender[0].wait(timeout=30) == 0
    assert dropped == 0
    assert [e["who"] for e in log.read(path)] == ["old@example.no", "ada@example.no"]
