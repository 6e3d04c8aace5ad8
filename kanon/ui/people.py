"""The Admin page's accounts and access log: who may see what, and who looked at what.

Every change checks the admin role again when it runs (not only when the form is drawn) and is
written to the access log with who made it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from kanon import i18n
from kanon.access import log
from kanon.access.accounts import (
    LOCAL,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    OIDC,
    AccountError,
    Accounts,
)
from kanon.access.roles import ADMINISTER, ROLES, Identity, RoleError, may
from kanon.i18n import N_, _
from kanon.settings import Settings
from kanon.ui import context, downloads, format
from kanon.ui.messages import denied
from reports import export

KIND_LABELS = {LOCAL: N_("local (password)"), OIDC: N_("OpenID Connect (email)")}
# The change form's choices: English values, shown in the reader's language.
SET_ROLES, DISABLE, ENABLE, REMOVE = (
    N_("Set these roles"),
    N_("Disable"),
    N_("Enable"),
    N_("Remove"),
)
LOG_COLUMNS = ["at", "who", "action", "report", "grain", "start", "end", "detail"]


def accounts_section(settings: Settings, identity: Identity) -> None:
    accounts = Accounts(settings.accounts_path)
    listed = accounts.all()
    if listed:
        frame = pd.DataFrame(
            [
                {
                    _("Name"): account.name,
                    _("Signs in with"): _(KIND_LABELS[account.kind]),
                    _("Roles"): ", ".join(sorted(account.roles)) or _("none"),
                    _("Disabled"): account.disabled,
                }
                for account in listed
            ]
        )
        st.dataframe(frame, hide_index=True, key="accounts-table")
    else:
        st.caption(_("No accounts yet."))
    with st.expander(_("Add, change or remove an account")):
        _account_forms(settings, identity, accounts, [account.name for account in listed])
    st.caption(
        _(
            "The same from a shell: `kanon users add|remove|list|set-role|reset-password`. "
            "Changes take effect at each person's next click; a removed or disabled account is "
            "signed out."
        )
    )


def _account_forms(
    settings: Settings, identity: Identity, accounts: Accounts, names: list[str]
) -> None:
    with st.form("account-add", clear_on_submit=True):
        st.markdown(_("**Add an account**"))
        name = st.text_input(
            _("User name, or email for OpenID Connect"), key="add_name", max_chars=MAX_NAME_LENGTH
        )
        words = i18n.bound()
        kind = st.radio(_("Signs in with"), list(KIND_LABELS), horizontal=True,
                        format_func=lambda k: words(KIND_LABELS[k]), key="add_kind")  # fmt: skip
        roles = st.multiselect(_("Roles"), sorted(ROLES), key="add_roles")
        password = st.text_input(
            _("Password (local accounts)"), type="password", key="add_pw",
            max_chars=MAX_PASSWORD_LENGTH,
        )  # fmt: skip
        if st.form_submit_button(_("Add account")):

            def add() -> str:
                if kind == OIDC:
                    added = accounts.add_oidc(name, roles)
                else:
                    added = accounts.add_local(name, roles, password)
                _log_change(settings, identity, "user-add", added.name, roles)
                return _("Added {name}.").format(name=added.name)

            _change(identity, add)
    if not names:
        return
    with st.form("account-change"):
        st.markdown(_("**Change an account**"))
        chosen = st.selectbox(_("Account"), names, key="change_name")
        roles = st.multiselect(_("New roles"), sorted(ROLES), key="change_roles")
        action = st.radio(
            _("Change"), [SET_ROLES, DISABLE, ENABLE, REMOVE], format_func=i18n.bound(),
            horizontal=True, key="change_action",
        )  # fmt: skip
        if st.form_submit_button(_("Apply")):
            _change(identity, lambda: _apply(settings, identity, accounts, chosen, action, roles))


def _apply(
    settings: Settings,
    identity: Identity,
    accounts: Accounts,
    name: str,
    action: str,
    roles: list[str],
) -> str:
    if action == SET_ROLES:
        accounts.set_roles(name, roles)
        _log_change(settings, identity, "user-set-role", name, roles)
        return _("{name} now holds: {roles}.").format(
            name=name, roles=", ".join(sorted(roles)) or _("no role")
        )
    if action == REMOVE:
        if name == identity.email:
            raise AccountError(_("You cannot remove your own account here."))
        accounts.remove(name)
        _log_change(settings, identity, "user-remove", name)
        return _("Removed {name}.").format(name=name)
    disabled = action == DISABLE
    if disabled and name == identity.email:
        raise AccountError(_("You cannot disable your own account here."))
    accounts.set_disabled(name, disabled)
    _log_change(settings, identity, "user-disable" if disabled else "user-enable", name)
    if disabled:
        return _("{name} is disabled.").format(name=name)
    return _("{name} is enabled.").format(name=name)


def _change(identity: Identity, change: Callable[[], str]) -> None:
    if not may(identity, ADMINISTER):  # checked when the change runs, not only when drawn
        denied(ADMINISTER)
        return
    try:
        st.success(change(), icon=":material/check_circle:")
    except (AccountError, RoleError) as error:
        st.error(format.plain(error), icon=":material/error:")


def _log_change(
    settings: Settings, identity: Identity, action: str, name: str, roles: list[str] | None = None
) -> None:
    extra = {"roles": ",".join(sorted(roles)) or "none"} if roles is not None else {}
    log.event(settings.access_log_path, identity.email, action, account=name, **extra)


ALL = "(all)"  # the action filter's "no filter"


def _shown_action() -> Callable[[str], str]:
    """The access log's actions are its own words (as written in the file); "(all)" is ours."""
    everything = _("(all)")
    return lambda action: everything if action == ALL else action


PAGE_SIZE = 200  # entries shown at once; the log is read from its end, a page at a time


def access_log_section(settings: Settings, identity: Identity) -> None:
    """Filter the log by day, person and action, a page at a time (newest first, read from the
    file's end, never the whole file); admins may download the page shown."""
    path = settings.access_log_path
    since_column, who_column, action_column, page_column = st.columns([3, 3, 3, 2])
    since = since_column.date_input(
        _("From"),
        value=date.today() - timedelta(days=7),
        key="log_since",
        format=format.date_input(),
    )
    who = who_column.text_input(_("Who"), key="log_who", max_chars=MAX_NAME_LENGTH).strip() or None
    action = action_column.selectbox(
        _("Action"), [ALL, *log.KNOWN_ACTIONS], format_func=_shown_action(), key="log_action"
    )
    number = int(page_column.number_input(_("Page"), min_value=1, value=1, step=1, key="log_page"))
    offset = (number - 1) * PAGE_SIZE
    shown = log.page(
        path, since, who, None if action == ALL else action, offset=offset, limit=PAGE_SIZE
    )
    frame = log_frame(shown.entries, newest_first=True)
    st.dataframe(frame, hide_index=True, key="access-log-table", column_config=log_headers())
    if shown.entries:
        first, last = offset + 1, offset + len(shown.entries)
        if shown.more:
            text = _("Entries {first} to {last}, newest first; older ones on the next page.")
        else:
            text = _("Entries {first} to {last}, newest first.")
        st.caption(text.format(first=first, last=last))
    elif number > 1:
        st.caption(_("No entries on this page: go back a page."))
    skipped = log.skipped_lines(path)
    if skipped:
        st.warning(
            _(
                "{count} line(s) of the access log could not be read and were skipped (half a "
                "line left by a full disk or a crash, say). `kanon purge` removes them."
            ).format(count=skipped),
            icon=":material/warning:",
        )
    if may(identity, ADMINISTER):
        handle = context.session_handle()

        def build() -> bytes:  # at the click: is this still an admin's open session?
            downloads.check_at_click(settings, handle, ADMINISTER, "access-log")
            return log_csv(frame)

        st.download_button(
            _("Download these entries (CSV)"),
            data=build,
            file_name=f"kanon-access-log-from-{since}-page-{number}.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/download:",
            key="download-access-log",
        )


def log_headers() -> dict[str, str]:
    """The access log's columns as people read them (the CSV keeps the log's own names)."""
    return {
        "at": _("When"),
        "who": _("Who"),
        "action": _("Action"),
        "report": _("Report"),
        "grain": _("Grain"),
        "start": _("First day"),
        "end": _("Last day"),
        "detail": _("Details"),
    }


def log_frame(entries: list[dict], newest_first: bool = False) -> pd.DataFrame:
    """The entries as a table, newest first; facts beyond the usual columns are joined into
    `detail`. `entries` are oldest first unless `newest_first`."""
    rows = []
    for entry in entries if newest_first else reversed(entries):
        extra = {k: v for k, v in entry.items() if k not in LOG_COLUMNS}
        detail = "; ".join(f"{k}={v}" for k, v in sorted(extra.items()))
        rows.append({**{c: entry.get(c) for c in LOG_COLUMNS[:-1]}, "detail": detail})
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


def log_csv(frame: pd.DataFrame) -> bytes:
    """The summaries' CSV (UTF-8 with BOM, RFC 4180): names tried at sign-in are anyone's text,
    and text a spreadsheet would run as a formula arrives inert there too."""
    return export.to_csv(frame.fillna(""))
