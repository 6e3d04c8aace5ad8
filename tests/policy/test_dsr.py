"""Data-subject requests against both fakes, and the request log that keeps no identifier."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kanon.policy import dsr, google, request_log
from kanon.policy.config import DsrConfig, PolicyError
from tests.emulator.admin_emulator import EDIT, token_scopes

EMAIL = "Person@Example.com"


@pytest.fixture
def dsr_config(tmp_path, config, hotjar_config) -> DsrConfig:
    return DsrConfig(folder=tmp_path / "policy", property=config, hotjar=hotjar_config)


def deletion_key(key_path: Path):
    return lambda: google.key_credentials(key_path, [google.EDIT])


def log_text(config: DsrConfig) -> str:
    return (config.folder / request_log.LOG_NAME).read_text(encoding="utf-8")


def test_delete_by_email_deletes_in_both_and_logs_no_identifier(
    dsr_config, key_path, hotjar, admin, emulator
):
    result = dsr.delete(dsr_config, dsr.Subject("email", EMAIL), deletion_key(key_path))
    assert [(o.tool, o.status) for o in result.outcomes] == [("hotjar", "done"), ("ga4", "done")]
    assert result.exit_code == dsr.EXIT_OK
    assert hotjar.deleted and "person@example.com" not in hotjar.data.by_email
    [deletion] = admin.deletions
    assert deletion["userProvidedData"] == "person@example.com"  # normalised, one identifier
    [call] = emulator.calls(":submitUserDeletion")
    assert token_scopes(call.authorization) == {EDIT}
    ga4 = result.outcomes[1]
    assert ga4.receipt["deletion_request_time"].startswith(str(deletion["time"].date()))
    text = "\n".join(result.lines())
    assert "deletionRequestTime" in text and "Hotjar recordings" in text and "BigQuery" in text
    logged = log_text(dsr_config)
    assert "person@example.com" not in logged.lower()
    [entry] = [json.loads(line) for line in logged.splitlines()]
    assert entry["action"] == "delete" and entry["subject_kind"] == "email"
    assert entry["subject_hash"].startswith("hmac-sha256:")
    assert entry["tools"]["ga4"]["receipt"]["deletion_request_time"]
    assert "data_subject_email" not in entry["tools"]["hotjar"]["receipt"]  # echoed: not kept
    assert entry["tools"]["hotjar"]["receipt"]["found"]


def test_lookup_deletes_nothing_and_says_what_ga4_cannot_show(dsr_config, hotjar, admin):
    result = dsr.lookup(dsr_config, dsr.Subject("email", "person@example.com"))
    hotjar_outcome, ga4 = result.outcomes
    assert hotjar_outcome.status == "done"
    assert hotjar_outcome.receipt["found"] == [{"site_id": "777", "hits": 12}]
    assert ga4.status == "skipped" and "User explorer" in ga4.message
    assert not hotjar.deleted and not admin.deletions


def test_client_id_goes_to_ga4_only(dsr_config, key_path, hotjar, admin):
    result = dsr.delete(dsr_config, dsr.Subject("client_id", "123.456"), deletion_key(key_path))
    assert result.outcomes[0].status == "skipped" and "client id" in result.outcomes[0].message
    assert admin.deletions[0]["clientId"] == "123.456"
    assert "123.456" not in log_text(dsr_config)


def test_user_id_goes_to_both(dsr_config, key_path, hotjar, admin):
    dsr.delete(dsr_config, dsr.Subject("user_id", "u-42"), deletion_key(key_path))
    assert hotjar.deleted[0]["data_subject_site_id_to_user_id_map"] == {"777": "u-42"}
    assert admin.deletions[0]["userId"] == "u-42"
    assert "u-42" not in log_text(dsr_config)


def test_without_hotjar_settings_hotjar_is_skipped_and_says_what_is_missing(tmp_path, config):
    config_without = DsrConfig(
        folder=tmp_path, property=config, hotjar_missing="set KANON_HOTJAR_ORG_ID"
    )
    result = dsr.lookup(config_without, dsr.Subject("email", EMAIL))
    assert result.outcomes[0].status == "skipped"
    assert "KANON_HOTJAR_ORG_ID" in result.outcomes[0].message
    assert result.exit_code == dsr.EXIT_NOTHING_RAN


def test_a_refused_ga4_deletion_names_the_role(dsr_config, key_path, emulator, admin):
    emulator.inject("403", match="submitUserDeletion")
    result = dsr.delete(dsr_config, dsr.Subject("email", EMAIL), deletion_key(key_path))
    ga4 = result.outcomes[1]
    assert ga4.status == "failed" and "Editor role" in ga4.message
    assert "kanon-reader@kanon-test.iam.gserviceaccount.com" in ga4.message
    assert result.exit_code == dsr.EXIT_FAILED and not admin.deletions


def test_ga4_busy_then_answers(dsr_config, key_path, emulator, admin):
    emulator.inject("429", match="submitUserDeletion")
    emulator.inject("500", match="submitUserDeletion")
    result = dsr.delete(dsr_config, dsr.Subject("email", EMAIL), deletion_key(key_path))
    assert result.outcomes[1].status == "done" and len(admin.deletions) == 1


def test_no_deletion_key_says_which_setting(dsr_config):
    result = dsr.delete(
        dsr_config,
        dsr.Subject("client_id", "1.2"),
        lambda: google.key_credentials(None, [google.EDIT]),
    )
    assert result.outcomes[1].status == "failed"
    assert "KANON_DSR_CREDENTIALS" in result.outcomes[1].message


def test_a_short_identifier_does_not_mangle_the_log(dsr_config, key_path, admin):
    result = dsr.delete(dsr_config, dsr.Subject("user_id", "2"), deletion_key(key_path))
    [entry] = request_log.read(dsr_config.folder, 365)
    receipt = entry["tools"]["ga4"]["receipt"]
    assert receipt["deletion_request_time"] == result.outcomes[1].receipt["deletion_request_time"]
    assert entry["when"] == result.when


def test_gmail_addresses_are_normalised_as_google_asks():
    assert dsr.normalised_email(" Jo.Doe @Gmail.com") == "jodoe@gmail.com"
    assert dsr.normalised_email("Jo.Doe@Example.com") == "jo.doe@example.com"


def test_a_subject_needs_a_known_identifier():
    with pytest.raises(PolicyError, match="email"):
        dsr.Subject("phone", "123")
    with pytest.raises(PolicyError, match="empty"):
        dsr.Subject("email", "  ")


def test_the_hash_is_salted_per_installation(tmp_path):
    first = request_log.subject_hash(tmp_path / "a", "email", EMAIL)
    assert first == request_log.subject_hash(tmp_path / "a", "email", EMAIL.lower())
    assert first != request_log.subject_hash(tmp_path / "b", "email", EMAIL)
    salt = tmp_path / "a" / request_log.SALT_NAME
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600


def test_old_entries_are_dropped_after_the_retention_period(tmp_path):
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    recent = datetime.now(UTC).isoformat()
    for when in (old, recent):
        request_log.record(tmp_path, {"when": when, "action": "lookup"}, 365)
    assert len(request_log.read(tmp_path, 365)) == 2
    assert [e["when"] for e in request_log.read(tmp_path, 30)] == [recent]
    mode = stat.S_IMODE((tmp_path / request_log.LOG_NAME).stat().st_mode)
    assert mode == 0o600


def test_scrub_replaces_the_identifier_anywhere():
    value = {"a": ["Mail PERSON@example.com here"], "person@example.com": 1}
    assert request_log.scrub(value, "person@example.com", "(id)") == {
        "a": ["Mail (id) here"],
        "(id)": 1,
    }
    assert request_log.scrub("user 2 at 2026-12-02", "2", "(id)") == "user (id) at 2026-12-02"
    assert request_log.scrub("ann@example.com", "n@example.com", "(id)") == "ann@example.com"
