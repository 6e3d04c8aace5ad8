"""Secondary (complementary) suppression. Placeholder until the attacker-proof version lands."""

from __future__ import annotations

import pandas as pd


def complementary(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    return cells
