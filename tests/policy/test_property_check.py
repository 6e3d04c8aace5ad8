"""check_property against the Admin API fake, with Google's own client over REST."""

from __future__ import annotations

from pathlib import Path

from google.auth.credentials import AnonymousCredentials

from connectors.ga4_auth import load_credentials
from kanon.policy.config import PropertyConfig
from kanon.policy.property_check import (
    EXIT_BROKEN,
    EXIT_NOT_RUN,
    EXIT_OK,
    FAIL,
    PASS,
    SKIP,
    WARN,
    PropertyReport,
    check_property,
    load_report,
    save_report,
)
from tests.emulator.admin_emulator import (
    READONLY,
    USERS_READONLY,
    AdminProperty,
    WebStream,
    token_scopes,
)
from tests.emulator.ga4_emulator import GA4Emulator


def run(config: PropertyConfig, key_path: Path, monkeypatch, **changes) -> PropertyReport:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_path))
    values = {**config.__dict__, **changes}
    return check_property(PropertyConfig(**values), load_credentials())


def statuses(report: PropertyReport) -> dict[str, str | None]:
    return {
        check: report.status_of(check) for check in dict.fromkeys(f.check for f in report.findings)
    }


def test_a_compliant_property_passes_every_check(config, key_path, monkeypatch, emulator):
    report = run(config, key_path, monkeypatch)
    assert set(statuses(report).values()) == {PASS}, "\n".join(report.lines())
    assert report.exit_code == EXIT_OK and report.lines()[-1].startswith("Result: OK")
    assert report.display_name == "Kanon sample property" and report.time_zone == "Europe/Oslo"
    # the service account asked for the user-management read scope itself, with analytics.readonly
    bindings = [e for e in emulator.log if e.path.endswith("/accessBindings")]
    assert token_scopes(bindings[0].authorization) == {READONLY, USERS_READONLY}


def test_a_violating_property_names_each_broken_promise(config, key_path, monkeypatch, admin):
    admin.violate_everything()
    report = run(config, key_path, monkeypatch)
    found = statuses(report)
    assert found["retention"] == FAIL and found["google_signals"] == FAIL
    assert found["data_sharing"] == FAIL and found["user_provided_data"] == FAIL
    assert found["data_redaction"] == FAIL and found["data_api"] == PASS
    assert report.exit_code == EXIT_BROKEN
    text = "\n".join(report.lines())
    assert "Event data retention is 2 months (TWO_MONTHS)" in text
    assert "User data retention is 26 months" in text
    assert "“Reset user data on new activity” is on" in text  # a warning of its own
    assert "Google signals is ON" in text and "Google products & services" in text
    assert "User-provided data collection is ON" in text
    assert "email redaction is off; query parameters not redacted: email, name" in text
    assert text.count("fix:") >= 7 and "Result: NOT OK" in text


def test_reset_on_new_activity_alone_is_a_warning(config, key_path, monkeypatch, admin):
    admin.reset_user_data_on_new_activity = True
    report = run(config, key_path, monkeypatch)
    assert report.status_of("retention") == WARN and report.exit_code == EXIT_OK


def test_a_ga4_user_without_a_kanon_role_is_listed(config, key_path, monkeypatch, admin):
    admin.access_bindings.append(("mallory@example.com", ["predefinedRoles/admin"]))
    report = run(config, key_path, monkeypatch)
    [finding] = [f for f in report.findings if f.check == "access"]
    assert finding.status == WARN
    assert finding.details == [{"email": "mallory@example.com", "ga4_roles": ["admin"]}]
    assert "mallory@example.com (admin)" in finding.found
    assert "Property access management" in finding.fix


def test_access_bindings_are_read_page_by_page(config, key_path, monkeypatch, admin, emulator):
    admin.access_page_size = 2
    admin.access_bindings += [(f"p{i}@example.com", ["predefinedRoles/viewer"]) for i in range(5)]
    holders = {f"p{i}@example.com": frozenset({"analyst"}) for i in range(4)}
    holders["ana@example.com"] = frozenset({"analyst"})
    report = run(config, key_path, monkeypatch, role_holders=holders)
    [finding] = [f for f in report.findings if f.check == "access"]
    assert [d["email"] for d in finding.details] == ["p4@example.com"]  # on the last page
    assert "1 of 7" in finding.found
    assert len([e for e in emulator.log if e.path.endswith("/accessBindings")]) == 4


def test_a_missing_scope_names_it_and_skips_only_that_check(config, emulator, admin):
    admin.granted_scopes = frozenset({READONLY})  # anonymous requests: only read-only
    report = check_property(config, AnonymousCredentials())
    [finding] = [f for f in report.findings if f.check == "access"]
    assert finding.status == SKIP and USERS_READONLY in finding.found
    assert report.status_of("retention") == PASS
    assert report.exit_code == EXIT_NOT_RUN and "NOT CHECKED" in report.lines()[-1]


def test_a_check_left_out_of_the_required_ones_does_not_decide(config, emulator, admin):
    admin.granted_scopes = frozenset({READONLY})
    required = tuple(c for c in config.required_checks if c != "access")
    report = check_property(
        PropertyConfig(**{**config.__dict__, "required_checks": required}), AnonymousCredentials()
    )
    assert report.status_of("access") == SKIP and report.exit_code == EXIT_OK
    assert "(not required)" in "\n".join(report.lines())


def test_every_web_stream_is_checked(config, key_path, monkeypatch, admin):
    admin.streams.append(WebStream("2222", "shop.example.com", query_parameter_redaction=False))
    report = run(config, key_path, monkeypatch)
    redaction = [f for f in report.findings if f.check == "data_redaction"]
    assert [f.status for f in redaction] == [PASS, FAIL]
    assert "shop.example.com" in redaction[1].found and "email, phone, name" in redaction[1].found


def test_query_parameters_to_redact_are_a_setting(config, key_path, monkeypatch):
    report = run(config, key_path, monkeypatch, redacted_query_parameters=("email", "token"))
    [finding] = [f for f in report.findings if f.check == "data_redaction"]
    assert finding.status == FAIL and "not redacted: token" in finding.found


def test_expected_retention_is_a_setting(sample, key_path, monkeypatch, config):
    with GA4Emulator(sample, admin=AdminProperty(), data_retention="TWO_MONTHS") as emulator:
        changed = {"endpoint": emulator.endpoint, "expected_retention": "TWO_MONTHS"}
        assert run(config, key_path, monkeypatch, **changed).status_of("retention") == PASS


def test_unreadable_google_signals_is_a_check_that_could_not_run(
    config, key_path, monkeypatch, admin
):
    admin.google_signals = None
    report = run(config, key_path, monkeypatch)
    assert report.status_of("google_signals") == SKIP and report.exit_code == EXIT_NOT_RUN


def test_no_access_is_said_once_and_nothing_is_checked(config, key_path, monkeypatch):
    report = run(config, key_path, monkeypatch, property_id="42")
    assert {f.status for f in report.findings} == {SKIP}
    assert "Property access management" in report.findings[0].found
    assert "kanon-reader@kanon-test.iam.gserviceaccount.com" in report.findings[0].found
    assert report.exit_code == EXIT_NOT_RUN


def test_busy_api_is_retried_then_answers(config, key_path, monkeypatch, emulator):
    emulator.inject("429", times=2)
    emulator.inject("503")
    assert run(config, key_path, monkeypatch).exit_code == EXIT_OK


def test_an_api_that_stays_down_means_not_checked(config, key_path, monkeypatch, emulator):
    emulator.inject("503", times=100)
    report = run(config, key_path, monkeypatch)
    assert report.exit_code == EXIT_NOT_RUN and "run the check again" in report.findings[0].found


def test_the_last_report_is_saved_and_read_back(config, key_path, monkeypatch, tmp_path, admin):
    admin.google_signals = "GOOGLE_SIGNALS_ENABLED"
    report = run(config, key_path, monkeypatch)
    path = tmp_path / "policy" / "last_check.json"
    save_report(report, path)
    again = load_report(path)
    assert again == report and again.exit_code == EXIT_BROKEN
    assert load_report(tmp_path / "missing.json") is None
