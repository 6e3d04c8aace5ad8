"""The figures Kanon publishes, each defined once (as Plausible's `metrics.ex` names each metric).

A `Figure` says what the page calls it, what kind of number it is, whether it adds up, how many
decimals it is shown with, the CSV column it is written to, the GA4 metric it comes from, and,
for a rate or an average, which figures it divides. Everything else derives from this registry:
the raw cells (`reports.cells`) and the store's columns, the views' ratios and labels, the
export's columns, the workbook's and the dashboard's number formats, and the attacker's required
widths (`reports.attack`). It sits among the connectors because the catalog's additive figures
come from it, and connectors import nothing above them.

The order of `FIGURES` is the order of the store's figure columns and of the CSV's figure
columns: both are contracts, so a new figure goes where it keeps both orders as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a figure's number is, which decides its unit and how the attacker measures it."""

    COUNT = "count"  # visitors, visits, views: things counted
    SECONDS = "seconds"  # a duration, or a total of seconds
    PERCENT = "percent"  # a share of visits, in percent
    RATIO = "ratio"  # one count per another (views per visit)


@dataclass(frozen=True)
class Ratio:
    """A derived figure: numerator / denominator * scale, shown only where both parts are."""

    numerator: str
    denominator: str
    scale: float = 1.0


@dataclass(frozen=True)
class Complement:
    """A derived figure: `whole` minus another derived figure (bounce rate: 100 - engagement)."""

    of: str
    whole: float = 100.0


# The attacker's interval on a withheld figure must stay `k` units wide: one visit or view per
# visitor for counts; for seconds, GA4's engaged-session threshold per visitor (PRIVACY.md,
# "The attacker").
SECONDS_PER_VISITOR = 10.0
WIDTH_UNIT_OF_KIND = {Kind.COUNT: 1.0, Kind.SECONDS: SECONDS_PER_VISITOR}


@dataclass(frozen=True)
class Figure:
    """One figure. Stored figures come from a GA4 metric; derived ones from stored figures."""

    name: str  # the column in cells, views and the store
    label: str  # the page's English text
    kind: Kind
    decimals: int  # places shown on the page, in tables, charts and the workbook
    # Adds up across periods, and across categories where the breakdown's scope allows.
    additive: bool = False
    # Adds up across page rows too (a session sees several pages, so sessions do not).
    across_pages: bool = False
    source: str | None = None  # the GA4 metric behind a stored figure
    # The source is a per-session mean or rate: the store keeps it times the sessions.
    per_session: bool = False
    export_column: str | None = None  # the CSV's column, None where the CSV leaves it out
    at_most: str | None = None  # in every cell this figure is at most that one
    derived: Ratio | Complement | None = None

    @property
    def stored(self) -> bool:
        return self.derived is None

    @property
    def metric(self) -> str:
        """The GA4 metric behind a stored figure."""
        if self.source is None:
            raise ValueError(f"{self.name} is derived from other figures, not from GA4")
        return self.source

    @property
    def width_unit(self) -> float:
        """The attacker's required width on this figure, in units of k (additive figures)."""
        try:
            return WIDTH_UNIT_OF_KIND[self.kind]
        except KeyError:
            raise ValueError(f"{self.name} is a {self.kind}: no attacker solves for it") from None


FIGURES: tuple[Figure, ...] = (
    Figure("users", "Visitors", Kind.COUNT, 0, source="activeUsers", export_column="visitors"),
    Figure(
        "sessions",
        "Visits",
        Kind.COUNT,
        0,
        additive=True,
        source="sessions",
        export_column="visits",
    ),
    Figure(
        "views",
        "Page views",
        Kind.COUNT,
        0,
        additive=True,
        across_pages=True,
        source="screenPageViews",
        export_column="page_views",
    ),
    Figure(
        "views_per_session",
        "Views per visit",
        Kind.RATIO,
        2,
        export_column="views_per_visit",
        derived=Ratio("views", "sessions"),
    ),
    Figure(
        "avg_session_duration",
        "Visit duration (s)",
        Kind.SECONDS,
        1,
        export_column="visit_duration_seconds",
        derived=Ratio("session_seconds", "sessions"),
    ),
    Figure(
        "engagement_rate",
        "Engagement rate (%)",
        Kind.PERCENT,
        1,
        export_column="engagement_rate_percent",
        derived=Ratio("engaged_sessions", "sessions", 100.0),
    ),
    Figure(
        "bounce_rate",
        "Bounce rate (%)",
        Kind.PERCENT,
        1,
        export_column="bounce_rate_percent",
        derived=Complement("engagement_rate"),
    ),
    Figure(
        "engagement_seconds",
        "Engagement time (s)",
        Kind.SECONDS,
        1,
        additive=True,
        across_pages=True,
        source="userEngagementDuration",
        export_column="engagement_seconds",
    ),
    Figure(
        "session_seconds",
        "Visit time (s)",
        Kind.SECONDS,
        1,
        additive=True,
        source="averageSessionDuration",
        per_session=True,
    ),
    Figure(
        "engaged_sessions",
        "Engaged visits",
        Kind.COUNT,
        0,
        additive=True,
        source="engagementRate",
        per_session=True,
        at_most="sessions",
    ),
    Figure(
        "engagement_per_session",
        "Engagement per visit (s)",
        Kind.SECONDS,
        1,
        derived=Ratio("engagement_seconds", "sessions"),
    ),
)

FIGURE: dict[str, Figure] = {f.name: f for f in FIGURES}

STORED: tuple[str, ...] = tuple(f.name for f in FIGURES if f.stored)
ADDITIVE: tuple[str, ...] = tuple(f.name for f in FIGURES if f.additive)
PAGE_ADDITIVE: tuple[str, ...] = tuple(f.name for f in FIGURES if f.across_pages)
EXPORTED: dict[str, str] = {f.name: f.export_column for f in FIGURES if f.export_column}
LABELS: dict[str, str] = {f.name: f.label for f in FIGURES}
DECIMALS: dict[str, int] = {f.name: f.decimals for f in FIGURES}


def ratios() -> tuple[tuple[str, Ratio], ...]:
    """The figures divided from two stored ones, in registry order."""
    return tuple((f.name, f.derived) for f in FIGURES if isinstance(f.derived, Ratio))


def complements() -> tuple[tuple[str, Complement], ...]:
    """The figures that are a whole minus another derived one, in registry order."""
    return tuple((f.name, f.derived) for f in FIGURES if isinstance(f.derived, Complement))


def linked() -> tuple[str, str]:
    """The pair (smaller, larger) of stored figures linked within every cell (`at_most`)."""
    (pair,) = [(f.name, f.at_most) for f in FIGURES if f.at_most is not None]
    return pair
