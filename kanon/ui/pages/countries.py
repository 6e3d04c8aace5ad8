"""Countries: where visits come from, by GA4's country."""

from kanon.i18n import N_
from kanon.ui import page, sections

view = page.start(N_("Countries"), "countries")
sections.breakdown_section(view, "countries")
