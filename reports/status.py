"""The status every cell of a release carries: published, or why it is withheld."""

PUBLISHED = "published"
PRIMARY = "primary"  # fewer than k users
SECONDARY = "secondary"  # withheld so that no primary cell can be derived from what is published
GA4_OTHER = "other-row"  # GA4's "(other)" row hides rows: never published as such
EMPTY = "empty"  # no visit at all: listed like a withheld cell, so a row never says "visited"
WITHHELD = (PRIMARY, SECONDARY, GA4_OTHER, EMPTY)

GA4_OTHER_CATEGORY = "(other)"

# What people see: every withheld cell looks the same. Telling "fewer than k" apart from
# "protects another cell" would tell a reader which cells hold 1 to k-1 visitors.
SHOWN_WITHHELD = "withheld"


def shown(status: str) -> str:
    """The status as views, charts, tables and CSVs show it: published or withheld."""
    return PUBLISHED if status == PUBLISHED else SHOWN_WITHHELD
