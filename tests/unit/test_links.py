"""kanon/ui/links.py: query strings that open a view, read back exactly, and bad ones named."""

from datetime import date

from kanon.ui.links import Link, parse, query, slug
from kanon.ui.pickers import PRESETS

PRESET_NAMES = list(PRESETS)


def test_every_preset_has_a_readable_address_that_reads_back():
    assert slug("Last 28 days") == "last-28-days"
    for preset in PRESET_NAMES:
        params = query(preset, date(2026, 9, 1), date(2026, 9, 30), "week")
        link = parse(params, PRESET_NAMES)
        assert (link.preset, link.grain, link.problems) == (preset, "week", [])
    custom = parse(query("Custom", date(2026, 9, 1), date(2026, 9, 30), "day"), PRESET_NAMES)
    assert (custom.first, custom.last) == (date(2026, 9, 1), date(2026, 9, 30))


def test_tampered_links_are_named_and_ignored():
    link = parse({"range": "<script>alert(1)</script>", "grain": "year"}, PRESET_NAMES)
    assert (link.preset, link.grain) == (None, None) and len(link.problems) == 2
    assert "use one of last-7-days" in link.problems[0] and "day, week or month" in link.problems[1]
    bad_days = parse({"range": "custom", "from": "2026-13-01", "to": "x" * 500}, PRESET_NAMES)
    assert bad_days.preset is None and all(len(p) < 120 for p in bad_days.problems)
    backwards = parse({"range": "custom", "from": "2026-10-01", "to": "2026-09-01"}, PRESET_NAMES)
    assert backwards.preset is None and "from after to" in backwards.problems
    assert parse({}, PRESET_NAMES) == Link()
