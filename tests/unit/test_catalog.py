from datetime import date

import pytest

from connectors.base import ReportRequest
from connectors.catalog import BREAKDOWNS, CatalogError, breakdown, check_request


@pytest.mark.parametrize("field", ["userId", "clientId", "city", "customEvent:user_email"])
def test_fields_outside_the_allow_list_are_refused_by_name(field):
    with pytest.raises(CatalogError, match=field):
        check_request(["date", field], ["sessions"])


def test_unknown_metric_is_refused():
    with pytest.raises(CatalogError, match="totalRevenue"):
        ReportRequest(("date",), ("totalRevenue",), date(2026, 1, 1), date(2026, 1, 2))


def test_every_breakdown_asks_only_allowed_fields():
    for b in BREAKDOWNS.values():
        check_request(b.dimensions, [])
        if b.label_dimension:
            check_request([b.label_dimension], [])


def test_reports_of_the_cli_contract_exist():
    for name in ["overview", "pages", "sources", "browsers", "devices", "countries"]:
        assert breakdown(name).name == name
    with pytest.raises(CatalogError, match="Choose one of"):
        breakdown("cities")


def test_pages_share_sessions_so_only_views_and_engagement_add_up():
    assert breakdown("pages").category_additive == ("views", "engagement_seconds")
    assert "sessions" in breakdown("browsers").category_additive
    assert "day" not in breakdown("pages").grains


def test_reversed_range_is_refused():
    with pytest.raises(ValueError, match="after it ends"):
        ReportRequest(("date",), ("sessions",), date(2026, 2, 1), date(2026, 1, 1))
