"""Pages: the most viewed pages with their titles (published by week and month only)."""

from kanon.ui import components, page

view = page.start("Pages", "pages", grains=("week", "month"))
components.breakdown_section(view, "pages")
