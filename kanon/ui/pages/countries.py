"""Countries: where visits come from, by GA4's country."""

from kanon.ui import components, page

view = page.start("Countries", "countries")
components.breakdown_section(view, "countries")
