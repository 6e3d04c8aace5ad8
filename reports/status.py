"""The status every cell of a release carries: published, or why it is withheld."""

PUBLISHED = "published"
PRIMARY = "primary"  # fewer than k users
SECONDARY = "secondary"  # withheld so that no primary cell can be derived from what is published
GA4_OTHER = "other-row"  # GA4's "(other)" row hides rows: never published as such
WITHHELD = (PRIMARY, SECONDARY, GA4_OTHER)

GA4_OTHER_CATEGORY = "(other)"
