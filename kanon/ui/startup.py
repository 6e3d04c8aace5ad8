"""Start-up work of the dashboard server, done once, before anyone needs it.

A cold server's first page pays for importing pandas, Plotly and Kanon's modules and for
loading the release (about a second at scale 10) after the browser has loaded Streamlit's own
scripts. `warm_up` does that work while the browser loads them. It is an optimisation only:
whatever fails here is left for the page's own run to meet and report.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Import what a first run imports, compile the catalogs and load the last release into
    its cache."""
    try:
        from kanon import i18n

        for language in i18n.LANGUAGES:  # a tenth of a second for Norwegian: not on a page
            i18n.translations(language)
        from kanon.ui import (  # noqa: F401
            data,
            figures,
            messages,
            navigation,
            page,
            pickers,
            sections,
            signin_page,
        )
        from kanon.ui.context import current_settings

        data.current_release(current_settings())
    except Exception:  # a bad setting or no store yet: the page says what to do
        log.debug("warm-up skipped", exc_info=True)
