"""GA4Connector through Google's real client against the emulator: same answers as the sample."""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials

from connectors.base import ConnectorError, ReportRequest
from connectors.catalog import BREAKDOWNS, METRICS, TIME_DIMENSIONS
from connectors.ga4 import GA4Connector, QuotaExhausted
from connectors.sample import SampleConnector
from kanon.settings import Settings
from kanon.sources import ga4_connector
from tests.emulator.ga4_emulator import GA4Emulator
from tests.ga4.conftest import FAST, fixed_clock

START, END = date(2025, 3, 1), date(2025, 6, 27)


def plan(start: date = START, end: date = END) -> list[ReportRequest]:
    """Every breakdown at every grain it is published at, with every metric."""
    return [
        ReportRequest((*b.dimensions, TIME_DIMENSIONS[grain]), METRICS, start, end)
        for b in BREAKDOWNS.values()
        for grain in b.grains
    ]


def assert_same(expected, actual) -> None:
    pd.testing.assert_frame_equal(expected.rows, actual.rows)
    assert actual.subject_to_thresholding == expected.subject_to_thresholding
    assert actual.data_loss_from_other_row == expected.data_loss_from_other_row
    assert actual.sampled == expected.sampled
    assert actual.time_zone == expected.time_zone


def test_run_matches_the_sample(connector: GA4Connector, sample: SampleConnector) -> None:
    for request in plan()[:8]:
        assert_same(sample.run(request), connector.run(request))


def test_run_many_matches_the_sample_in_batches_of_five(
    connector: GA4Connector, sample: SampleConnector, emulator: GA4Emulator
) -> None:
    requests = plan()
    results = connector.run_many(requests)
    for request, result in zip(requests, results, strict=True):
        assert_same(sample.run(request), result)
    batches = emulator.calls(":batchRunReports")
    assert batches and not emulator.calls(":runReport")
    assert all(len(entry.body["requests"]) <= 5 for entry in batches)
    assert len(batches) == math.ceil(len(requests) / 5)


def test_small_pages_read_every_row(
    make_connector, sample: SampleConnector, emulator: GA4Emulator
) -> None:
    request = ReportRequest(("pagePath", "pageTitle", "yearMonth"), METRICS, START, END)
    expected = sample.run(request)
    connector = make_connector(page_size=100)
    assert_same(expected, connector.run(request))
    pages = emulator.calls(":runReport")
    assert len(pages) == math.ceil(len(expected.rows) / 100) > 2
    assert [int(p.body.get("offset", 0)) for p in pages] == [100 * i for i in range(len(pages))]
    assert all(p.body["limit"] == "100" and p.body["returnPropertyQuota"] for p in pages)
    assert all(not p.body.get("keepEmptyRows") for p in pages)


def test_paged_batches(make_connector, sample: SampleConnector, emulator: GA4Emulator) -> None:
    requests = plan()[:7]
    results = make_connector(page_size=40).run_many(requests)
    for request, result in zip(requests, results, strict=True):
        assert_same(sample.run(request), result)
    assert all(len(entry.body["requests"]) <= 5 for entry in emulator.calls(":batchRunReports"))


def test_empty_report(connector: GA4Connector, sample: SampleConnector) -> None:
    request = ReportRequest(("country",), ("sessions",), date(2010, 1, 1), date(2010, 1, 31))
    expected, actual = sample.run(request), connector.run(request)
    assert actual.rows.empty and list(actual.rows.columns) == ["country", "sessions"]
    pd.testing.assert_frame_equal(expected.rows, actual.rows, check_index_type=False)


def test_ga4_flags_are_kept(sample: SampleConnector) -> None:
    source = SampleConnector(seed=7, today=date(2025, 6, 30), other_row_limit=5, thresholding=True)
    request = ReportRequest(("country", "yearMonth"), ("activeUsers", "sessions"), START, END)
    with GA4Emulator(source) as emulator:
        connector = GA4Connector(
            emulator.property_id, endpoint=emulator.endpoint, credentials=AnonymousCredentials()
        )
        result = connector.run(request)
    expected = source.run(request)
    assert result.subject_to_thresholding and result.data_loss_from_other_row
    assert "(other)" in set(result.rows["country"])
    assert_same(expected, result)


def test_quota_is_tracked(connector: GA4Connector, emulator: GA4Emulator, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="connectors.ga4"):
        result = connector.run_many(plan()[:3])[0]
        connector.run(plan()[3])
    assert connector.requests_made == emulator.requests_served == 2
    assert connector.tokens_used == emulator.tokens_charged > 0
    quota = result.quota
    assert quota["tokens_per_hour_remaining"] < 40_000
    assert quota["tokens_per_day_consumed"] == quota["tokens_per_hour_consumed"] >= 1
    assert quota["concurrent_requests_remaining"] == 10
    assert connector.last_quota["tokens_per_hour_remaining"] == 40_000 - emulator.tokens_charged
    assert "tokens left this hour" in caplog.text


def test_quota_reserve_stops_before_the_next_call(sample: SampleConnector) -> None:
    with GA4Emulator(sample, tokens_per_hour=100) as emulator:
        connector = GA4Connector(
            emulator.property_id,
            endpoint=emulator.endpoint,
            credentials=AnonymousCredentials(),
            quota_reserve=99,
            clock=fixed_clock(datetime(2025, 6, 30, 14, 25, tzinfo=UTC)),
        )
        connector.run(plan()[0])
        with pytest.raises(QuotaExhausted, match="after 15:00 UTC") as stopped:
            connector.run(plan()[1])
        assert emulator.requests_served == 1  # nothing was sent once under the reserve
    assert isinstance(stopped.value, ConnectorError)
    assert stopped.value.retry_after == datetime(2025, 6, 30, 15, tzinfo=UTC)
    assert "KANON_GA4_QUOTA_RESERVE" in str(stopped.value)


def test_daily_quota_reserve(sample: SampleConnector) -> None:
    with GA4Emulator(sample, tokens_per_day=100) as emulator:
        connector = GA4Connector(
            emulator.property_id,
            endpoint=emulator.endpoint,
            credentials=AnonymousCredentials(),
            quota_reserve=99,
            clock=fixed_clock(datetime(2025, 6, 30, 14, 25, tzinfo=UTC)),
        )
        connector.run(plan()[0])
        with pytest.raises(QuotaExhausted, match="daily quota") as stopped:
            connector.run(plan()[1])
    assert stopped.value.retry_after == datetime(2025, 7, 1, 7, tzinfo=UTC)  # midnight PDT


def test_spent_quota_429_ends_as_quota_exhausted(sample: SampleConnector) -> None:
    with GA4Emulator(sample, tokens_per_hour=2) as emulator:
        connector = GA4Connector(
            emulator.property_id,
            endpoint=emulator.endpoint,
            credentials=AnonymousCredentials(),
            quota_reserve=0,
            max_retries=2,
            backoff=FAST,
        )
        with pytest.raises(QuotaExhausted, match="too many requests"):
            connector.run(ReportRequest(("date",), METRICS, START, END))
        assert emulator.requests_served == 3


def test_today_uses_the_property_time_zone(make_connector, emulator: GA4Emulator) -> None:
    # 23:30 UTC on 29 June is already 30 June in Oslo (UTC+2).
    late = fixed_clock(datetime(2025, 6, 29, 23, 30, tzinfo=UTC))
    connector = make_connector(clock=late)
    assert connector.today() == date(2025, 6, 30)  # asked the Admin API
    assert connector.time_zone == "Europe/Oslo"
    assert [entry.path for entry in emulator.log] == [f"/v1beta/properties/{emulator.property_id}"]
    connector.today()
    assert emulator.requests_served == 1  # cached


def test_today_learns_the_zone_from_reports(make_connector, emulator: GA4Emulator) -> None:
    connector = make_connector(clock=fixed_clock(datetime(2025, 6, 29, 23, 30, tzinfo=UTC)))
    connector.run(plan()[0])
    assert connector.today() == date(2025, 6, 30)
    assert len(emulator.log) == 1  # the report's metadata said; no Admin API call


def test_today_falls_back_to_utc(emulator: GA4Emulator, caplog) -> None:
    connector = GA4Connector(
        "42",  # the emulator refuses it: no time zone to be had
        endpoint=emulator.endpoint,
        credentials=AnonymousCredentials(),
        clock=fixed_clock(datetime(2025, 6, 29, 23, 30, tzinfo=UTC)),
    )
    with caplog.at_level(logging.WARNING, logger="connectors.ga4"):
        assert connector.today() == date(2025, 6, 29)
    assert "using UTC" in caplog.text


def test_built_from_settings(emulator: GA4Emulator, tmp_path) -> None:
    settings = Settings(
        home=tmp_path,
        ga4_property=f"properties/{emulator.property_id}",
        ga4_endpoint=emulator.endpoint,
        ga4_max_retries=1,
        ga4_quota_reserve=7,
    )
    connector = ga4_connector(settings, credentials=AnonymousCredentials())
    assert connector.property_id == emulator.property_id
    assert (connector.max_retries, connector.quota_reserve) == (1, 7)
    assert connector.name == "ga4"
    assert not connector.run(plan()[0]).rows.empty


def test_built_from_settings_needs_a_property(tmp_path) -> None:
    with pytest.raises(ConnectorError, match="KANON_GA4_PROPERTY"):
        ga4_connector(Settings(home=tmp_path), credentials=AnonymousCredentials())


def test_non_allow_listed_fields_never_leave(connector: GA4Connector, emulator) -> None:
    with pytest.raises(ValueError, match="allow-list"):
        connector.run(ReportRequest(("city",), ("sessions",), START, END))
    assert emulator.requests_served == 0


def test_property_id_must_be_numeric() -> None:
    with pytest.raises(ConnectorError, match="not numeric"):
        GA4Connector("my-site", credentials=AnonymousCredentials())
