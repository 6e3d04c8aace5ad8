"""Addresses a person can bookmark or share: the range and grain in the query string.

`/sources?range=last-90-days&grain=week`, or a custom range as
`?range=custom&from=2026-09-01&to=2026-09-30`. A link is read once, when a browser session
opens (after sign-in), and the address follows the selection afterwards. A link Kanon cannot
read gives a message saying what it used instead, never a traceback. Query parameters only
choose what to show among published periods; they never grant anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from connectors.catalog import GRAINS


def slug(preset: str) -> str:
    """`Last 28 days` -> `last-28-days`."""
    return re.sub(r"[^a-z0-9]+", "-", preset.lower()).strip("-")


@dataclass(frozen=True)
class Link:
    preset: str | None = None  # one of the range presets, by its label
    first: date | None = None
    last: date | None = None
    grain: str | None = None
    problems: list[str] = field(default_factory=list)


def parse(params: Mapping[str, str], presets: list[str]) -> Link:
    """What a query string asks for; anything unreadable is left out and named in `problems`."""
    by_slug = {slug(preset): preset for preset in presets}
    problems: list[str] = []
    preset = first = last = grain = None
    wanted = params.get("range")
    if wanted is not None:
        preset = by_slug.get(str(wanted).strip().lower())
        if preset is None:
            problems.append(f"range {str(wanted)[:40]!r} (use one of {', '.join(by_slug)})")
    if preset is not None and slug(preset) == "custom":
        first, last = (
            _day(params.get("from"), "from", problems),
            _day(params.get("to"), "to", problems),
        )
        if first is None or last is None or first > last:
            if first and last:
                problems.append("from after to")
            preset = first = last = None
    if "grain" in params:
        grain = str(params["grain"]).strip().lower()
        if grain not in GRAINS:
            problems.append(f"grain {str(params['grain'])[:20]!r} (use day, week or month)")
            grain = None
    return Link(preset, first, last, grain, problems)


def _day(text: str | None, name: str, problems: list[str]) -> date | None:
    if text is None:
        problems.append(f"{name} (a custom range needs from= and to=, as YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        problems.append(f"{name} {str(text)[:20]!r} (use YYYY-MM-DD)")
        return None


def query(preset: str, first: date, last: date, grain: str) -> dict[str, str]:
    """The query string for a selection, as `parse` reads it back."""
    params = {"range": slug(preset), "grain": grain}
    if slug(preset) == "custom":
        params.update({"from": first.isoformat(), "to": last.isoformat()})
    return params
