"""What a page shows: who is looking, at which release, over which range.

Built by `kanon.ui.page.start` and handed to the pieces that draw (`kanon.ui.sections`,
`kanon.ui.downloads`); a module of its own so that those pieces need not import the page's start.
"""

from __future__ import annotations

from dataclasses import dataclass

from kanon.access.roles import Identity
from kanon.settings import Settings
from kanon.ui import data
from reports.grid import Selection
from reports.notes import Note
from reports.protect import Release


@dataclass(frozen=True)
class PageView:
    """What a page shows: who is looking, at which release, over which range."""

    settings: Settings
    identity: Identity
    release: Release
    selection: Selection
    notes: tuple[Note, ...] = ()  # the notes with a day in the selection, for its charts

    @property
    def query(self) -> data.Query:
        chosen = self.selection
        first, last = chosen.days
        return data.Query(
            str(self.settings.store_path), data.release_id(self.release), chosen.grain, first, last
        )
