"""A summary as an e-mail: plain text and HTML alternatives, the workbook attached for managers.

The HTML part carries no external image, font, style sheet or script and no tracking: only
inline styles and the one link to the dashboard. Every text from the release (page titles,
source names) is escaped there, and stripped of control characters in the text part.
"""

from __future__ import annotations

import hashlib
import html
from email.message import EmailMessage
from email.utils import formatdate

from kanon import i18n
from kanon.i18n import _
from kanon.summaries import texts
from kanon.summaries.content import RANKED_BY, Row, Summary

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def subject(summary: Summary) -> str:
    return _(texts.SUBJECT[summary.cadence]).format(**_dates(summary))


def text_body(summary: Summary, account: str, attached: bool) -> str:
    lines = [_heading(summary), "", _(texts.COMPARED[summary.cadence]).format(**_before(summary))]
    lines += ["", *_figure_lines(summary)]
    if summary.withheld_days:
        lines += ["", _withheld_days(summary)]
    for breakdown, title in texts.TOP_HEADINGS.items():
        lines += ["", _(title)]
        lines += [_plain(line) for line in _top_lines(summary.top[breakdown], breakdown)]
    lines += ["", _(texts.WITHHELD_NOTE).format(k=summary.k)]
    lines += ["", _(texts.FLAGS_HEADING), *_flag_lines(summary)]
    link = _(texts.LINK).format(url=summary.link) if summary.link else _(texts.NO_LINK)
    lines += ["", link]
    if attached:
        lines += ["", _(texts.ATTACHMENT)]
    lines += ["", "-- ", _footer(summary, account)]
    return "\n".join(lines) + "\n"


def html_body(summary: Summary, account: str, attached: bool) -> str:
    e = html.escape
    parts = [
        f'<!DOCTYPE html><html lang="{i18n.language()}"><head><meta charset="utf-8">',
        f"<title>{e(subject(summary))}</title></head>",
        '<body style="font-family: sans-serif; color: #222; max-width: 40em">',
        f'<h1 style="font-size: 1.3em">{e(_heading(summary))}</h1>',
        f"<p>{e(_(texts.COMPARED[summary.cadence]).format(**_before(summary)))}</p>",
        "<ul>" + "".join(f"<li>{e(line)}</li>" for line in _figure_lines(summary)) + "</ul>",
    ]
    if summary.withheld_days:
        parts.append(f"<p>{e(_withheld_days(summary))}</p>")
    for breakdown, title in texts.TOP_HEADINGS.items():
        items = "".join(
            f"<li>{e(line)}</li>" for line in _top_lines(summary.top[breakdown], breakdown)
        )
        parts.append(f'<h2 style="font-size: 1.1em">{e(_(title))}</h2><ul>{items}</ul>')
    parts.append(f"<p>{e(_(texts.WITHHELD_NOTE).format(k=summary.k))}</p>")
    flags = "".join(f"<li>{e(line)}</li>" for line in _flag_lines(summary))
    parts.append(f'<h2 style="font-size: 1.1em">{e(_(texts.FLAGS_HEADING))}</h2><ul>{flags}</ul>')
    if summary.link:
        parts.append(f'<p><a href="{e(summary.link)}">{e(_(texts.LINK_HTML))}</a></p>')
    else:
        parts.append(f"<p>{e(_(texts.NO_LINK))}</p>")
    if attached:
        parts.append(f"<p>{e(_(texts.ATTACHMENT))}</p>")
    parts.append(f'<p style="color: #666; font-size: 0.9em">{e(_footer(summary, account))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_message(
    summary: Summary,
    account: str,
    address: str,
    sender: str,
    workbook: bytes | None = None,
) -> EmailMessage:
    """The e-mail to `address`; `workbook` (XLSX) attached when given (managers only)."""
    attached = workbook is not None
    message = EmailMessage()
    message["Subject"] = subject(summary)
    message["From"] = sender
    message["To"] = address
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id(summary, account, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message.set_content(text_body(summary, account, attached))
    message.add_alternative(html_body(summary, account, attached), subtype="html")
    if workbook is not None:
        name = texts.ATTACHMENT_NAME.format(first=summary.first, last=summary.last)
        message.add_attachment(workbook, maintype=XLSX[0], subtype=XLSX[1], filename=name)
    return message


def message_id(summary: Summary, account: str, sender: str) -> str:
    """The same for every attempt at one account's summary of one period, so a mail client
    that sees a resend after a crash (see records.py) can tell it is the same message."""
    key = f"{account}\n{summary.cadence}\n{summary.first.isoformat()}".encode()
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "kanon.invalid"
    return f"<kanon-summary.{hashlib.sha256(key).hexdigest()[:32]}@{domain}>"


def _dates(summary: Summary) -> dict[str, str]:
    return {
        "first": texts.day(summary.first),
        "last": texts.day(summary.last),
        "month": texts.month(summary.first),
        "week": str(summary.first.isocalendar().week),
    }


def _before(summary: Summary) -> dict[str, str]:
    return {
        "first": texts.day(summary.previous_first),
        "last": texts.day(summary.previous_last),
        "month": texts.month(summary.previous_first),
    }


def _heading(summary: Summary) -> str:
    return _(texts.HEADING[summary.cadence]).format(**_dates(summary))


def _figure_lines(summary: Summary) -> list[str]:
    return [
        _(texts.FIGURE_LINE).format(
            label=texts.figure_label(card.name),
            value=texts.number(card.value, card.name),
            change=texts.change(card.change),
        )
        for card in summary.kpis
    ]


def _withheld_days(summary: Summary) -> str:
    days = (summary.last - summary.first).days + 1
    return _(texts.WITHHELD_DAYS).format(withheld=summary.withheld_days, days=days, k=summary.k)


def _top_lines(rows: tuple[Row, ...], breakdown: str) -> list[str]:
    figure = RANKED_BY[breakdown]
    listed = [row for row in rows if not row.other]
    lines = [
        texts.TOP_LINE.format(rank=rank, label=row.label, value=texts.number(row.figure, figure))
        for rank, row in enumerate(listed, start=1)
    ]
    lines += [
        texts.OTHER_LINE.format(label=_(row.label), value=texts.number(row.figure, figure))
        for row in rows
        if row.other
    ]
    return lines or [_(texts.NOTHING_LISTED)]


def _flag_lines(summary: Summary) -> list[str]:
    return [_(texts.FLAGS[name]) for name in summary.flags] or [_(texts.NO_FLAGS)]


def _footer(summary: Summary, account: str) -> str:
    cadence = _(texts.CADENCE_NAMES[summary.cadence])
    return _(texts.FOOTER).format(account=account, cadence=cadence, k=summary.k)


def _plain(text: str) -> str:
    """One line of plain text: control characters (a newline in a page title, say) as spaces."""
    return "".join(char if char.isprintable() else " " for char in text)
