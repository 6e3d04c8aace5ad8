"""Pages: the most viewed pages with their titles (published by week and month only)."""

from kanon.ui import page, sections

view = page.start("Pages", "pages", grains=("week", "month"))
sections.breakdown_section(view, "pages")
