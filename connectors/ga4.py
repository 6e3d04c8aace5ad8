"""The GA4 connector: allow-listed aggregate reports from the Google Analytics Data API (v1beta).

It uses Google's own client (`google-analytics-data`) over its REST transport, so the same code
talks to analyticsdata.googleapis.com and to a local emulator at `http://127.0.0.1:PORT`
(`KANON_GA4_ENDPOINT`).

What it guarantees to the sync:

- only allow-listed fields are ever requested (`ReportRequest` checks before any call);
- every report is read completely: pages of `page_size` rows until `rowCount` rows are in, and a
  page shorter than promised is retried, never silently accepted;
- `run_many` sends `batchRunReports` with at most 5 reports per call;
- transient faults (429, 500, 503, 504, timeouts, dropped connections, cut-off bodies) are retried
  a bounded number of times with exponential backoff and full jitter, then raise ConnectorError;
- permission (403) and bad-request (400) errors say exactly what to fix;
- every call asks for the property's quota; the connector keeps `requests_made` and
  `tokens_used`, and stops with QuotaExhausted before a call once the hourly (or daily) tokens left
  fall below the reserve, so a sync ends cleanly instead of being cut off by GA4 mid-way.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    DateRange,
    Dimension,
    Metric,
    MetricType,
    OrderBy,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as api_exceptions
from google.auth import credentials as ga_credentials
from google.auth.exceptions import GoogleAuthError
from google.protobuf.json_format import ParseError

from connectors.base import ConnectorError, ReportRequest, ReportResult, Usage
from connectors.catalog import DIMENSIONS, METRICS
from connectors.ga4_auth import load_credentials, prefer_self_signed_jwt, service_account_email
from connectors.ga4_client import DEFAULT_TIMEOUT, client_options
from connectors.retry import backoff, retrying

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 250_000  # GA4's largest page
MAX_BATCH = 5  # GA4's largest batchRunReports
# GA4 types this TYPE_SECONDS, yet it is a sum of whole seconds: keep it an integer, as the
# sample connector does, so both sources give identical frames.
WHOLE_NUMBER_METRICS = frozenset({"userEngagementDuration"})

# What may succeed if asked again: rate limits, server hiccups, network trouble, cut-off bodies.
TRANSIENT_API_ERRORS = (
    api_exceptions.TooManyRequests,
    api_exceptions.ResourceExhausted,
    api_exceptions.InternalServerError,
    api_exceptions.BadGateway,
    api_exceptions.ServiceUnavailable,
    api_exceptions.GatewayTimeout,
)


class QuotaExhausted(ConnectorError):
    """GA4's token quota is (nearly) used up; `retry_after` says when asking again makes sense."""

    def __init__(self, message: str, retry_after: datetime) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TruncatedPage(Exception):
    """A page held fewer rows than GA4 promised: retried, never accepted."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: sleep uniform(0, initial * multiplier**n), capped."""

    initial: float = 1.0
    maximum: float = 32.0
    multiplier: float = 2.0


@dataclass
class _Pull:
    """One report being read page by page."""

    request: ReportRequest
    page_size: int = MAX_PAGE_SIZE
    dimension_values: list[list[str]] = field(default_factory=list)
    metric_values: list[list[str]] = field(default_factory=list)
    metric_types: list[int] = field(default_factory=list)
    row_count: int | None = None
    thresholded: bool = False
    other_row: bool = False
    sampled: bool = False
    time_zone: str | None = None
    quota: dict[str, int] = field(default_factory=dict)
    restarts: int = 0

    def __post_init__(self) -> None:
        self.dimension_values = [[] for _ in self.request.dimensions]
        self.metric_values = [[] for _ in self.request.metrics]

    @property
    def offset(self) -> int:
        return len(self.metric_values[0]) if self.metric_values else 0

    @property
    def done(self) -> bool:
        return self.row_count is not None and self.offset >= self.row_count

    def restart(self) -> None:
        self.__post_init__()
        self.row_count = None
        self.restarts += 1

    def result(self) -> ReportResult:
        return ReportResult(
            rows=_frame(self),
            subject_to_thresholding=self.thresholded,
            data_loss_from_other_row=self.other_row,
            sampled=self.sampled,
            time_zone=self.time_zone or "UTC",
            quota=dict(self.quota),
        )


class GA4Connector:
    """Aggregate reports for one GA4 property through the Data API (see the module docstring)."""

    name = "ga4"

    def __init__(
        self,
        property_id: str,
        *,
        endpoint: str | None = None,
        credentials: ga_credentials.Credentials | None = None,
        max_retries: int = 5,
        quota_reserve: int = 2000,
        page_size: int = MAX_PAGE_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        backoff: Backoff = Backoff(),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        property_id = str(property_id).removeprefix("properties/")
        if not property_id.isdigit():
            raise ConnectorError(
                f"GA4 property id {property_id!r} is not numeric. Set KANON_GA4_PROPERTY to the "
                "number shown in GA4 Admin → Property settings (e.g. 123456789)."
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}.")
        self.property_id = property_id
        self.endpoint = endpoint
        self.credentials = prefer_self_signed_jwt(credentials or load_credentials())
        self.max_retries = max_retries
        self.quota_reserve = quota_reserve
        self.page_size = page_size
        self.timeout = timeout
        self.backoff = backoff
        self._clock = clock or (lambda: datetime.now(UTC))
        self.requests_made = 0  # HTTP calls sent, retries included
        self.tokens_used = 0  # GA4 quota tokens charged to this connector
        self.retries = 0
        self.last_quota: dict[str, int] = {}
        self._time_zone: str | None = None
        self._time_zone_looked_up = False
        options = client_options(endpoint)
        self._client = BetaAnalyticsDataClient(
            transport="rest", credentials=self.credentials, client_options=options
        )

    @property
    def property_name(self) -> str:
        return f"properties/{self.property_id}"

    # --- the Connector protocol -----------------------------------------------------------

    def usage(self) -> Usage:
        return Usage(
            requests=self.requests_made,
            tokens=self.tokens_used,
            tokens_left_hour=self.last_quota.get("tokens_per_hour_remaining"),
            tokens_left_day=self.last_quota.get("tokens_per_day_remaining"),
        )

    def run(self, request: ReportRequest) -> ReportResult:
        """One report through `runReport`, page by page."""
        pull = _Pull(request, self.page_size)
        while not pull.done:
            api_request = self._api_request(pull)
            response = self._call(
                partial(self._client.run_report, api_request, timeout=self.timeout),
                partial(_checked_one, pull),
            )
            self._log_quota(self._absorb(pull, response[0]))
        return pull.result()

    def run_many(self, requests: list[ReportRequest]) -> list[ReportResult]:
        """Several reports through `batchRunReports`: one page of up to 5 reports per call."""
        pulls = [_Pull(request, self.page_size) for request in requests]
        pending = deque(pulls)
        while pending:
            chunk = [pending.popleft() for _ in range(min(MAX_BATCH, len(pending)))]
            batch = BatchRunReportsRequest(
                property=self.property_name,
                requests=[self._api_request(pull) for pull in chunk],
            )
            reports = self._call(
                partial(self._client.batch_run_reports, batch, timeout=self.timeout),
                partial(_checked_batch, chunk),
            )
            tokens = 0
            for pull, report in zip(chunk, reports, strict=True):
                tokens += self._absorb(pull, report)
                if not pull.done:
                    pending.append(pull)
            self._log_quota(tokens)
        return [pull.result() for pull in pulls]

    def today(self) -> date:
        """Today in the property's time zone (from report metadata or the Admin API; else UTC)."""
        zone_name = self._time_zone or self._lookup_time_zone() or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("Unknown GA4 time zone %r; using UTC for today's date.", zone_name)
            zone = ZoneInfo("UTC")
        return self._clock().astimezone(zone).date()

    @property
    def time_zone(self) -> str | None:
        """The property's time zone, once known."""
        return self._time_zone

    # --- requests -------------------------------------------------------------------------

    def _api_request(self, pull: _Pull) -> RunReportRequest:
        request = pull.request
        return RunReportRequest(
            property=self.property_name,
            dimensions=[Dimension(name=name) for name in request.dimensions],
            metrics=[Metric(name=name) for name in request.metrics],
            date_ranges=[
                DateRange(start_date=request.start.isoformat(), end_date=request.end.isoformat())
            ],
            # A fixed order keeps pages consistent with each other.
            order_bys=[
                OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=name))
                for name in request.dimensions
            ],
            limit=self.page_size,
            offset=pull.offset,
            keep_empty_rows=False,
            return_property_quota=True,
        )

    def _call(self, send: Callable[[], Any], check: Callable[[Any], list[Any]]) -> list[Any]:
        """Send with bounded retries; return the checked raw report messages."""

        def attempt() -> list[Any]:
            self._check_quota()
            self.requests_made += 1
            return check(send())

        def on_retry(error: Exception, retry: int) -> None:
            self.retries += 1
            logger.warning(
                "GA4 call failed (%s); retry %d of %d.",
                _describe(error),
                retry,
                self.max_retries,
            )

        delays = backoff(
            self.max_retries, self.backoff.initial, self.backoff.maximum, self.backoff.multiplier
        )
        try:
            return retrying(attempt, retry_on=_is_transient, delays=delays, on_retry=on_retry)
        except ConnectorError:
            raise
        except Exception as error:
            if _is_transient(error):  # still failing when the retries ran out
                raise self._gave_up(error, self.max_retries + 1) from error
            if isinstance(error, api_exceptions.GoogleAPICallError):
                raise self._translate(error) from error
            if isinstance(error, GoogleAuthError):
                raise ConnectorError(
                    f"Could not sign in to Google for GA4 property {self.property_id}: {error}. "
                    "Check GOOGLE_APPLICATION_CREDENTIALS (or [gcp_service_account] in "
                    ".streamlit/secrets.toml)."
                ) from error
            raise

    # --- responses ------------------------------------------------------------------------

    def _absorb(self, pull: _Pull, report: Any) -> int:
        """Add one checked page to its pull; return the quota tokens it cost."""
        if pull.row_count is not None and report.row_count != pull.row_count:
            # GA4's data changed between pages: the pages no longer fit together.
            logger.warning("GA4 row count changed while paging; reading the report again.")
            pull.restart()
            if pull.restarts > self.max_retries:
                raise ConnectorError(
                    f"GA4 kept changing the report {pull.request.dimensions or '(site total)'} "
                    f"for {pull.request.start}..{pull.request.end} while it was being read. Run "
                    "the sync again later, once GA4 has finished processing those days."
                )
            return 0
        pull.row_count = report.row_count
        pull.metric_types = [header.type_ for header in report.metric_headers]
        for row in report.rows:
            for values, cell in zip(pull.dimension_values, row.dimension_values, strict=True):
                values.append(cell.value)
            for values, cell in zip(pull.metric_values, row.metric_values, strict=True):
                values.append(cell.value)
        metadata = report.metadata
        pull.thresholded |= metadata.subject_to_thresholding
        pull.other_row |= metadata.data_loss_from_other_row
        pull.sampled |= len(metadata.sampling_metadatas) > 0
        if metadata.time_zone:
            pull.time_zone = metadata.time_zone
            self._time_zone = metadata.time_zone
        if not report.HasField("property_quota"):
            return 0
        return self._account(pull, _quota(report.property_quota))

    def _account(self, pull: _Pull, quota: dict[str, int]) -> int:
        consumed = quota.get("tokens_per_hour_consumed", 0)
        self.tokens_used += consumed
        self.last_quota = quota
        for key, value in quota.items():
            if key.endswith("_consumed"):
                pull.quota[key] = pull.quota.get(key, 0) + value
            else:
                pull.quota[key] = value
        return consumed

    def _log_quota(self, tokens: int) -> None:
        quota = self.last_quota
        logger.info(
            "GA4 quota: %d tokens for this call; %s tokens left this hour, %s today "
            "(so far: %d requests, %d tokens).",
            tokens,
            quota.get("tokens_per_hour_remaining", "?"),
            quota.get("tokens_per_day_remaining", "?"),
            self.requests_made,
            self.tokens_used,
        )

    # --- quota and errors -----------------------------------------------------------------

    def _check_quota(self) -> None:
        """Stop before a call that would eat into the reserve (or that GA4 would refuse)."""
        hourly = self.last_quota.get("tokens_per_hour_remaining")
        daily = self.last_quota.get("tokens_per_day_remaining")
        now = self._clock()
        if daily is not None and daily < self.quota_reserve:
            # GA4's daily quota resets at midnight Pacific time.
            pacific = now.astimezone(ZoneInfo("America/Los_Angeles"))
            reset = datetime.combine(pacific.date() + timedelta(days=1), datetime.min.time())
            retry_after = reset.replace(tzinfo=pacific.tzinfo).astimezone(UTC)
            raise QuotaExhausted(
                f"GA4 daily quota for property {self.property_id} is nearly used: {daily} tokens "
                f"left, below the reserve of {self.quota_reserve} (KANON_GA4_QUOTA_RESERVE). "
                f"Run the sync again after {retry_after:%Y-%m-%d %H:%M} UTC, when the daily "
                "quota resets; what was already fetched is not lost.",
                retry_after,
            )
        if hourly is not None and hourly < self.quota_reserve:
            retry_after = _next_hour(now)
            raise QuotaExhausted(
                f"GA4 hourly quota for property {self.property_id} is nearly used: {hourly} "
                f"tokens left, below the reserve of {self.quota_reserve} "
                f"(KANON_GA4_QUOTA_RESERVE). Run the sync again after {retry_after:%H:%M} UTC; "
                "the hourly quota refills within the hour.",
                retry_after,
            )

    def _gave_up(self, error: BaseException | None, attempts: int) -> ConnectorError:
        detail = _describe(error) if error is not None else "unknown error"
        if isinstance(error, api_exceptions.TooManyRequests | api_exceptions.ResourceExhausted):
            retry_after = _next_hour(self._clock())
            return QuotaExhausted(
                f"GA4 refused {attempts} attempts in a row as too many requests ({detail}). "
                f"The property's quota is used up or other tools are querying it: run the sync "
                f"again after {retry_after:%H:%M} UTC.",
                retry_after,
            )
        return ConnectorError(
            f"GA4 did not answer after {attempts} attempts (last error: {detail}). This is "
            "usually temporary: run the sync again later. KANON_GA4_MAX_RETRIES sets how many "
            "times a call is retried."
        )

    def _translate(self, error: api_exceptions.GoogleAPICallError) -> ConnectorError:
        if isinstance(error, api_exceptions.Forbidden):
            return ConnectorError(permission_message(self.property_id, self.credentials, error))
        if isinstance(error, api_exceptions.BadRequest):
            return ConnectorError(bad_request_message(api_message(error), self._known_fields()))
        if isinstance(error, api_exceptions.Unauthorized):
            return ConnectorError(
                f"Google did not accept the credentials for GA4 property {self.property_id} "
                f"({api_message(error)}). Check that the service-account key is current (not "
                "deleted or rotated) and that the Google Analytics Data API is enabled in its "
                "project."
            )
        if isinstance(error, api_exceptions.NotFound):
            return ConnectorError(
                f"GA4 property {self.property_id} was not found ({api_message(error)}). Check "
                "KANON_GA4_PROPERTY against GA4 Admin → Property settings."
            )
        return ConnectorError(f"GA4 request failed: {_describe(error)}.")

    def _known_fields(self) -> tuple[str, ...]:
        return DIMENSIONS + METRICS

    def _lookup_time_zone(self) -> str | None:
        """The property's time zone from the Admin API, asked once; None if it cannot be read."""
        if self._time_zone_looked_up:
            return self._time_zone
        self._time_zone_looked_up = True
        from connectors.ga4_admin import property_time_zone

        try:
            self._time_zone = property_time_zone(
                self.property_id, self.credentials, self.endpoint, timeout=self.timeout
            )
        except Exception as error:  # any failure: today() falls back to UTC, and says so
            logger.warning(
                "Could not read GA4 property %s's time zone (%s); using UTC until a report "
                "says otherwise.",
                self.property_id,
                error,
            )
        return self._time_zone


def permission_message(
    property_id: str, credentials: object, error: Exception, then: str = "run the sync again"
) -> str:
    """What to do when GA4 answers 403 for a property."""
    email = service_account_email(credentials)
    who = f"The service account {email}" if email else "The Google account in use"
    grantee = email or "the service account's email (client_email in its key file)"
    return (
        f"{who} has no access to GA4 property {property_id} (403: "
        f"{api_message(error)}) To grant it: in Google Analytics open Admin → "
        f"Property access management for property {property_id}, click +, add {grantee} with "
        f"the Viewer role, and {then}. Also check KANON_GA4_PROPERTY is the right "
        "property id."
    )


def bad_request_message(api_message: str, known_fields: Iterable[str] = ()) -> str:
    """Name the field GA4 complained about (400), if its message says which."""
    field_name = offending_field(api_message, known_fields)
    if field_name:
        return (
            f"GA4 rejected the request because of field {field_name!r}: {api_message} Check "
            "that the field exists in the GA4 Data API schema and is compatible with the other "
            "fields of the report (Kanon's allow-list is connectors/catalog.py)."
        )
    return f"GA4 rejected the request (400): {api_message}"


def offending_field(api_message: str, known_fields: Iterable[str] = ()) -> str | None:
    """The field a GA4 error message names: `Field foo is ...`, or a known field it mentions."""
    match = re.search(r"\b[Ff]ield(?:s)?:?\s+['\"`]?([A-Za-z][\w:]*)", api_message)
    if match:
        return match.group(1)
    match = re.search(r"\b(?:dimension|metric)(?: name)?[:\s]+['\"`]?([A-Za-z][\w:]*)", api_message)
    if match and match.group(1) not in {"is", "and", "or", "name", "names"}:
        return match.group(1)
    for name in known_fields:
        if re.search(rf"\b{re.escape(name)}\b", api_message):
            return name
    return None


def _checked_one(pull: _Pull, response: Any) -> list[Any]:
    """A `runReport` answer as the list of report messages `_call` returns, checked."""
    return [_checked(pull, RunReportResponse.pb(response))]


def _checked(pull: _Pull, report: Any) -> Any:
    """Refuse a page with fewer rows than GA4 said it would hold (a cut-off response)."""
    remaining = report.row_count - pull.offset
    expected = max(0, min(remaining, pull.page_size))
    if len(report.rows) < expected:
        raise TruncatedPage(
            f"page at offset {pull.offset} held {len(report.rows)} rows, GA4 promised {expected}"
        )
    return report


def _checked_batch(chunk: list[_Pull], response: Any) -> list[Any]:
    reports = list(type(response).pb(response).reports)
    if len(reports) != len(chunk):
        raise TruncatedPage(f"batch returned {len(reports)} reports for {len(chunk)} requests")
    return [_checked(pull, report) for pull, report in zip(chunk, reports, strict=True)]


def _quota(message: Any) -> dict[str, int]:
    """GA4's PropertyQuota flattened: `tokens_per_hour_consumed`, `..._remaining`, and so on."""
    quota: dict[str, int] = {}
    for name in (
        "tokens_per_day",
        "tokens_per_hour",
        "concurrent_requests",
        "tokens_per_project_per_hour",
        "server_errors_per_project_per_hour",
        "potentially_thresholded_requests_per_hour",
    ):
        if message.HasField(name):
            status = getattr(message, name)
            quota[f"{name}_consumed"] = int(status.consumed)
            quota[f"{name}_remaining"] = int(status.remaining)
    return quota


def _frame(pull: _Pull) -> pd.DataFrame:
    """Rows as a DataFrame: dimensions as str, whole-number metrics int64, the others float64."""
    columns: dict[str, Any] = {}
    for name, values in zip(pull.request.dimensions, pull.dimension_values, strict=True):
        columns[name] = pd.Series(values, dtype="str")
    integer = int(MetricType.TYPE_INTEGER)
    types = pull.metric_types or [integer] * len(pull.request.metrics)
    for name, values, kind in zip(pull.request.metrics, pull.metric_values, types, strict=True):
        numbers = np.array(values, dtype=np.float64)
        if kind == integer or name in WHOLE_NUMBER_METRICS:
            numbers = np.rint(numbers).astype(np.int64)
        columns[name] = pd.Series(numbers)
    return pd.DataFrame(columns)


def _is_transient(error: Exception) -> bool:
    return isinstance(
        error,
        TRANSIENT_API_ERRORS
        + (requests.exceptions.RequestException, ParseError, json.JSONDecodeError, TruncatedPage),
    )


def api_message(error: BaseException) -> str:
    """GA4's own words, without the `POST http://...: ` prefix the REST transport adds."""
    message = getattr(error, "message", None) or str(error)
    return re.sub(r"^[A-Z]+ https?://\S+: ", "", message).strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, api_exceptions.GoogleAPICallError):
        return f"{error.code} {api_message(error)}".strip()
    if isinstance(error, requests.exceptions.Timeout):
        return f"no answer in time ({type(error).__name__})"
    if isinstance(error, requests.exceptions.RequestException):
        return f"connection problem ({type(error).__name__}: {error})"
    if isinstance(error, ParseError | json.JSONDecodeError):
        return f"malformed or cut-off response body ({error})"
    if isinstance(error, TruncatedPage):
        return f"truncated page ({error})"
    return f"{type(error).__name__}: {error}"


def _next_hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
