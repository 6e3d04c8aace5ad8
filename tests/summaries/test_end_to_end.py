"""Done when: `kanon sync` then `kanon summaries send --due` delivers the last week's summary to
the two subscribed accounts and nobody else, once; its figures equal `kanon export`'s; each
reads it in their language (the one chosen on the dashboard, else the `default_language`)."""

from __future__ import annotations

import io
import json
import statistics
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pandas as pd
from babel.dates import format_date

from kanon.access import log, preferences
from kanon.store.duckdb_store import Store
from kanon.store.releases import current
from reports.export import read_summary
from reports.views import rare_categories
from tests.summaries.conftest import kanon, ok
from tests.summaries.mail_server import Server

RECEIVERS = ["ana@example.com", "max@example.com"]


def test_sync_then_send_due_delivers_last_week_to_the_two_subscribers_once(
    synced_home: Path, server: Server, tmp_path: Path
) -> None:
    listed = [json.loads(line) for line in ok(kanon(synced_home, "summaries", "list", "--json"))
              .splitlines()]  # fmt: skip
    assert {(row["account"], row["state"]) for row in listed if row["state"] == "active"} == {
        ("ana", "active"),
        ("max@example.com", "active"),
    }
    release = current(Store(synced_home / "kanon.duckdb"))
    assert release is not None
    week = max(release.periods("week"))
    note = "Spring campaign started"  # the manager's workbook lists the week's notes
    preferences.set_language(synced_home / "accounts.sqlite", "ana", "en")  # her sidebar choice
    ok(kanon(synced_home, "notes", "add", "--date", str(week + timedelta(days=2)), "--text", note))
    out = ok(kanon(synced_home, "summaries", "send", "--due", env=server.settings()))
    assert "2 sent, 0 failed" in out
    assert server.inbox.recipients() == RECEIVERS

    again = ok(kanon(synced_home, "summaries", "send", "--due", env=server.settings()))
    assert "0 sent, 0 failed" in again
    assert server.inbox.recipients() == RECEIVERS  # once

    last = week + timedelta(days=6)
    assert last <= pd.Timestamp(release.info["last_settled"]).date()
    (ana,) = server.inbox.to("ana@example.com")
    (max_,) = server.inbox.to("max@example.com")
    assert f"{week.day} {week:%B %Y}" in ana["Subject"]  # English, as she chose
    # max chose nothing: the default language, Norwegian Bokmål, with its own dates
    assert format_date(week, "long", locale="nb_NO") in max_["Subject"]  # "7. desember 2026"
    assert _text(max_).startswith(f"Nettstedet ditt, uke {week.isocalendar().week} (")
    assert 'lang="nb"' in max_.get_body(("html",)).get_content()
    assert not list(ana.iter_attachments())  # analysts get no workbook
    (attachment,) = list(max_.iter_attachments())
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)
    assert "Oversikt" in book.sheetnames and "Sider" in book.sheetnames
    about = [cell for row in book[book.sheetnames[0]].iter_rows(values_only=True) for cell in row]
    assert any(isinstance(cell, str) and note in cell for cell in about), book.sheetnames
    assert note not in _text(ana)  # a note is the site's, in the workbook, not in the e-mail

    _figures_equal_the_export(synced_home, tmp_path, _text(ana), week, last)
    _no_rare_name(release, [ana, max_])

    sent = log.entries(synced_home / "access.log", action="summary-sent")
    assert sorted(entry["who"] for entry in sent) == ["ana", "max@example.com"]
    assert {(entry["start"], entry["end"]) for entry in sent} == {(str(week), str(last))}
    assert not any(key in entry for entry in sent for key in ("visits", "views", "users"))


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def _export(home: Path, folder: Path, report: str, grain: str, first: date, last: date):
    out = folder / f"{report}-{grain}.csv"
    ok(kanon(home, "export", "--report", report, "--grain", grain, "--start", str(first),
             "--end", str(last), "--out", str(out)))  # fmt: skip
    return read_summary(out)[1]


def _number(text: object) -> float:
    return float(str(text).replace(",", "").replace("%", "").strip())


def _figures_equal_the_export(home: Path, folder: Path, body: str, first: date, last: date):
    shown = {}
    for line in body.splitlines():
        label, _, rest = line.partition(": ")
        if rest and " (" in rest and label in (
            "Visitors per day (average)", "Visits", "Page views", "Views per visit", "Bounce rate"
        ):  # fmt: skip
            shown[label] = _number(rest.split(" (")[0])
    days = _export(home, folder, "overview", "day", first, last)
    assert len(days) == 7 and set(days["status"]) == {"published"}
    week = _export(home, folder, "overview", "week", first, last).iloc[0]
    visits = days["visits"].astype(float)
    assert shown["Visits"] == visits.sum() == float(week["visits"])
    assert shown["Page views"] == days["page_views"].astype(float).sum()
    assert shown["Visitors per day (average)"] == round(
        statistics.mean(days["visitors"].astype(float))
    )
    assert shown["Views per visit"] == float(week["views_per_visit"])
    assert shown["Bounce rate"] == float(week["bounce_rate_percent"])

    for report, column, heading in (
        ("pages", "page_views", "Top five pages"),
        ("sources", "visits", "Top five sources"),
    ):
        table = _export(home, folder, report, "week", first, last)
        label = "title" if report == "pages" else "category"
        listed = table[table["category"] != "Other (not listed)"]
        values = dict(zip(listed[label], listed[column], strict=True))
        lines = _section(body, heading)
        top = [line.split(". ", 1)[1].rsplit(": ", 1) for line in lines if line[:1].isdigit()]
        assert len(top) == 5
        expected = sorted((_number(v) for v in listed[column] if v != "withheld"), reverse=True)
        assert [_number(value) for _, value in top] == expected[:5]
        for name, value in top:
            assert _number(values[name]) == _number(value)
        other = table[table["category"] == "Other (not listed)"]
        other_lines = [line for line in lines if line.startswith("Other (not listed): ")]
        if len(other):
            assert [_number(line.rsplit(": ", 1)[1]) for line in other_lines] == [
                _number(other.iloc[0][column])
            ]


def _section(body: str, heading: str) -> list[str]:
    lines = body.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = lines.index("", start)
    return lines[start + 1 : end]


def _no_rare_name(release, messages: list[EmailMessage]) -> None:
    texts = []
    for message in messages:
        for kind in ("plain", "html"):
            part = message.get_body((kind,))
            assert part is not None
            texts.append(part.get_content())
    rare = {
        release.label(breakdown, category)
        for breakdown in ("pages", "sources")
        for category in rare_categories(release, breakdown)
    }
    assert rare, "the sample property has rare pages and sources"
    named = [name for name in rare if any(name in text for text in texts)]
    assert named == []
