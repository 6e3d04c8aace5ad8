"""Pages: the most viewed pages with their titles (published by week and month only)."""

from kanon.i18n import N_
from kanon.ui import page, sections

view = page.start(N_("Pages"), "pages", grains=("week", "month"))
sections.breakdown_section(view, "pages")
