"""The dashboard never waits for a sync: protect and audit run with the store unlocked."""

import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.sample import SampleConnector
from kanon.settings import load_settings
from kanon.sync import sync
from reports import protect

# Times a sync against readers, or installs a wheel: nothing else may run beside it.
pytestmark = pytest.mark.alone

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 6, 1)
SLOW_SECONDS = 4.0  # stretches protect, as a large property would

# Reads the store as kanon/ui/data.py does, in its own process (DuckDB locks the file per process),
# until told to stop; prints how many reads it made and the longest wait for the store.
READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kanon.store import releases
    store, ready, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    longest, reads = 0.0, 0
    while not stop.exists():
        started = time.monotonic()
        info = releases.release_info_at(store)  # opens the store: waits while a sync writes
        longest = max(longest, time.monotonic() - started)
        assert info is not None and releases.current_at(store) is not None
        reads += 1
        ready.touch()
        time.sleep(0.05)
    print(reads, longest)
    """
)


@pytest.mark.slow
def test_the_store_stays_readable_throughout_a_long_sync(tmp_path, monkeypatch):
    settings = load_settings(home=tmp_path, retention_months=1)  # a small release, quickly
    sync(settings, SampleConnector(scale=0.1, today=DAY))  # a release for the dashboard
    real_protect = protect.protect_with_points

    def slow_protect(*args, **kwargs):
        time.sleep(SLOW_SECONDS)
        return real_protect(*args, **kwargs)

    monkeypatch.setattr(protect, "protect_with_points", slow_protect)
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.store_path), str(ready), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and reader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the reader could not read the first release"
        started = time.monotonic()
        report = sync(settings, SampleConnector(scale=0.1, today=DAY + timedelta(days=2)))
        assert time.monotonic() - started > SLOW_SECONDS
        assert report.release["release_id"] == report.sync_id
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    reads, longest = out.split()
    assert reader.returncode == 0
    assert int(reads) > SLOW_SECONDS / 0.5  # it kept reading while the sync worked
    assert float(longest) < 1.0
