"""Notes on the charts, as the views see them: a day or a run of days and a short plain text.

The store keeps them (`kanon.store.notes`); this module only describes one and picks those a
chart or a workbook over a range shows, so `reports` stays pure computation over values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple


class Note(NamedTuple):
    """One note: about the site (a campaign, a redesign, an outage), never about a person.

    A tuple, so a cached figure can take the notes it shows as part of its key."""

    note_id: int
    first_day: date
    last_day: date
    text: str
    author: str
    created_at: datetime
    changed_at: datetime

    @property
    def days(self) -> str:
        """Its day, or its first and last day, as ISO dates."""
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"


def overlapping(notes: Iterable[Note], first: date, last: date) -> tuple[Note, ...]:
    """The notes with at least one day in [first, last], earliest first."""
    chosen = (n for n in notes if n.first_day <= last and n.last_day >= first)
    return tuple(sorted(chosen, key=lambda n: (n.first_day, n.last_day, n.note_id)))
