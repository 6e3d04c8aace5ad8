"""Every fault the emulator can inject: transient ones recover, the others say what to do."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from google.oauth2 import service_account

from connectors.base import ConnectorError, ReportRequest
from connectors.catalog import METRICS
from connectors.ga4 import GA4Connector, QuotaExhausted, bad_request_message, offending_field
from connectors.sample import SampleConnector
from tests.emulator.ga4_emulator import GA4Emulator, service_account_key

REQUEST = ReportRequest(("deviceCategory", "date"), METRICS, date(2025, 6, 1), date(2025, 6, 27))
TRANSIENT = ("429", "500", "503", "timeout", "truncate", "cut", "badjson", "reset")


def short_timeout(kind: str) -> dict:
    # The emulator answers a "timeout" fault after 1.2 s; give up well before that.
    return {"timeout": 0.5} if kind == "timeout" else {}


@pytest.mark.parametrize("kind", TRANSIENT)
def test_transient_faults_are_retried(
    kind: str, make_connector, emulator: GA4Emulator, sample: SampleConnector
) -> None:
    connector = make_connector(max_retries=3, **short_timeout(kind))
    emulator.inject(kind, times=2)
    result = connector.run(REQUEST)
    pd.testing.assert_frame_equal(result.rows, sample.run(REQUEST).rows)
    assert connector.requests_made == 3 and connector.retries == 2
    assert emulator.pending_faults == 0


@pytest.mark.parametrize("kind", TRANSIENT)
def test_transient_faults_in_batches_are_retried(
    kind: str, make_connector, emulator: GA4Emulator, sample: SampleConnector
) -> None:
    connector = make_connector(max_retries=2, page_size=50, **short_timeout(kind))
    emulator.inject(kind, times=1, match=":batchRunReports")
    results = connector.run_many([REQUEST] * 6)
    for result in results:
        pd.testing.assert_frame_equal(result.rows, sample.run(REQUEST).rows)
    assert connector.retries == 1


@pytest.mark.parametrize("kind", ("500", "503", "timeout", "truncate", "cut", "badjson", "reset"))
def test_exhausted_retries_raise_connector_error(
    kind: str, make_connector, emulator: GA4Emulator
) -> None:
    connector = make_connector(max_retries=2, **short_timeout(kind))
    emulator.inject(kind, times=3)
    with pytest.raises(ConnectorError, match="did not answer after 3 attempts") as failed:
        connector.run(REQUEST)
    assert not isinstance(failed.value, QuotaExhausted)
    assert "run the sync again later" in str(failed.value)
    assert connector.requests_made == 3


def test_exhausted_429_is_a_quota_stop(make_connector, emulator: GA4Emulator) -> None:
    connector = make_connector(max_retries=1)
    emulator.inject("429", times=2)
    with pytest.raises(QuotaExhausted, match="2 attempts"):
        connector.run(REQUEST)


def test_no_retries_means_one_attempt(make_connector, emulator: GA4Emulator) -> None:
    connector = make_connector(max_retries=0)
    emulator.inject("503")
    with pytest.raises(ConnectorError, match="after 1 attempts"):
        connector.run(REQUEST)
    assert emulator.requests_served == 1


def test_permission_denied_names_the_service_account(emulator: GA4Emulator) -> None:
    info, _ = service_account_key(emulator.token_uri)
    credentials = service_account.Credentials.from_service_account_info(info)
    connector = GA4Connector(
        emulator.property_id, endpoint=emulator.endpoint, credentials=credentials
    )
    emulator.inject("403")
    with pytest.raises(ConnectorError) as denied:
        connector.run(REQUEST)
    message = str(denied.value)
    assert info["client_email"] in message
    assert f"property {emulator.property_id}" in message
    assert "Property access management" in message and "Viewer" in message
    assert emulator.requests_served == 1  # not retried


def test_wrong_property_is_permission_denied(emulator: GA4Emulator, make_connector) -> None:
    connector = make_connector()
    connector.property_id = "555"
    with pytest.raises(ConnectorError, match="no access to GA4 property 555"):
        connector.run(REQUEST)


def test_bad_request_names_the_field(make_connector, emulator: GA4Emulator) -> None:
    connector = make_connector()
    emulator.inject("400")
    with pytest.raises(ConnectorError, match="because of field 'deviceCategory'"):
        connector.run(REQUEST)
    emulator.inject(
        "400",
        message="Please remove sessionSource to make the request compatible. Dimensions "
        "and metrics are incompatible.",
    )
    with pytest.raises(ConnectorError, match="field 'sessionSource'"):
        connector.run(REQUEST)
    assert emulator.requests_served == 2  # neither was retried


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Field userId is not a valid dimension.", "userId"),
        ("Invalid dimension name: customEvent:foo", "customEvent:foo"),
        ("Please remove bounceRate to make the request compatible.", "bounceRate"),
        ("Something else went wrong.", None),
    ],
)
def test_offending_field(message: str, field: str | None) -> None:
    assert offending_field(message, ("bounceRate", "browser")) == field
    if field is None:
        assert bad_request_message(message).startswith("GA4 rejected the request (400)")
