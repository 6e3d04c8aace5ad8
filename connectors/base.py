"""What every connector answers: aggregate metrics for allow-listed dimensions over a date range.

A connector returns rows shaped like a GA4 `runReport` response: one column per requested
dimension (strings in GA4's formats: `date` YYYYMMDD, `isoYearIsoWeek` YYYYWW, `yearMonth`
YYYYMM) and one per metric (numbers). Rows whose metrics are all zero are absent, as in GA4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pandas as pd

from connectors.catalog import check_request
from connectors.errors import KanonError


@dataclass(frozen=True)
class ReportRequest:
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    start: date
    end: date

    def __post_init__(self) -> None:
        check_request(self.dimensions, self.metrics)
        if self.start > self.end:
            raise ValueError(f"Report range starts {self.start} after it ends {self.end}.")


@dataclass
class ReportResult:
    rows: pd.DataFrame
    # GA4's own warnings about the figures, kept with the rows they came with.
    subject_to_thresholding: bool = False
    data_loss_from_other_row: bool = False
    sampled: bool = False
    time_zone: str = "UTC"
    quota: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """What a connector has spent so far: calls sent (retries included), GA4 quota tokens
    charged and what GA4 said was left, bytes BigQuery processed and billed. None where the
    source has no such counter (the sample spends nothing)."""

    requests: int = 0
    tokens: int = 0
    tokens_left_hour: int | None = None
    tokens_left_day: int | None = None
    bytes_processed: int | None = None
    bytes_billed: int | None = None


class ConnectorError(KanonError, RuntimeError):
    """A source could not answer; the message says what to do about it."""


class Connector(Protocol):
    """Anything that answers aggregate report requests (GA4, the sample property)."""

    name: str

    def run(self, request: ReportRequest) -> ReportResult: ...

    def run_many(self, requests: list[ReportRequest]) -> list[ReportResult]: ...

    def today(self) -> date:
        """Today in the property's time zone."""
        ...

    def usage(self) -> Usage:
        """What this connector has spent since it was made (a sync makes one per run)."""
        ...
