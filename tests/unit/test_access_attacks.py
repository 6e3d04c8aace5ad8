"""Issue 28: nothing walks around the promise. Each test tries what an attacker would try."""

from __future__ import annotations

import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from kanon.access import accounts as accounts_module
from kanon.access import log, setup
from kanon.access.accounts import AccountError, could_be_name, loggable_name
from kanon.access.gate import WRONG, Gate
from kanon.access.roles import ADMIN, ANALYST
from kanon.access.throttle import ACCOUNT_LIMIT, ADDRESS_LIMIT, Throttle, address_key
from kanon.private import make_private

PASSWORD = "correct horse battery"


@pytest.fixture
def gate(tmp_path) -> Gate:
    return Gate(tmp_path / "accounts.sqlite", tmp_path / "access.log", tmp_path, 30 * 60)


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """Every argon2 verification, counted."""
    calls: list[str] = []
    real = accounts_module._verify

    def counted(stored: str, password: str) -> bool:
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(accounts_module, "_verify", counted)
    return calls


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    """The delays an address's failures impose, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("kanon.access.gate.pause", slept.append)
    return slept


# --- throttling under concurrency ----------------------------------------------------------


def test_forty_simultaneous_guesses_for_one_name_reach_at_most_five_checks(gate, verifications):
    gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    start = threading.Barrier(40)

    def guess(number: int):
        start.wait()
        return gate.sign_in("ana", f"wrong guess {number:04}", f"10.0.{number}.1")

    with ThreadPoolExecutor(40) as pool:
        outcomes = list(pool.map(guess, range(40)))
    assert len(verifications) <= ACCOUNT_LIMIT
    assert all(outcome.token is None for outcome in outcomes)
    assert sum(outcome.message == WRONG for outcome in outcomes) == len(verifications)
    # Refused while waiting: logged once, not forty times.
    waiting = [e for e in log.read(gate.log_path) if e.get("reason") == "waiting"]
    assert len(waiting) == 1


def test_password_checks_take_turns_server_wide(monkeypatch, gate):
    busy, most = 0, 0
    lock = threading.Lock()

    class SlowHasher:
        def verify(self, stored, password):
            nonlocal busy, most
            with lock:
                busy += 1
                most = max(most, busy)
            time.sleep(0.05)
            with lock:
                busy -= 1
            return False

    monkeypatch.setattr(accounts_module, "_HASHER", SlowHasher())
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: gate.sign_in(f"user{n}", "a wrong password", None), range(16)))
    assert most <= accounts_module.CONCURRENT_CHECKS


def test_a_right_password_signs_in_after_twenty_failures_from_its_address(gate, pauses):
    gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    office = "192.0.2.10"  # one address for a whole office, behind its NAT
    for number in range(ADDRESS_LIMIT + 5):
        assert gate.sign_in(f"colleague{number}", "a wrong password", office).message == WRONG
    outcome = gate.sign_in("ana", PASSWORD, office)
    assert outcome.token, outcome.message
    assert pauses and all(0 < seconds <= 5 for seconds in pauses)  # slowed down, not refused
    # The per-name limit still refuses, right password or not.
    for _ in range(ACCOUNT_LIMIT):
        gate.sign_in("ana", "a wrong password", office)
    assert gate.sign_in("ana", PASSWORD, office).token is None


def test_loopback_and_missing_addresses_are_not_counted(gate, pauses):
    gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    for address in ("127.0.0.1", "::1", None, ""):
        assert address_key(address) is None
    for number in range(ADDRESS_LIMIT * 2):
        gate.sign_in(f"someone{number}", "a wrong password", "127.0.0.1")
        gate.sign_in(f"other{number}", "a wrong password", None)
    assert gate.sign_in("ana", PASSWORD, "127.0.0.1").token
    assert gate.sign_in("ana", PASSWORD, None).token
    assert pauses == []
    assert address_key("2001:db8::1") == address_key("2001:db8::2")  # one /64, one host
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1")
    assert len(address_key("x" * 10_000)) < 100


def test_a_right_password_takes_back_its_reserved_failure(tmp_path):
    throttle = Throttle(tmp_path / "accounts.sqlite")
    for _ in range(ADDRESS_LIMIT * 2):
        reservation = throttle.reserve("ana", "192.0.2.1")
        throttle.succeeded("ana", reservation)
    assert throttle.delay("192.0.2.1") == 0 and throttle.wait("ana", None) == 0


# --- bounded fields and logs ---------------------------------------------------------------


def test_a_five_megabyte_name_grows_the_log_by_a_few_hundred_bytes(gate, verifications):
    huge = "ana" + "A" * 5_000_000
    before = gate.log_path.stat().st_size if gate.log_path.exists() else 0
    for _ in range(3):
        assert gate.sign_in(huge, PASSWORD, "192.0.2.1").message == WRONG
        gate.sign_in("ana", "p" * 5_000_000, "192.0.2.1")  # a 5 MB password is never hashed
    grown = gate.log_path.stat().st_size - before
    assert grown < 6 * 300, grown
    assert verifications == []
    assert {e["who"] for e in log.read(gate.log_path)} == {"(not a name, 5000003 chars)", "ana"}


def test_only_what_could_be_a_name_is_logged_as_one():
    assert could_be_name("ana") and could_be_name("Ola.Nordmann@fjordlys.no")
    for text in ("", "a" * 300, "ana\nforged line", "\x1b[31mred\x1b[0m@x.no", "two words"):
        assert not could_be_name(text)
        assert loggable_name(text).startswith("(not a name")


def test_every_logged_value_is_bounded(tmp_path):
    path = tmp_path / "access.log"
    log.event(path, "x" * 100_000, "view", report="r" * 100_000)
    assert path.stat().st_size < 1_000
    assert "100000 chars" in path.read_text(encoding="utf-8")


def test_a_malformed_line_never_makes_reading_paging_or_purging_raise(tmp_path):
    path = tmp_path / "access.log"
    log.event(path, "ana", log.SIGN_IN)
    with path.open("a", encoding="utf-8") as handle:  # a partial write, then garbage
        handle.write('{"at": "2026-12-0\n[1, 2]\n{"at": 5}\n{"who": "x"}\nnot json\n')
    log.event(path, "bob", log.SIGN_IN)
    assert [e["who"] for e in log.read(path)] == ["ana", "bob"]
    assert [e["who"] for e in log.entries(path, since=date(2000, 1, 1))] == ["ana", "bob"]
    assert [e["who"] for e in log.page(path).entries] == ["bob", "ana"]
    assert log.skipped_lines(path) == 5
    assert log.purge(path, date(2000, 1, 1)) == 5  # the malformed lines cannot be dated
    assert log.skipped_lines(path) == 0
    assert [e["who"] for e in log.read(path)] == ["ana", "bob"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_log_is_paged_from_its_end(tmp_path):
    path = tmp_path / "access.log"
    lines = [
        f'{{"at": "2026-{month:02}-01T10:00:00+00:00", "who": "u{number}", "action": "view"}}\n'
        for number, month in enumerate([1] * 500 + [6] * 500)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    first = log.page(path, limit=10)
    assert [e["who"] for e in first.entries] == [f"u{n}" for n in range(999, 989, -1)]
    assert first.more
    assert [e["who"] for e in log.page(path, offset=10, limit=2).entries] == ["u989", "u988"]
    recent = log.page(path, since=date(2026, 5, 1), limit=2000)
    assert len(recent.entries) == 500 and not recent.more
    assert log.page(path, who="U3", limit=5).entries[0]["who"] == "u3"
    assert log.page(tmp_path / "missing.log").entries == []


def test_printed_entries_escape_control_characters():
    entry = {"at": "2026-12-07T10:00:00+00:00", "who": "\x1b[2J\x1b[31mevil\nforged", "action": "x"}
    text = log.line(entry)
    assert "\n" not in text and "\x1b" not in text and "\\x1b[31mevil\\nforged" in text
    assert "\x9b" not in log.json_line({**entry, "who": "\x9b2J\u2028"})


# --- the first admin -----------------------------------------------------------------------


@pytest.mark.parametrize("content", ["", "\n", "   ", "AAAA", "not-a-code-at-all", "\x00" * 10])
def test_an_empty_or_malformed_code_file_matches_nothing_and_is_replaced(tmp_path, content):
    setup.code_path(tmp_path).write_text(content, encoding="utf-8")
    for attempt in ("", " ", content, content.strip().upper()):
        assert not setup.code_matches(tmp_path, attempt)
    code, made = setup.setup_code(tmp_path)
    assert made and setup.CODE.fullmatch(code) and setup.code_matches(tmp_path, code)
    assert stat.S_IMODE(setup.code_path(tmp_path).stat().st_mode) == 0o600


def test_an_empty_attempt_is_refused_even_against_an_empty_code(gate, tmp_path):
    setup.code_path(tmp_path).write_text("", encoding="utf-8")
    outcome = gate.create_first_admin("", "eve", PASSWORD, None)
    assert outcome.token is None and not gate.accounts.has_admin()
    assert not setup.code_matches(tmp_path, "x" * 1_000_000)


def test_a_code_expires_after_a_day(tmp_path):
    code, _ = setup.setup_code(tmp_path)
    old = time.time() - setup.LIFETIME - 60
    os.utime(setup.code_path(tmp_path), (old, old))
    assert not setup.code_matches(tmp_path, code)
    fresh, made = setup.setup_code(tmp_path)
    assert made and fresh != code


@pytest.mark.parametrize("path", ["users add", "set-role", "enable"])
def test_the_code_goes_whenever_an_admin_comes_to_exist(gate, tmp_path, path):
    code, _ = setup.setup_code(tmp_path)
    if path == "users add":
        gate.accounts.add_local("ada", [ADMIN], PASSWORD)
    elif path == "set-role":
        gate.accounts.add_local("ada", [ANALYST], PASSWORD)
        assert setup.code_path(tmp_path).exists()
        gate.accounts.set_roles("ada", [ADMIN])
    else:  # a disabled admin enabled again (a stale code made while none was active)
        gate.accounts.add_local("ada", [ADMIN], PASSWORD)
        gate.accounts.add_local("bob", [ADMIN], PASSWORD)
        gate.accounts.set_disabled("bob", True)
        code, _ = setup.setup_code(tmp_path)
        gate.accounts.set_disabled("bob", False)
    assert not setup.code_path(tmp_path).exists()
    assert gate.create_first_admin(code, "eve", PASSWORD, None).token is None


def test_the_last_active_admin_keeps_the_role(gate):
    gate.accounts.add_local("ada", [ADMIN], PASSWORD)
    gate.accounts.add_local("ana", [ANALYST], PASSWORD)
    for change in (
        lambda: gate.accounts.remove("ada"),
        lambda: gate.accounts.set_disabled("ada", True),
        lambda: gate.accounts.set_roles("ada", [ANALYST]),
    ):
        with pytest.raises(AccountError, match="last active admin"):
            change()
    assert gate.accounts.get("ada").active_roles == {ADMIN}
    gate.accounts.set_roles("ana", [ADMIN, ANALYST])
    gate.accounts.set_disabled("ada", True)  # another admin exists now
    with pytest.raises(AccountError, match="last active admin"):
        gate.accounts.remove("ana")
    gate.accounts.remove("ada")
    assert gate.accounts.has_admin()


def test_two_set_up_pages_with_the_right_code_make_one_admin(gate, tmp_path):
    code, _ = setup.setup_code(tmp_path)
    start = threading.Barrier(8)

    def create(number: int):
        start.wait()
        return gate.create_first_admin(code, f"admin{number}", PASSWORD, f"192.0.2.{number}")

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert sum(bool(outcome.token) for outcome in outcomes) == 1
    assert [a.name for a in gate.accounts.all() if ADMIN in a.roles].__len__() == 1


# --- private files -------------------------------------------------------------------------


def test_lax_modes_under_the_home_are_fixed_with_a_warning(tmp_path, caplog):
    home = tmp_path / "home"
    (home / "policy").mkdir(parents=True)
    home.chmod(0o755)
    (home / "policy").chmod(0o775)
    raw = home / "kanon.duckdb"
    raw.write_bytes(b"raw cells")
    raw.chmod(0o644)
    previous = os.umask(0o022)
    try:
        warnings = make_private(home, again=True)
        assert os.umask(0o022) == 0o077  # the umask is Kanon's now
    finally:
        os.umask(previous)
    assert len(warnings) == 3 and "readable by others" in caplog.text  # the host's log
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "policy").stat().st_mode) == 0o700
    assert stat.S_IMODE(raw.stat().st_mode) == 0o600
    assert make_private(home, again=True) == []


def test_files_kanon_writes_are_private_whatever_the_umask(gate, tmp_path):
    previous = os.umask(0o022)
    try:
        gate.accounts.add_local("ana", [ANALYST], PASSWORD)
        gate.sign_in("ana", "a wrong password", None)
        log.purge(gate.log_path, date(2000, 1, 1))
    finally:
        os.umask(previous)
    for path in (gate.accounts_path, gate.log_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_entry_after_half_a_line_is_kept_whole(tmp_path):
    path = tmp_path / "access.log"
    path.write_text('{"at": "2026-12-07T10:00:00+00:00", "who": "ana", "act', encoding="utf-8")
    log.event(path, "bob", log.SIGN_IN)
    assert [e["who"] for e in log.read(path)] == ["bob"] and log.skipped_lines(path) == 1
