"""Data-subject requests: show (`lookup`) or delete (`delete`) what Hotjar and GA4 hold on one
person, and log the request without the person's identifier.

- Hotjar: the User Lookup API, by email or by the user id sent to Hotjar's Identify API;
  `delete_all_hits` deletes what it finds.
- GA4: the Admin API's `submitUserDeletion`, one identifier per request (an email goes as
  user-provided data, normalised as Google asks). GA4 has no API that shows one person's data,
  so a lookup says so instead.

What neither API reaches is said in every answer (`UNREACHABLE`).
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.api_core import exceptions as api_exceptions
from google.auth import credentials as ga_credentials

from kanon.policy import google, hotjar, request_log
from kanon.policy.config import DsrConfig, PolicyError

KINDS = ("email", "user_id", "client_id")
DONE, SKIPPED, FAILED = "done", "skipped", "failed"
EXIT_OK, EXIT_FAILED, EXIT_NOTHING_RAN = 0, 1, 3
UNREACHABLE = (
    "Not reached by these APIs: personal data shown inside Hotjar recordings and heatmaps (what "
    "was on the visitor's screen; Hotjar's suppression settings keep it out), GA4's aggregate "
    "reports already computed, and any GA4 BigQuery export (delete there yourself); Kanon's "
    "own published figures are aggregates of at least k visitors and name nobody."
)


@dataclass(frozen=True)
class Subject:
    """The person a request is about, by exactly one identifier."""

    kind: str  # one of KINDS
    value: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PolicyError(f"Unknown identifier {self.kind!r}; use one of {', '.join(KINDS)}.")
        if not self.value.strip():
            raise PolicyError(f"The {self.kind} is empty; give the person's {self.kind}.")

    def ga4_field(self) -> tuple[str, str]:
        """The `submitUserDeletion` field and value for this identifier."""
        if self.kind == "email":
            return "user_provided_data", normalised_email(self.value)
        return self.kind, self.value.strip()


@dataclass
class ToolOutcome:
    tool: str  # "hotjar" or "ga4"
    status: str  # done, skipped, failed
    message: str
    receipt: dict = field(default_factory=dict)
    # What the log keeps for `message` when it would quote more of the answer than the log
    # may (see request_log.RECEIPT_FIELDS); None: the message itself.
    logged_message: str | None = None


@dataclass
class DsrResult:
    action: str  # lookup or delete
    subject: Subject
    when: str
    outcomes: list[ToolOutcome] = field(default_factory=list)
    logged: dict = field(default_factory=dict)  # the log entry as written

    @property
    def exit_code(self) -> int:
        statuses = {outcome.status for outcome in self.outcomes}
        if FAILED in statuses:
            return EXIT_FAILED
        return EXIT_OK if DONE in statuses else EXIT_NOTHING_RAN

    def lines(self) -> list[str]:
        lines = [f"Data-subject {self.action} for {self.subject.kind} {self.subject.value}"]
        lines += [f"  {o.tool:<7}{o.status.upper():<8}{o.message}" for o in self.outcomes]
        lines.append(f"  {UNREACHABLE}")
        lines.append(f"Logged (identifier as a salted hash): {self.logged.get('subject_hash')}")
        return lines


HotjarFactory = Callable[[], hotjar.HotjarClient]
CredentialsLoader = Callable[[], ga_credentials.Credentials]


def lookup(
    config: DsrConfig, subject: Subject, hotjar_client: HotjarFactory | None = None
) -> DsrResult:
    """What Hotjar holds on the person; nothing is deleted."""
    result = DsrResult("lookup", subject, _now())
    result.outcomes.append(_hotjar(config, subject, delete=False, factory=hotjar_client))
    result.outcomes.append(
        ToolOutcome(
            "ga4",
            SKIPPED,
            "GA4 has no API that shows one person's data; in GA4 open Explore → User explorer "
            "to see a client id's or user id's events. `kanon dsr delete` deletes them.",
        )
    )
    _log(config, result)
    return result


def delete(
    config: DsrConfig,
    subject: Subject,
    credentials: CredentialsLoader,
    hotjar_client: HotjarFactory | None = None,
) -> DsrResult:
    """Delete what Hotjar and GA4 hold on the person; each tool's receipt is kept."""
    result = DsrResult("delete", subject, _now())
    result.outcomes.append(_hotjar(config, subject, delete=True, factory=hotjar_client))
    result.outcomes.append(_ga4_delete(config, subject, credentials))
    _log(config, result)
    return result


def normalised_email(email: str) -> str:
    """Google's normalisation for user-provided data: lower case, no spaces, no dots in Gmail."""
    address = re.sub(r"\s+", "", email).lower()
    local, _, domain = address.partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"{local}@{domain}" if domain else local


def _hotjar(
    config: DsrConfig, subject: Subject, delete: bool, factory: HotjarFactory | None
) -> ToolOutcome:
    if config.hotjar is None:
        return ToolOutcome(
            "hotjar", SKIPPED, f"Hotjar is not configured ({config.hotjar_missing})."
        )
    if subject.kind == "client_id":
        return ToolOutcome(
            "hotjar", SKIPPED, "Hotjar knows people by email or user id, not by GA4 client id."
        )
    client = factory() if factory else hotjar.HotjarClient(config.hotjar)
    identifier = {"email": subject.value} if subject.kind == "email" else {"user_id": subject.value}
    try:
        answer = client.user_lookup(**identifier, delete=delete)
    except hotjar.HotjarError as error:
        return ToolOutcome("hotjar", FAILED, str(error))
    verb = "deletion requested" if delete else "looked up"
    kept = request_log.kept_receipt(answer)
    return ToolOutcome(
        "hotjar",
        DONE,
        f"{verb}: {hotjar.summary(answer)}",
        answer,
        logged_message=f"{verb}: {hotjar.summary(kept)}",
    )


def _ga4_delete(config: DsrConfig, subject: Subject, credentials: CredentialsLoader) -> ToolOutcome:
    if config.property is None:
        return ToolOutcome("ga4", SKIPPED, "No GA4 property is configured (KANON_GA4_PROPERTY).")
    prop = config.property
    try:
        loaded = google.with_scopes(credentials(), [google.EDIT])
    except PolicyError as error:
        return ToolOutcome("ga4", FAILED, str(error))
    _, alpha = google.admin_clients(loaded, prop.endpoint)
    name, value = subject.ga4_field()
    request = {"name": f"properties/{prop.property_id}", name: value}
    try:
        answer = google.retrying(
            lambda: alpha.submit_user_deletion(request=request, timeout=prop.timeout), prop.retry
        )
    except api_exceptions.Forbidden as error:
        return ToolOutcome("ga4", FAILED, _ga4_refusal(prop.property_id, loaded, error))
    except google.CALL_ERRORS as error:
        why = google.describe(error)
        return ToolOutcome("ga4", FAILED, f"GA4 did not take the deletion ({why}); try again.")
    moment = answer.deletion_request_time
    stamp = moment.isoformat() if moment else ""
    return ToolOutcome(
        "ga4",
        DONE,
        f"deletion requested for the {subject.kind}; GA4 deletes the user's data recorded "
        f"before {stamp} (deletionRequestTime).",
        {"deletion_request_time": stamp, "property": prop.property_id, "field": name},
    )


def _ga4_refusal(property_id: str, credentials: object, error: Exception) -> str:
    if google.is_scope_error(error):
        return google.scope_message(google.EDIT, credentials, "GA4 user deletion")
    who = google.service_account_email(credentials) or "the key in KANON_DSR_CREDENTIALS"
    return (
        f"GA4 refused the deletion for property {property_id} (403: {google.describe(error)}). "
        f"User deletion needs the Editor role: in GA4 open Admin → Property access management "
        f"and give {who} the Editor role (keep the dashboard's own key a Viewer)."
    )


def _log(config: DsrConfig, result: DsrResult) -> None:
    """Record the request; the identifier only as a salted hash, scrubbed from every receipt."""
    subject = result.subject
    value = normalised_email(subject.value) if subject.kind == "email" else subject.value
    tools = {
        o.tool: {
            "status": o.status,
            "message": o.message if o.logged_message is None else o.logged_message,
            "receipt": request_log.kept_receipt(o.receipt),
        }
        for o in result.outcomes
    }
    for raw in {subject.value.strip(), value}:
        tools = request_log.scrub(tools, raw, "(identifier)")
    entry = {
        "when": result.when,
        "action": result.action,
        "by": _operator(),
        "subject_kind": subject.kind,
        "subject_hash": request_log.subject_hash(config.folder, subject.kind, value),
        "tools": tools,
    }
    result.logged = request_log.record(config.folder, entry, config.log_retention_days)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
