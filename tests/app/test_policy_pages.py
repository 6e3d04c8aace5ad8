"""The Privacy page's promises (every role) and the Admin page's request log (admins)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kanon.policy import request_log
from kanon.policy.property_check import FAIL, PASS, SKIP, WARN, Finding, PropertyReport, save_report
from tests.app import support

CHECKED_AT = "2026-11-30T08:15:00+00:00"


@pytest.fixture
def last_check(home: Path) -> Iterator[Path]:
    """A saved check with a broken promise, a warning naming a GA4 user, and one not run."""
    report = PropertyReport(
        "123456789",
        CHECKED_AT,
        findings=[
            Finding("retention", FAIL, "Event data retention is 2 months (TWO_MONTHS)."),
            Finding("google_signals", PASS, "Google signals is off."),
            Finding("data_sharing", PASS, "Every data-sharing setting is off."),
            Finding("user_provided_data", PASS, "Off."),
            Finding("data_redaction", PASS, "Redacted."),
            Finding(
                "access",
                WARN,
                "1 of 2 hold no Kanon role: mallory@example.com (admin).",
                details=[{"email": "mallory@example.com", "ga4_roles": ["admin"]}],
            ),
            Finding("data_api", SKIP, "Could not be read (503); run the check again."),
        ],
    )
    path = home / "policy" / "last_check.json"
    save_report(report, path)
    yield path
    path.unlink()


def promises_table(at):
    [table] = [frame.value for frame in at.dataframe if "Promise" in frame.value.columns]
    return table


def test_every_role_sees_each_promise_with_the_last_result(as_identity, last_check):
    for identity in (support.ANALYST_ID, support.MANAGER_ID, support.ADMIN_ID):
        as_identity(identity)
        at = support.open_page("privacy")
        table = promises_table(at)
        result = dict(zip(table["Promise"].str.slice(0, 20), table["Result"], strict=True))
        assert result["Statistics are kept "] == "Broken"
        assert result["Nothing is shared wi"] == "Kept"
        assert result["Only people who anal"] == "In doubt"
        assert result["Kanon reads only agg"] == "Not checked"
        assert result["A person may ask for"] == "By procedure"
        assert set(table.loc[table["Result"] != "By procedure", "Checked"]) == {CHECKED_AT}
        shown = table.to_string() + support.all_text(at)
        assert "mallory" not in shown  # who holds access is for admins only
        assert "1 with access in GA4 hold no Kanon role" in table.to_string()


def test_before_any_check_the_page_says_who_runs_it(dev):
    at = support.open_page("privacy")
    assert set(promises_table(at)["Result"]) == {"Not checked yet", "By procedure"}
    assert "kanon check-property" in support.all_text(at)


def test_the_admin_page_lists_requests_with_hashed_identifiers(as_identity, home):
    folder = home / "policy"
    entry = {
        "when": "2026-11-30T09:00:00+00:00",
        "action": "delete",
        "by": "ada",
        "subject_kind": "email",
        "subject_hash": request_log.subject_hash(folder, "email", "person@example.com"),
        "tools": {"hotjar": {"status": "done", "message": "deletion requested", "receipt": {}}},
    }
    request_log.record(folder, entry, 36500)
    try:
        as_identity(support.ADMIN_ID)
        at = support.open_page("admin")
        [log] = [frame.value for frame in at.dataframe if "Request" in frame.value.columns]
        assert log["Request"].tolist() == ["delete"] and log["hotjar"].tolist() == ["done"]
        assert "person@" not in log.to_string()
    finally:
        (folder / request_log.LOG_NAME).unlink()
