"""The allow-list: the only GA4 vocabulary Kanon may ask for, and the reports built from it.

Anything not named here (user or client ids, city, event parameters, ...) is refused before a
request is made, so no connector can be talked into fetching visitor-level data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors import figures
from connectors.errors import EXIT_USAGE, KanonError

METRICS: tuple[str, ...] = (
    "activeUsers",
    "sessions",
    "screenPageViews",
    "userEngagementDuration",
    "averageSessionDuration",
    "engagementRate",
    "bounceRate",
)

TIME_DIMENSIONS: dict[str, str] = {"day": "date", "week": "isoYearIsoWeek", "month": "yearMonth"}

DIMENSIONS: tuple[str, ...] = (
    "date",
    "isoYearIsoWeek",
    "yearMonth",
    "pagePath",
    "pageTitle",
    "sessionSource",
    "sessionMedium",
    "sessionDefaultChannelGroup",
    "browser",
    "deviceCategory",
    "operatingSystem",
    "country",
)

GRAINS: tuple[str, ...] = ("day", "week", "month")

# Users are a distinct count and never add up; ADDITIVE do, within the relations each
# breakdown's scope allows, and across page rows only PAGE_ADDITIVE (see connectors.figures).
ADDITIVE: tuple[str, ...] = figures.ADDITIVE
PAGE_ADDITIVE: tuple[str, ...] = figures.PAGE_ADDITIVE


class CatalogError(KanonError, ValueError):
    """A request named something outside the allow-list."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Breakdown:
    """One report: which dimensions split the site's traffic, and at which grains it is published.

    `scope` says which figures add up across its categories: "site" is the total itself,
    "session" breakdowns partition sessions, "page" breakdowns share sessions between rows.
    """

    name: str
    title: str
    dimensions: tuple[str, ...]
    grains: tuple[str, ...]
    scope: str
    # A dimension that only names categories (a page's title), fetched once for display.
    label_dimension: str | None = None

    @property
    def category_additive(self) -> tuple[str, ...]:
        """Figures whose categories sum to the site total in each period."""
        if self.scope == "session":
            return ADDITIVE
        if self.scope == "page":
            return PAGE_ADDITIVE
        return ()


OVERVIEW = "overview"

# Pages are a long tail: at day grain nearly every cell would be withheld and would link every
# day to every other, so pages are published by week and month only.
BREAKDOWNS: dict[str, Breakdown] = {
    b.name: b
    for b in (
        Breakdown(OVERVIEW, "Overview", (), GRAINS, "site"),
        Breakdown("pages", "Pages", ("pagePath",), ("week", "month"), "page", "pageTitle"),
        Breakdown("sources", "Sources", ("sessionSource", "sessionMedium"), GRAINS, "session"),
        Breakdown("channels", "Channels", ("sessionDefaultChannelGroup",), GRAINS, "session"),
        Breakdown("browsers", "Browsers", ("browser",), GRAINS, "session"),
        Breakdown("devices", "Devices", ("deviceCategory",), GRAINS, "session"),
        Breakdown(
            "operating_systems", "Operating systems", ("operatingSystem",), GRAINS, "session"
        ),
        Breakdown("countries", "Countries", ("country",), GRAINS, "session"),
    )
}


def breakdown(name: str) -> Breakdown:
    """The breakdown called `name`, or a CatalogError listing the ones that exist."""
    try:
        return BREAKDOWNS[name]
    except KeyError:
        known = ", ".join(BREAKDOWNS)
        raise CatalogError(f"Unknown report {name!r}. Choose one of: {known}.") from None


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise CatalogError(f"Unknown grain {grain!r}. Choose one of: {', '.join(GRAINS)}.")
    return grain


def check_request(dimensions: Iterable[str], metrics: Iterable[str]) -> None:
    """Refuse any dimension or metric that is not allow-listed, naming it."""
    bad_dims = [d for d in dimensions if d not in DIMENSIONS]
    bad_metrics = [m for m in metrics if m not in METRICS]
    if bad_dims or bad_metrics:
        named = ", ".join(repr(x) for x in bad_dims + bad_metrics)
        raise CatalogError(
            f"Refused: {named} is not in Kanon's allow-list of aggregate GA4 fields. "
            f"Allowed dimensions: {', '.join(DIMENSIONS)}; metrics: {', '.join(METRICS)}."
        )
