"""BigQueryConnector's wiring against the local BigQuery fake: jobs, dry runs, budget, paging,
errors that say what to do."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from connectors.base import ConnectorError, ReportRequest
from connectors.bigquery import MIN_BILLED_BYTES, OverBudget
from connectors.catalog import METRICS
from connectors.sample import SampleConnector
from tests.bigquery.conftest import TODAY, connector_for
from tests.emulator.bigquery_fake import BigQueryFake

WEEKS = ReportRequest(("isoYearIsoWeek", "pagePath"), METRICS, date(2025, 6, 2), date(2025, 6, 15))
DAYS = ReportRequest(("date", "browser"), METRICS, date(2025, 6, 10), date(2025, 6, 12))


def test_a_report_through_the_fake_equals_the_sample(
    fake: BigQueryFake, sample: SampleConnector
) -> None:
    connector = connector_for(fake, page_size=100)
    result = connector.run(WEEKS)
    pd.testing.assert_frame_equal(result.rows, sample.run(WEEKS).rows, check_exact=True)
    assert len(result.rows) > 300  # several pages of 100
    real = fake.query_jobs(dry_run=False)[0]
    assert real.pages_served >= len(result.rows) // 100
    assert result.time_zone == "Europe/Oslo"
    assert not (result.subject_to_thresholding or result.sampled or result.data_loss_from_other_row)


def test_each_query_is_dry_run_first_and_every_job_caps_the_bytes_billed(
    fake: BigQueryFake,
) -> None:
    connector = connector_for(fake, max_bytes=2 * 1024**3)
    results = connector.run_many([WEEKS, DAYS])
    jobs = list(fake.jobs.values())
    assert [job.dry_run for job in jobs] == [True, False, True, False]
    assert all(job.maximum_bytes_billed == 2 * 1024**3 for job in jobs)
    assert all(job.parameters for job in jobs)  # dates travel as parameters
    assert connector.requests_made == 4
    for result, job in zip(results, jobs[1::2], strict=True):
        assert result.quota["bytes_processed"] == job.bytes_processed > 0
        assert result.quota["bytes_billed"] == job.bytes_billed >= MIN_BILLED_BYTES
        assert result.quota["bytes_estimated"] == job.bytes_processed
    assert connector.bytes_processed == sum(j.bytes_processed for j in jobs[1::2])
    assert connector.bytes_billed == sum(j.bytes_billed for j in jobs[1::2])


def test_only_the_columns_and_days_asked_for_are_billed(fake: BigQueryFake) -> None:
    connector = connector_for(fake)
    one_day = connector.run(ReportRequest(("date",), METRICS, date(2025, 6, 10), date(2025, 6, 10)))
    three = connector.run(ReportRequest(("date",), METRICS, date(2025, 6, 10), date(2025, 6, 12)))
    assert 2.5 < three.quota["bytes_processed"] / one_day.quota["bytes_processed"] < 3.5
    browsers = connector.run(
        ReportRequest(("date", "browser"), METRICS, date(2025, 6, 10), date(2025, 6, 10))
    )
    # BigQuery stores columns apart: the browser breakdown also reads device.web_info.browser.
    assert browsers.quota["bytes_processed"] > one_day.quota["bytes_processed"]


def test_an_estimate_over_the_budget_is_refused_before_anything_runs(export) -> None:
    with BigQueryFake(export, bytes_factor=10_000) as fake:
        connector = connector_for(fake, max_bytes=MIN_BILLED_BYTES)
        with pytest.raises(OverBudget) as refused:
            connector.run(DAYS)
    message = str(refused.value)
    assert "bigquery_max_bytes" in message and "KANON_BIGQUERY_MAX_BYTES" in message
    assert f"{refused.value.estimate:,}" in message and refused.value.estimate > MIN_BILLED_BYTES
    assert fake.query_jobs(dry_run=False) == []  # nothing ran, nothing was billed
    assert connector.bytes_billed == 0


def test_a_job_over_maximum_bytes_billed_names_the_setting(fake: BigQueryFake) -> None:
    fake.inject("bytes_billed")  # BigQuery's own cap trips although the estimate fitted
    with pytest.raises(ConnectorError, match="KANON_BIGQUERY_MAX_BYTES"):
        connector_for(fake).run(DAYS)


def test_a_403_names_the_roles_to_grant(fake: BigQueryFake) -> None:
    fake.inject("403")
    with pytest.raises(ConnectorError) as denied:
        connector_for(fake).run(DAYS)
    message = str(denied.value)
    assert "BigQuery Job User" in message and "roles/bigquery.jobUser" in message
    assert "BigQuery Data Viewer" in message and "roles/bigquery.dataViewer" in message
    assert "kanon-test" in message and "analytics_123456789" in message


def test_a_missing_dataset_names_the_settings(fake: BigQueryFake) -> None:
    fake.inject("404")
    with pytest.raises(ConnectorError, match="KANON_BIGQUERY_DATASET"):
        connector_for(fake).run(DAYS)


def test_days_outside_the_export_and_today_are_empty(fake: BigQueryFake) -> None:
    connector = connector_for(fake)
    result = connector.run(ReportRequest(("date",), METRICS, TODAY, TODAY))
    assert result.rows.empty  # today's intraday table holds events, and is not read
    assert all(not s.startswith("intraday") for job in fake.jobs.values() for s in job.suffixes)


def test_today_is_in_the_property_time_zone(fake: BigQueryFake) -> None:
    from datetime import UTC, datetime

    late = datetime(2025, 6, 29, 22, 30, tzinfo=UTC)  # 00:30 in Oslo
    assert connector_for(fake, clock=lambda: late).today() == TODAY


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_bytes": 1000}, "KANON_BIGQUERY_MAX_BYTES"),
        ({"time_zone": "Mars/Olympus"}, "Mars/Olympus"),
    ],
)
def test_bad_options_say_what_to_fix(fake: BigQueryFake, options: dict, named: str) -> None:
    with pytest.raises(ConnectorError, match=named):
        connector_for(fake, **options)
