"""Paths reach DuckDB's SQL as escaped literals: a folder named with a quote is one folder,
not the end of a string (an attacker's `KANON_HOME` or `TMPDIR` cannot add SQL)."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.base import ReportRequest
from connectors.sql_text import string_literal

HOSTILE = "o'brien'); COPY (SELECT 1) TO 'pwned.csv"


def test_a_literal_doubles_quotes_and_refuses_nul():
    assert string_literal("a'b") == "'a''b'"
    with pytest.raises(ValueError):
        string_literal("a\x00b")


def test_the_sample_property_reads_from_a_folder_named_with_quotes(tmp_path, monkeypatch):
    from connectors.sample import SampleConnector, write_sample

    spill = tmp_path / HOSTILE / "tmp"
    spill.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(spill))  # the spill folder goes into SET too
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    folder = write_sample(tmp_path / HOSTILE / "sample", seed=3, scale=0.02, today=date(2025, 6, 1))
    connector = SampleConnector(data_dir=folder)
    request = ReportRequest(
        dimensions=("date",), metrics=("sessions",), start=date(2025, 5, 1), end=date(2025, 5, 7)
    )
    assert not connector.run(request).rows.empty
    assert not list(tmp_path.rglob("pwned.csv"))


def test_the_bigquery_export_is_written_into_a_folder_named_with_quotes(tmp_path):
    from connectors.sample_export import write_export
    from connectors.sample_property import generate

    data = generate(3, 0.02, date(2025, 6, 1))
    folder = write_export(tmp_path / HOSTILE, data, date(2025, 5, 20), date(2025, 5, 22))
    assert (folder / "events.parquet").is_file()
    assert not list(tmp_path.rglob("pwned.csv"))
