"""The emulator itself speaks GA4's REST JSON and semantics (raw HTTP, no Google client)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import requests

from connectors.base import ReportRequest, ReportResult
from tests.emulator.ga4_emulator import GA4Emulator


def post(emulator: GA4Emulator, rpc: str, body: dict, property_id: str | None = None):
    prop = property_id or emulator.property_id
    url = f"{emulator.endpoint}/v1beta/properties/{prop}:{rpc}"
    return requests.post(url, json=body, timeout=10)


def report_body(**changes) -> dict:
    body = {
        "dimensions": [{"name": "deviceCategory"}],
        "metrics": [{"name": "sessions"}, {"name": "engagementRate"}],
        "dateRanges": [{"startDate": "2025-06-01", "endDate": "2025-06-27"}],
        "returnPropertyQuota": True,
    }
    body.update(changes)
    return body


def test_run_report_answers_like_ga4(emulator: GA4Emulator) -> None:
    answer = post(emulator, "runReport", report_body()).json()
    assert answer["kind"] == "analyticsData#runReport"
    assert [h["name"] for h in answer["dimensionHeaders"]] == ["deviceCategory"]
    assert answer["metricHeaders"] == [
        {"name": "sessions", "type": "TYPE_INTEGER"},
        {"name": "engagementRate", "type": "TYPE_FLOAT"},
    ]
    assert answer["rowCount"] == len(answer["rows"]) == 3
    assert answer["metadata"]["timeZone"] == "Europe/Oslo"
    quota = answer["propertyQuota"]["tokensPerHour"]
    assert quota["consumed"] >= 1 and quota["remaining"] == 40_000 - quota["consumed"]


def test_unknown_field_is_a_400_naming_it(emulator: GA4Emulator) -> None:
    answer = post(emulator, "runReport", report_body(dimensions=[{"name": "userId"}]))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert "Field userId is not a valid dimension" in error["message"]
    answer = post(emulator, "runReport", report_body(metrics=[{"name": "totalRevenue"}]))
    assert "Field totalRevenue is not a valid metric" in answer.json()["error"]["message"]


def test_unknown_property_is_permission_denied(emulator: GA4Emulator) -> None:
    answer = post(emulator, "runReport", report_body(), property_id="999")
    assert answer.status_code == 403
    assert answer.json()["error"]["status"] == "PERMISSION_DENIED"


def test_limit_offset_and_order(emulator: GA4Emulator) -> None:
    body = report_body(
        dimensions=[{"name": "date"}],
        orderBys=[{"dimension": {"dimensionName": "date"}, "desc": True}],
        limit="10",
        offset="5",
    )
    answer = post(emulator, "runReport", body).json()
    dates = [row["dimensionValues"][0]["value"] for row in answer["rows"]]
    assert answer["rowCount"] == 27
    assert dates == [f"202506{day:02d}" for day in range(22, 12, -1)]


def test_relative_dates(emulator: GA4Emulator) -> None:
    body = report_body(
        dimensions=[{"name": "date"}],
        dateRanges=[{"startDate": "7daysAgo", "endDate": "yesterday"}],
    )
    dates = [
        r["dimensionValues"][0]["value"] for r in post(emulator, "runReport", body).json()["rows"]
    ]
    assert dates[0] == "20250623" and dates[-1] == "20250629"


def test_batches_hold_at_most_five(emulator: GA4Emulator) -> None:
    answer = post(emulator, "batchRunReports", {"requests": [report_body()] * 5})
    assert answer.status_code == 200 and len(answer.json()["reports"]) == 5
    answer = post(emulator, "batchRunReports", {"requests": [report_body()] * 6})
    assert answer.status_code == 400 and "limit is 5" in answer.json()["error"]["message"]


def test_quota_runs_out_with_429(sample) -> None:
    with GA4Emulator(sample, tokens_per_hour=5) as emulator:
        answers = [post(emulator, "runReport", report_body()) for _ in range(5)]
    codes = [answer.status_code for answer in answers]
    assert codes[0] == 200 and codes[-1] == 429
    assert answers[-1].json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_faults_are_served_in_order_then_stop(emulator: GA4Emulator) -> None:
    emulator.inject("503", times=2)
    codes = [post(emulator, "runReport", report_body()).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert [entry.fault for entry in emulator.log] == ["503", "503", None]


def test_truncate_fault_promises_more_rows_than_it_sends(emulator: GA4Emulator) -> None:
    emulator.inject("truncate")
    answer = post(emulator, "runReport", report_body()).json()
    assert answer["rowCount"] == 3 and len(answer["rows"]) == 1


def test_cut_and_badjson_faults_break_the_body(emulator: GA4Emulator) -> None:
    emulator.inject("badjson")
    answer = post(emulator, "runReport", report_body())
    with pytest.raises(ValueError):
        answer.json()
    emulator.inject("cut")
    with pytest.raises(requests.exceptions.RequestException):
        post(emulator, "runReport", report_body())


def test_unknown_fault_is_refused(emulator: GA4Emulator) -> None:
    with pytest.raises(ValueError, match="Unknown fault"):
        emulator.inject("418")


def test_admin_endpoints(emulator: GA4Emulator) -> None:
    base = f"{emulator.endpoint}/v1beta/properties/{emulator.property_id}"
    assert requests.get(base, timeout=10).json()["timeZone"] == "Europe/Oslo"
    retention = requests.get(f"{base}/dataRetentionSettings", timeout=10).json()
    assert retention["eventDataRetention"] == "FOURTEEN_MONTHS"
    alpha = f"{emulator.endpoint}/v1alpha/properties/{emulator.property_id}"
    signals = requests.get(f"{alpha}/googleSignalsSettings", timeout=10).json()
    assert signals["state"] == "GOOGLE_SIGNALS_DISABLED"
    metadata = requests.get(f"{base}/metadata", timeout=10).json()
    assert {"apiName": "sessions", "uiName": "sessions", "type": "TYPE_INTEGER"} in metadata[
        "metrics"
    ]


class FlaggedConnector:
    """A tiny fake source whose answers carry every GA4 warning flag."""

    def today(self) -> date:
        return date(2025, 6, 30)

    def run(self, request: ReportRequest) -> ReportResult:
        rows = {name: ["a", "b"] for name in request.dimensions}
        rows.update({name: [3, 4] for name in request.metrics})
        return ReportResult(
            pd.DataFrame(rows),
            subject_to_thresholding=True,
            data_loss_from_other_row=True,
            sampled=True,
            time_zone="America/New_York",
        )


def test_flags_reach_the_metadata() -> None:
    with GA4Emulator(FlaggedConnector()) as emulator:
        body = report_body(metrics=[{"name": "sessions"}])
        metadata = post(emulator, "runReport", body).json()["metadata"]
    assert metadata["subjectToThresholding"] and metadata["dataLossFromOtherRow"]
    assert metadata["samplingMetadatas"] and metadata["timeZone"] == "America/New_York"
