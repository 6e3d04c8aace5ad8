"""Countries: where visits come from, by GA4's country."""

from kanon.ui import page, sections

view = page.start("Countries", "countries")
sections.breakdown_section(view, "countries")
