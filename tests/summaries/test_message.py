"""A summary e-mail's form: multipart, escaped, nothing fetched from elsewhere, the deep link
as the dashboard reads it."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qsl, urlsplit

from kanon.summaries.content import Row, Summary, dashboard_link
from kanon.summaries.message import build_message
from kanon.ui import links
from kanon.ui.pickers import PRESETS
from reports.views import Kpi

HOSTILE = '<img src="https://tracker.example/p.gif">Pricing & "plans"\nBcc: x@example.com'


def summary(link: str | None) -> Summary:
    cards = (
        Kpi("users", "", 438.0, 450.0, 0),
        Kpi("sessions", "", 3197.0, 3304.0, 0),
        Kpi("views", "", 6848.0, None, 0),
        Kpi("views_per_session", "", 2.14, 2.06, 0),
        Kpi("bounce_rate", "", None, 33.1, 0),
    )
    return Summary(
        cadence="weekly",
        first=date(2026, 11, 23),
        last=date(2026, 11, 29),
        previous_first=date(2026, 11, 16),
        previous_last=date(2026, 11, 22),
        k=10,
        kpis=cards,
        withheld_days=1,
        top={
            "pages": (
                Row(HOSTILE, 1002.0),
                Row("Tjenester", None),
                Row("Other (not listed)", 1444.0, other=True),
            ),
            "sources": (),
        },  # fmt: skip
        flags=("subject_to_thresholding",),
        link=link,
    )


def test_plain_text_and_html_with_page_titles_escaped_and_nothing_fetched() -> None:
    link = dashboard_link("https://kanon.example.com/", date(2026, 11, 23), date(2026, 11, 29))
    message = build_message(summary(link), "ana", "ana@example.com", "kanon@example.com")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert 'Pricing & "plans" Bcc: x@example.com: 1,002' in text  # one line, no new header
    assert "&lt;img src=&quot;https://tracker.example/p.gif&quot;&gt;" in page
    assert not re.search(r"<(img|script|link|style|iframe|object)\b", page, re.IGNORECASE)
    assert re.findall(r"(?:href|src)=\"([^\"]*)\"", page) == [link.replace("&", "&amp;")]
    assert message["Bcc"] is None and message["To"] == "ana@example.com"
    assert "2. Tjenester: withheld" in text
    assert "Page views: 6,848 (no comparison)" in text and "Bounce rate: withheld" in text
    assert "1 of 7 days are withheld" in text
    assert "thresholding" in text and "Sources" in text


def test_without_a_public_url_there_is_no_link() -> None:
    message = build_message(summary(None), "ana", "ana@example.com", "kanon@example.com")
    page = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "href" not in page and "/overview?" not in text
    assert "Open Kanon's dashboard for more." in text


def test_the_link_opens_the_same_days_on_the_dashboard() -> None:
    link = dashboard_link("https://kanon.example.com/k", date(2026, 11, 1), date(2026, 11, 30))
    assert link is not None
    address = urlsplit(link)
    assert address.path == "/k/overview"
    read = links.parse(dict(parse_qsl(address.query)), list(PRESETS))
    assert (read.preset, read.first, read.last, read.grain, read.problems) == (
        "Custom", date(2026, 11, 1), date(2026, 11, 30), "day", []
    )  # fmt: skip
