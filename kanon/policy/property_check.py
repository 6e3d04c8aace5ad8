"""`kanon check-property`: does the GA4 property keep what Kanon's privacy policy promises?

Read-only calls to the GA4 Admin API (v1beta, and v1alpha where v1beta lacks the field) and one
Data API call. Each check yields findings: what was found, what the policy expects, and how to
fix it in GA4's admin screens. Status per finding: `pass`, `warn` (the promise may not hold;
look at it), `fail` (a promise is broken) or `skip` (the check could not run, with why).

Exit code of the whole check: 1 when a required check failed, else 3 when a required check
could not run, else 0. Checks left out of `required_checks` still run and are reported, but
do not decide the exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.api_core import exceptions as api_exceptions
from google.auth import credentials as ga_credentials

from connectors.catalog import DIMENSIONS, METRICS
from connectors.ga4 import permission_message
from connectors.ga4_auth import service_account_email
from kanon.policy import google
from kanon.policy.config import CHECKS, PropertyConfig

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
EXIT_OK, EXIT_BROKEN, EXIT_NOT_RUN = 0, 1, 3
CHECK_SCOPES = [google.READONLY, google.USERS_READONLY]

RETENTION_LABELS = {
    "TWO_MONTHS": "2 months",
    "FOURTEEN_MONTHS": "14 months",
    "TWENTY_SIX_MONTHS": "26 months",
    "THIRTY_EIGHT_MONTHS": "38 months",
    "FIFTY_MONTHS": "50 months",
}
RETENTION_SCREEN = "Admin → Data collection and modification → Data retention"
DATA_COLLECTION_SCREEN = "Admin → Data collection and modification → Data collection"
SHARING_SCREEN = "Admin → Account settings → Account details → Data sharing settings"
ACCESS_SCREEN = "Admin → Property settings → Property access management"
# DataSharingSettings fields and the names GA4's screen gives them.
SHARING_LABELS = {
    "sharing_with_google_products_enabled": "Google products & services",
    "sharing_with_others_enabled": "Modeling contributions & business insights",
    "sharing_with_google_support_enabled": "Technical support",
    "sharing_with_google_assigned_sales_enabled": "Recommendations for your business",
    "sharing_with_google_any_sales_enabled": "Google sales experts (older setting)",
}


@dataclass
class Finding:
    """One thing a check looked at."""

    check: str
    status: str
    found: str
    expected: str = ""
    fix: str = ""
    required: bool = True
    details: list[dict] = field(default_factory=list)  # e.g. the GA4 users without a role

    def lines(self) -> list[str]:
        """The finding for a terminal: status and what was found, then the policy and the fix."""
        optional = " (not required)" if not self.required and self.status in (FAIL, SKIP) else ""
        lines = [f"{self.status.upper():<5} {self.check}: {self.found}{optional}"]
        if self.status != PASS:
            lines += [f"      policy: {self.expected}"] if self.expected else []
            lines += [f"      fix:    {self.fix}"] if self.fix else []
        return lines


@dataclass
class PropertyReport:
    """Everything `check_property` found, with when; saved for the Privacy page."""

    property_id: str
    checked_at: str  # ISO 8601, UTC
    display_name: str | None = None
    time_zone: str | None = None
    findings: list[Finding] = field(default_factory=list)

    def status_of(self, check: str) -> str | None:
        """The worst status among a check's findings (fail > skip > warn > pass)."""
        statuses = {finding.status for finding in self.findings if finding.check == check}
        return next((s for s in (FAIL, SKIP, WARN, PASS) if s in statuses), None)

    @property
    def exit_code(self) -> int:
        required = [finding for finding in self.findings if finding.required]
        if any(finding.status == FAIL for finding in required):
            return EXIT_BROKEN
        if any(finding.status == SKIP for finding in required):
            return EXIT_NOT_RUN
        return EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def lines(self) -> list[str]:
        name = f" ({self.display_name})" if self.display_name else ""
        zone = f", time zone {self.time_zone}" if self.time_zone else ""
        lines = [f"GA4 property {self.property_id}{name}{zone}, checked {self.checked_at}"]
        lines += [f"  {line}" for finding in self.findings for line in finding.lines()]
        counts = {s: sum(f.status == s for f in self.findings) for s in (FAIL, SKIP, WARN)}
        summary = f"{counts[FAIL]} broken, {counts[SKIP]} not run, {counts[WARN]} warning(s)"
        verdict = {
            EXIT_OK: "OK",
            EXIT_BROKEN: "NOT OK: a promise is broken",
            EXIT_NOT_RUN: "NOT CHECKED: a required check could not run",
        }[self.exit_code]
        lines.append(f"Result: {verdict} ({summary})")
        return lines

    def to_dict(self) -> dict:
        return {**asdict(self), "exit_code": self.exit_code}

    @classmethod
    def from_dict(cls, data: dict) -> PropertyReport:
        findings = [Finding(**item) for item in data.get("findings", [])]
        return cls(
            property_id=str(data["property_id"]),
            checked_at=str(data["checked_at"]),
            display_name=data.get("display_name"),
            time_zone=data.get("time_zone"),
            findings=findings,
        )


def save_report(report: PropertyReport, path: Path) -> None:
    """Keep the last check's results (written whole, then renamed, so a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    partial.replace(path)


def load_report(path: Path) -> PropertyReport | None:
    """The last saved check, or None if there is none (or it cannot be read)."""
    try:
        return PropertyReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class _Context:
    config: PropertyConfig
    credentials: ga_credentials.Credentials
    beta: Any
    alpha: Any
    account: str | None = None  # accounts/NNN, from the property

    def call(self, method: Callable[..., Any], **request: Any) -> Any:
        timeout = self.config.timeout
        return google.retrying(lambda: method(**request, timeout=timeout), self.config.retry)

    @property
    def name(self) -> str:
        return f"properties/{self.config.property_id}"


def check_property(
    config: PropertyConfig, credentials: ga_credentials.Credentials
) -> PropertyReport:
    """Run every check against the property; `credentials` as loaded for the Data API."""
    credentials = google.with_scopes(credentials, CHECK_SCOPES)
    beta, alpha = google.admin_clients(credentials, config.endpoint)
    context = _Context(config, credentials, beta, alpha)
    report = PropertyReport(config.property_id, datetime.now(UTC).isoformat(timespec="seconds"))
    unreachable = _read_property(context, report)
    if unreachable is not None:  # no access at all: every check would only repeat it
        report.findings = [_finding(config, name, SKIP, unreachable) for name in CHECKS]
        return report
    for name in CHECKS:
        report.findings += _run(context, name)
    return report


def _read_property(context: _Context, report: PropertyReport) -> str | None:
    """Name, zone and account; why nothing can be checked, or None."""
    try:
        found = context.call(context.beta.get_property, name=context.name)
    except api_exceptions.Forbidden as error:
        return _no_access(context, error)
    except google.CALL_ERRORS as error:
        return f"The property could not be read ({google.describe(error)}); run the check again."
    report.display_name = found.display_name or None
    report.time_zone = found.time_zone or None
    context.account = found.parent or None
    return None


def _run(context: _Context, name: str) -> list[Finding]:
    """One check; an error becomes a `skip` finding that says why and what to do."""
    try:
        findings = CHECK_FUNCTIONS[name](context)
    except api_exceptions.Forbidden as error:
        if google.is_scope_error(error):
            scope = google.USERS_READONLY if name == "access" else google.READONLY
            why = google.scope_message(scope, context.credentials, f"The {name} check")
        else:
            why = _no_access(context, error, role="Administrator" if name == "access" else None)
        findings = [Finding(name, SKIP, why)]
    except google.CALL_ERRORS as error:
        detail = google.describe(error)
        findings = [Finding(name, SKIP, f"Could not be read ({detail}); run the check again.")]
    for finding in findings:
        finding.required = name in context.config.required_checks
    return findings


def _finding(config: PropertyConfig, name: str, status: str, found: str) -> Finding:
    return Finding(name, status, found, required=name in config.required_checks)


def _no_access(context: _Context, error: Exception, role: str | None = None) -> str:
    message = permission_message(
        context.config.property_id, context.credentials, error, then="run the check again"
    )
    if role:
        message += f" Reading who has access needs the {role} role on the property."
    return message


# --- the checks -----------------------------------------------------------------------------


def _retention(context: _Context) -> list[Finding]:
    found = context.call(
        context.beta.get_data_retention_settings, name=f"{context.name}/dataRetentionSettings"
    )
    expected = context.config.expected_retention
    findings = []
    for label, value in (
        ("Event data retention", found.event_data_retention.name),
        ("User data retention", found.user_data_retention.name),
    ):
        if value == "RETENTION_DURATION_UNSPECIFIED" and label.startswith("User"):
            continue  # older properties and API versions do not report it
        status = PASS if value == expected else FAIL
        findings.append(
            Finding(
                "retention",
                status,
                f"{label} is {_label(value)}.",
                f"statistics are kept {_label(expected)}, then deleted.",
                f"In GA4 open {RETENTION_SCREEN} and set {label} to {_label(expected)} (or "
                "change expected_data_retention if the policy changed).",
            )
        )
    reset = found.reset_user_data_on_new_activity
    findings.append(
        Finding(
            "retention",
            WARN if reset else PASS,
            f"“Reset user data on new activity” is {'on' if reset else 'off'}."
            + (" It keeps a returning visitor's data past the stated period." if reset else ""),
            "no visitor's data is kept past the stated period.",
            f"In GA4 open {RETENTION_SCREEN} and turn “Reset user data on new activity” off.",
        )
    )
    return findings


def _google_signals(context: _Context) -> list[Finding]:
    found = context.call(
        context.alpha.get_google_signals_settings, name=f"{context.name}/googleSignalsSettings"
    )
    state = found.state.name
    status = PASS if state == "GOOGLE_SIGNALS_DISABLED" else FAIL
    words = {"GOOGLE_SIGNALS_DISABLED": "off", "GOOGLE_SIGNALS_ENABLED": "ON"}
    return [
        Finding(
            "google_signals",
            status,
            f"Google signals is {words.get(state, state)}.",
            "nothing is shared: GA4 does not link visits to signed-in Google accounts.",
            f"In GA4 open {DATA_COLLECTION_SCREEN} and turn Google signals data collection off.",
        )
    ]


def _data_sharing(context: _Context) -> list[Finding]:
    if not context.account:
        return [Finding("data_sharing", SKIP, "The property names no account; run it again.")]
    found = context.call(
        context.beta.get_data_sharing_settings, name=f"{context.account}/dataSharingSettings"
    )
    shared = [label for name, label in SHARING_LABELS.items() if getattr(found, name, False)]
    if not shared:
        text = f"Every data-sharing setting of {context.account} is off."
        return [Finding("data_sharing", PASS, text)]
    return [
        Finding(
            "data_sharing",
            FAIL,
            f"Data sharing is on for {context.account}: {', '.join(shared)}.",
            "nothing is shared with Google or anyone else.",
            f"In GA4 open {SHARING_SCREEN} and turn off: {', '.join(shared)}.",
        )
    ]


def _user_provided_data(context: _Context) -> list[Finding]:
    found = context.call(
        context.alpha.get_user_provided_data_settings,
        name=f"{context.name}/userProvidedDataSettings",
    )
    on = found.user_provided_data_collection_enabled
    return [
        Finding(
            "user_provided_data",
            FAIL if on else PASS,
            f"User-provided data collection is {'ON' if on else 'off'}.",
            "no personal data (emails, phone numbers) is sent to GA4.",
            f"In GA4 open {DATA_COLLECTION_SCREEN} and turn User-provided data collection off.",
        )
    ]


def _data_redaction(context: _Context) -> list[Finding]:
    streams = context.call(context.beta.list_data_streams, parent=context.name)
    web = [s for s in streams if s.type_.name == "WEB_DATA_STREAM"]
    if not web:
        return [Finding("data_redaction", PASS, "The property has no web data stream.")]
    return [_stream_redaction(context, stream) for stream in web]


def _stream_redaction(context: _Context, stream: Any) -> Finding:
    found = context.call(
        context.alpha.get_data_redaction_settings, name=f"{stream.name}/dataRedactionSettings"
    )
    wanted = [key.lower() for key in context.config.redacted_query_parameters]
    redacted = {key.lower() for key in found.query_parameter_keys}
    missing = (
        wanted
        if not found.query_parameter_redaction_enabled
        else [key for key in wanted if key not in redacted]
    )
    gaps = []
    if not found.email_redaction_enabled:
        gaps.append("email redaction is off")
    if missing:
        gaps.append(f"query parameters not redacted: {', '.join(missing)}")
    where = f"Web stream {stream.display_name or stream.name}"
    found_text = f"{where}: " + (
        "; ".join(gaps) if gaps else "emails and listed parameters redacted"
    )
    return Finding(
        "data_redaction",
        FAIL if gaps else PASS,
        found_text + ".",
        f"email addresses and the query parameters {', '.join(wanted) or '(none)'} are "
        "redacted before GA4 stores them.",
        "In GA4 open Admin → Data collection and modification → Data streams → "
        f"{stream.display_name or 'the stream'} → Redact "
        "data, turn on Email and Query parameters, and list: " + ", ".join(wanted) + ".",
    )


def _access(context: _Context) -> list[Finding]:
    pager = context.call(context.alpha.list_access_bindings, parent=context.name)
    own = (service_account_email(context.credentials) or "").lower()
    holders = {email.lower(): roles for email, roles in context.config.role_holders.items()}
    people, strangers = [], []
    for binding in pager:  # the pager fetches every page
        user = (binding.user or "").lower()
        roles = [role.removeprefix("predefinedRoles/") for role in binding.roles]
        if not user:
            continue
        people.append(user)
        if user != own and not holders.get(user):
            strangers.append({"email": user, "ga4_roles": roles})
    if not strangers:
        text = f"All {len(people)} people with access in GA4 hold a Kanon role (or are Kanon)."
        return [Finding("access", PASS, text)]
    listed = "; ".join(f"{s['email']} ({', '.join(s['ga4_roles'])})" for s in strangers)
    return [
        Finding(
            "access",
            WARN,
            f"{len(strangers)} of {len(people)} with access in GA4 hold no Kanon role: {listed}.",
            "only people who analyse traffic trends have access to the data in GA4.",
            f"In GA4 open {ACCESS_SCREEN} and remove them, or give them a Kanon role "
            "(`kanon users`) if they analyse trends.",
            details=strangers,
        )
    ]


def _data_api(context: _Context) -> list[Finding]:
    options = {"api_endpoint": context.config.endpoint} if context.config.endpoint else None
    client = BetaAnalyticsDataClient(
        transport="rest", credentials=context.credentials, client_options=options
    )
    metadata = context.call(client.get_metadata, name=f"{context.name}/metadata")
    known = {item.api_name for item in _chain(metadata.dimensions, metadata.metrics)}
    missing = [name for name in DIMENSIONS + METRICS if name not in known]
    if missing:
        return [
            Finding(
                "data_api",
                FAIL,
                f"The Data API does not know these allow-listed fields: {', '.join(missing)}.",
                "Kanon reads only allow-listed aggregate fields.",
                "Update connectors/catalog.py to GA4's current names.",
            )
        ]
    text = "The Data API answers for this property and knows every allow-listed field."
    return [Finding("data_api", PASS, text)]


def _chain(*groups: Iterable[Any]) -> list[Any]:
    return [item for group in groups for item in group]


def _label(retention: str) -> str:
    label = RETENTION_LABELS.get(retention)
    return f"{label} ({retention})" if label else retention


CHECK_FUNCTIONS: dict[str, Callable[[_Context], list[Finding]]] = {
    "retention": _retention,
    "google_signals": _google_signals,
    "data_sharing": _data_sharing,
    "user_provided_data": _user_provided_data,
    "data_redaction": _data_redaction,
    "access": _access,
    "data_api": _data_api,
}
