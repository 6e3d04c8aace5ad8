"""Text spliced into DuckDB SQL where a parameter cannot go (`SET`, a view's `read_parquet`,
`COPY ... TO`): a string literal, quotes doubled, so a path holding `'` stays one path."""

from __future__ import annotations

from pathlib import Path


def string_literal(value: str | Path) -> str:
    text = str(value)
    if "\x00" in text:
        raise ValueError(f"{text!r} holds a NUL character; it cannot be a path.")
    return "'" + text.replace("'", "''") + "'"
