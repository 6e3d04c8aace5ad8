"""The data-subject request log, attacked: an answer that says more about the person than a
receipt needs, and a salt made by two requests at once or left half-written."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from kanon.policy import dsr, request_log
from kanon.policy.config import DsrConfig, PolicyError


class Chatty:
    """A Hotjar answer that echoes what it knows of the person, in fields Kanon never named."""

    def user_lookup(self, **identifier):
        return {
            "lookup_id": "abc123",
            "deleted": False,
            "found": [{"site_id": "777", "hits": 3, "ip_address": "203.0.113.9"}],
            "user_name": "Kari Nordmann",
            "ip_addresses": ["203.0.113.9"],
            "recordings": [{"url": "https://example.com/account?id=42"}],
            "status": {"nested": "dropped, not a plain value"},
        }


def test_only_named_receipt_fields_are_logged(tmp_path):
    from kanon.policy.config import HotjarConfig

    hotjar = HotjarConfig(org_id="1", site_id="777", client_id="c", client_secret="s")
    config = DsrConfig(folder=tmp_path / "policy", property=None, hotjar=hotjar)
    result = dsr.lookup(config, dsr.Subject("user_id", "u-1"), hotjar_client=Chatty)
    text = (config.folder / request_log.LOG_NAME).read_text(encoding="utf-8")
    for leak in ("Kari", "203.0.113.9", "account?id=42", "ip_address", "recordings", "nested"):
        assert leak not in text, leak
    [entry] = [json.loads(line) for line in text.splitlines()]
    receipt = entry["tools"]["hotjar"]["receipt"]
    assert receipt == {
        "deleted": False,
        "found": [{"hits": 3, "site_id": "777"}],
        "lookup_id": "abc123",
    }
    assert "Kari" in result.outcomes[0].message  # the operator's own screen shows the answer


def test_record_keeps_named_fields_whoever_calls_it(tmp_path):
    entry = {
        "when": "2026-12-01T10:00:00+00:00",
        "tools": {"x": {"status": "done", "message": "m", "receipt": {"email": "a@b.c", "id": 7}}},
    }
    written = request_log.record(tmp_path, entry, 30)
    assert written["tools"]["x"]["receipt"] == {"id": 7}
    assert "a@b.c" not in request_log.log_path(tmp_path).read_text()


def test_the_salt_is_made_once_whole_and_private(tmp_path):
    folder = tmp_path / "policy"
    hashes: list[str] = []
    barrier = threading.Barrier(8)

    def request():
        barrier.wait()
        hashes.append(request_log.subject_hash(folder, "email", "a@example.com"))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(hashes)) == 1  # one salt, whoever made it
    salt = folder / request_log.SALT_NAME
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    assert len(bytes.fromhex(salt.read_text().strip())) == request_log.SALT_BYTES
    assert sorted(p.name for p in folder.iterdir()) == [request_log.SALT_NAME]  # no temp left


@pytest.mark.parametrize("content", ["", "zz", "abcd"])
def test_a_damaged_salt_is_refused_not_used(tmp_path, content):
    (tmp_path / request_log.SALT_NAME).write_text(content)
    with pytest.raises(PolicyError, match="salt .* is damaged"):
        request_log.subject_hash(tmp_path, "email", "a@example.com")


def test_a_link_at_the_salt_is_not_written_through(tmp_path):
    victim = tmp_path / "victim"
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / request_log.SALT_NAME).symlink_to(victim)  # dangling: "no salt yet"
    with pytest.raises((PolicyError, OSError)):
        request_log.subject_hash(folder, "email", "a@example.com")
    assert not victim.exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert os.path.islink(folder / request_log.SALT_NAME)
