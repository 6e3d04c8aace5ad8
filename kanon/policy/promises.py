"""The privacy policy's promises, and which property checks show each one is kept.

For the Privacy page, which every signed-in role sees: results are summarised, and who holds
access in GA4 is counted, not named (admins see the names on the Admin page).
"""

from __future__ import annotations

from dataclasses import dataclass

from kanon.policy.property_check import FAIL, PASS, SKIP, WARN, Finding, PropertyReport


def N_(text: str) -> str:
    """Marks a text for the catalogs (`kanon.i18n` translates it where it is shown); the policy
    package imports nothing of the dashboard's, so it cannot use `kanon.i18n.N_`."""
    return text


@dataclass(frozen=True)
class Promise:
    text: str
    checks: tuple[str, ...]  # property checks that test it; empty: kept by a procedure
    procedure: str = ""  # how it is kept when no check can show it


PROMISES = (
    Promise("Statistics are kept for the stated period (14 months), then deleted.", ("retention",)),
    Promise("Nothing is shared with Google or anyone else.", ("google_signals", "data_sharing")),
    Promise(
        "No personal data (email addresses, phone numbers, names in links) reaches Google "
        "Analytics.",
        ("user_provided_data", "data_redaction"),
    ),
    Promise(
        "Only people who analyse traffic trends have access to the data in Google Analytics.",
        ("access",),
    ),
    Promise("Kanon reads only aggregate statistics from Google Analytics.", ("data_api",)),
    Promise(
        "A person may ask for their data to be shown or deleted.",
        (),
        N_(
            "An admin looks up or deletes it in Hotjar and GA4 with `kanon dsr`; each request "
            "is logged without the person's identifier."
        ),
    ),
)
# Marked for translation: the Privacy page shows these in the reader's language (the texts of
# findings come from the property check and stay as it wrote them).
RESULT_WORDS = {PASS: N_("Kept"), WARN: N_("In doubt"), FAIL: N_("Broken"), SKIP: N_("Not checked")}


def promise_rows(report: PropertyReport | None) -> list[dict[str, str]]:
    """One row per promise: the promise, the last check's result, what it found, and when."""
    rows = []
    for promise in PROMISES:
        if not promise.checks:
            rows.append(_row(promise.text, N_("By procedure"), promise.procedure, ""))
            continue
        findings = [f for f in (report.findings if report else []) if f.check in promise.checks]
        if not findings:
            rows.append(
                _row(promise.text, N_("Not checked yet"), N_("No property check has run."), "")
            )
            continue
        assert report is not None  # findings come from a report
        worst = next(s for s in (FAIL, SKIP, WARN, PASS) if any(f.status == s for f in findings))
        shown = [f for f in findings if f.status == worst]
        detail = " ".join(_public(finding) for finding in shown)
        rows.append(_row(promise.text, RESULT_WORDS[worst], detail, report.checked_at))
    return rows


def _public(finding: Finding) -> str:
    if finding.check == "access" and finding.details:
        return f"{len(finding.details)} with access in GA4 hold no Kanon role (admins see who)."
    return finding.found


def _row(promise: str, result: str, found: str, checked_at: str) -> dict[str, str]:
    return {
        N_("Promise"): promise,
        N_("Result"): result,
        N_("What Kanon found"): found,
        N_("Checked"): checked_at,
    }
