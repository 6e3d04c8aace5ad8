"""The BigQuery connector: allow-listed aggregate reports from GA4's BigQuery export.

For properties that outgrow the Data API (its token quotas, row limits, sampling and Google's
own thresholds): BigQuery aggregates every exported event and only aggregate rows come back,
the same cells the Data API path gives, so everything after the connector is unchanged and
Kanon's thresholds are the only ones (BigQuery applies none).

It uses Google's own client (`google-cloud-bigquery`) over REST, so the same code talks to
bigquery.googleapis.com and to a local fake at `http://127.0.0.1:PORT` (`KANON_BIGQUERY_ENDPOINT`).

What it guarantees to the sync:

- only allow-listed fields are asked for (`ReportRequest` checks; `connectors.bigquery_sql`
  writes the SQL, with the dates as query parameters);
- only the day tables a request covers are scanned (`_TABLE_SUFFIX` bounds), never the
  intraday table; which days are asked for is the sync's business (settled days only);
- every query is first sent as a dry run; one whose estimate exceeds `max_bytes` is not run and
  the sync stops with the estimate and the setting to change; every job carries
  `maximum_bytes_billed`, so BigQuery itself refuses a query that would cost more;
- 403s name the roles to grant; a missing dataset names the settings to check;
- bytes processed and billed are counted (`bytes_processed`, `bytes_billed`) and travel with
  each result in `ReportResult.quota`.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from google.api_core import exceptions as api_exceptions
from google.auth import credentials as ga_credentials
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from connectors.base import ConnectorError, ReportRequest, ReportResult, Usage
from connectors.bigquery_sql import Query, events_table, report_query
from connectors.ga4_auth import load_credentials, service_account_email

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/bigquery"
DEFAULT_MAX_BYTES = 10 * 1024**3  # 10 GiB per query
MIN_BILLED_BYTES = 10 * 1024**2  # BigQuery bills at least 10 MiB per query
DEFAULT_TIMEOUT = 300.0
PAGE_SIZE = 50_000
INTEGER_METRICS = ("activeUsers", "sessions", "screenPageViews", "userEngagementDuration")
MAX_BYTES_SETTING = "bigquery_max_bytes (KANON_BIGQUERY_MAX_BYTES)"


class OverBudget(ConnectorError):
    """A query's dry-run estimate is above the per-query byte budget; it was not run."""

    def __init__(self, message: str, estimate: int) -> None:
        super().__init__(message)
        self.estimate = estimate


class BigQueryConnector:
    """Aggregate reports from one GA4 export dataset (see the module docstring)."""

    name = "bigquery"

    def __init__(
        self,
        project: str,
        dataset: str,
        *,
        location: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        endpoint: str | None = None,
        credentials: ga_credentials.Credentials | None = None,
        time_zone: str = "UTC",
        timeout: float = DEFAULT_TIMEOUT,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        data_project, _, dataset_name = dataset.rpartition(".")
        self.project = project
        self.dataset = dataset_name
        self.data_project = data_project or project
        try:
            self.table = events_table(self.data_project, self.dataset)
            self._zone = ZoneInfo(time_zone)
        except (ValueError, ZoneInfoNotFoundError) as error:
            raise ConnectorError(f"BigQuery settings: {error}") from None
        if max_bytes < MIN_BILLED_BYTES:
            raise ConnectorError(
                f"{MAX_BYTES_SETTING} is {max_bytes:,} bytes; BigQuery bills at least "
                f"{MIN_BILLED_BYTES:,} bytes per query, so set it to that or more."
            )
        self.location = location
        self.max_bytes = max_bytes
        self.time_zone = time_zone
        self.timeout = timeout
        self.page_size = page_size
        self.credentials = _bigquery_scoped(credentials or load_credentials())
        self._clock = clock or (lambda: datetime.now(UTC))
        self.requests_made = 0  # jobs sent: dry runs and queries
        self.bytes_processed = 0
        self.bytes_billed = 0
        options = {"api_endpoint": endpoint} if endpoint else None
        self._client = bigquery.Client(
            project=project,
            credentials=self.credentials,
            location=location,
            client_options=options,
        )

    # --- the Connector protocol -----------------------------------------------------------

    def run(self, request: ReportRequest) -> ReportResult:
        """One report: a dry run, then the query if it fits the budget, read page by page."""
        query = report_query(request, self.table)
        estimate = self._dry_run(query)
        if estimate > self.max_bytes:
            raise OverBudget(
                f"BigQuery estimates {estimate:,} bytes for the report "
                f"{request.dimensions or '(site total)'} over {request.start}..{request.end}, "
                f"more than {MAX_BYTES_SETTING} allows per query ({self.max_bytes:,} bytes). "
                "Nothing was run or billed and the sync stopped. Raise the setting to at least "
                f"{estimate:,} if that cost is acceptable.",
                estimate,
            )
        job = self._call(lambda: self._client.query(query.sql, job_config=self._config(query)))
        rows = self._call(lambda: list(job.result(page_size=self.page_size, timeout=self.timeout)))
        processed, billed = int(job.total_bytes_processed or 0), int(job.total_bytes_billed or 0)
        self.bytes_processed += processed
        self.bytes_billed += billed
        logger.info(
            "BigQuery: %s bytes processed, %s billed (estimate %s); %d rows.",
            f"{processed:,}",
            f"{billed:,}",
            f"{estimate:,}",
            len(rows),
        )
        return ReportResult(
            rows=_frame(rows, request),
            time_zone=self.time_zone,
            quota={
                "bytes_estimated": estimate,
                "bytes_processed": processed,
                "bytes_billed": billed,
            },
        )

    def run_many(self, requests: list[ReportRequest]) -> list[ReportResult]:
        return [self.run(request) for request in requests]

    def today(self) -> date:
        """Today in the property's time zone: the export's `event_date` is in it."""
        return self._clock().astimezone(self._zone).date()

    def usage(self) -> Usage:
        return Usage(
            requests=self.requests_made,
            bytes_processed=self.bytes_processed,
            bytes_billed=self.bytes_billed,
        )

    # --- jobs -------------------------------------------------------------------------------

    def _config(self, query: Query, dry_run: bool = False) -> bigquery.QueryJobConfig:
        parameters = [
            bigquery.ScalarQueryParameter(name, "STRING", value)
            for name, value in query.parameters.items()
        ]
        return bigquery.QueryJobConfig(
            query_parameters=parameters,
            use_legacy_sql=False,
            dry_run=dry_run,
            use_query_cache=not dry_run,  # a dry run against the cache estimates 0 bytes
            maximum_bytes_billed=self.max_bytes,
        )

    def _dry_run(self, query: Query) -> int:
        job = self._call(
            lambda: self._client.query(query.sql, job_config=self._config(query, dry_run=True))
        )
        return int(job.total_bytes_processed or 0)

    def _call(self, send: Callable[[], Any]) -> Any:
        """One API step; Google's errors become ConnectorErrors that say what to do."""
        try:
            result = send()
        except api_exceptions.GoogleAPICallError as error:
            raise self._translate(error) from error
        except GoogleAuthError as error:
            raise ConnectorError(
                f"Could not sign in to Google for BigQuery project {self.project}: {error}. "
                "Check GOOGLE_APPLICATION_CREDENTIALS (or [gcp_service_account] in "
                ".streamlit/secrets.toml)."
            ) from error
        except concurrent.futures.TimeoutError as error:
            raise ConnectorError(
                f"A BigQuery query did not finish within {self.timeout:.0f} s. Run the sync "
                "again later; BigQuery may be busy."
            ) from error
        if isinstance(result, bigquery.QueryJob):
            self.requests_made += 1
        return result

    def _translate(self, error: api_exceptions.GoogleAPICallError) -> ConnectorError:
        reason = _reason(error)
        if reason == "bytesBilledLimitExceeded":
            return ConnectorError(
                f"BigQuery refused a query that would bill more than {self.max_bytes:,} bytes "
                f"({MAX_BYTES_SETTING}): {_message(error)} Nothing was billed and the sync "
                "stopped; raise the setting if that cost is acceptable."
            )
        if isinstance(error, api_exceptions.Forbidden) or reason == "accessDenied":
            return ConnectorError(self._permission_message(error))
        if isinstance(error, api_exceptions.NotFound):
            return ConnectorError(
                f"BigQuery found no GA4 export at {self.data_project}.{self.dataset} "
                f"({_message(error)}). Check bigquery_dataset (KANON_BIGQUERY_DATASET, default "
                "analytics_<ga4_property>), bigquery_project and bigquery_location against "
                "GA4 Admin → Product links → BigQuery links."
            )
        return ConnectorError(f"BigQuery request failed: {error.code} {_message(error)}")

    def _permission_message(self, error: Exception) -> str:
        email = service_account_email(self.credentials)
        who = f"The service account {email}" if email else "The Google account in use"
        return (
            f"{who} may not run Kanon's queries (403: {_message(error)}). Grant it, in Google "
            f"Cloud → IAM: BigQuery Job User (roles/bigquery.jobUser) on project "
            f"{self.project} (bigquery_project), to run query jobs; and BigQuery Data Viewer "
            f"(roles/bigquery.dataViewer) on the dataset {self.data_project}.{self.dataset} "
            "(bigquery_dataset), to read the export. Then run the sync again."
        )


def _bigquery_scoped(credentials: ga_credentials.Credentials) -> ga_credentials.Credentials:
    """The GA4 credentials, asking for BigQuery's scope instead where they can be re-scoped."""
    if isinstance(credentials, ga_credentials.Scoped) and not isinstance(
        credentials, ga_credentials.AnonymousCredentials
    ):
        try:
            return credentials.with_scopes([SCOPE])
        except NotImplementedError:
            return credentials
    return credentials


def _reason(error: api_exceptions.GoogleAPICallError) -> str | None:
    for item in getattr(error, "errors", None) or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"])
    return None


def _message(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return message.split("\n")[0].strip()


def _frame(rows: list[Any], request: ReportRequest) -> pd.DataFrame:
    """GA4-shaped rows: dimensions as str, counts int64, rates float64; all-zero rows dropped."""
    columns: dict[str, Any] = {}
    for name in request.dimensions:
        columns[name] = pd.Series([row[name] for row in rows], dtype="str")
    for name in request.metrics:
        values = pd.Series([row[name] for row in rows], dtype="float64").fillna(0)
        columns[name] = values.astype("int64" if name in INTEGER_METRICS else "float64")
    frame = pd.DataFrame(columns)
    if request.metrics:
        frame = frame[(frame[list(request.metrics)] != 0).any(axis=1)]
    if request.dimensions:
        frame = frame.sort_values(list(request.dimensions), kind="stable")
    return frame.reset_index(drop=True)
