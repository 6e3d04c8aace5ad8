"""E-mailed summaries on the dashboard: the Admin page's subscriptions, and each person's own
switch in the sidebar. Every change is checked when it runs, not only when it was drawn, and
written to the access log."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from kanon import i18n
from kanon.access import log
from kanon.access.accounts import AccountError, Accounts
from kanon.access.roles import ADMINISTER, Identity, may
from kanon.i18n import N_, _
from kanon.settings import Settings
from kanon.summaries import records
from kanon.summaries.delivery import failed_sends, standings
from kanon.summaries.schedule import CADENCES
from kanon.ui import context, format
from kanon.ui.messages import denied

DONE = "_kanon_summary_change"  # what the last change did, shown after the rerun it causes
INTERRUPTED = N_("interrupted, or being sent right now")  # a `sending` record has no error
CADENCE_NAMES = {"weekly": N_("weekly"), "monthly": N_("monthly")}
SUBSCRIBE, UNSUBSCRIBE = "subscribe", "unsubscribe"
ACTIONS = {SUBSCRIBE: N_("Subscribe"), UNSUBSCRIBE: N_("Unsubscribe")}


def subscriptions_section(settings: Settings, identity: Identity) -> None:
    """Who gets which summary, whether it delivers, failed sends, and a form to change it."""
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(done, icon=":material/check_circle:")
    listed = standings(settings)
    if listed:
        rows = [
            {
                _("Account"): sub.account,
                _("Summary"): _(CADENCE_NAMES[sub.cadence]),
                _("Since"): format.day(datetime.fromtimestamp(sub.subscribed_at, UTC).date()),
                _("Delivers"): _(state),
            }
            for sub, state in listed
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="subscriptions-table")
    else:
        st.caption(_("Nobody gets a summary by e-mail yet."))
    failed = failed_sends(settings)
    if failed:
        lines = [
            "- "
            + _("{cadence} summary of {period} to {account}: {error}").format(
                cadence=_(CADENCE_NAMES.get(send.cadence, send.cadence)),
                period=send.period,
                account=format.plain(send.account),
                error=format.plain(send.error or _(INTERRUPTED)),
            )
            for send in failed
        ]
        st.warning(
            _(
                "These summaries could not be sent; the next `kanon summaries send --due` "
                "tries again:"
            )
            + "\n\n"
            + "\n".join(lines),
            icon=":material/unsubscribe:",
        )
    names = [account.name for account in Accounts(settings.accounts_path).all()]
    if names:
        _subscription_form(settings, identity, names)
    st.caption(
        _(
            "Analysts and managers with an e-mail address receive them (managers with the "
            "workbook). The same from a shell: `kanon summaries subscribe|unsubscribe|list|send`."
        )
    )


def _subscription_form(settings: Settings, identity: Identity, names: list[str]) -> None:
    with st.form("summary-subscription"):
        account_column, cadence_column, action_column = st.columns([3, 2, 2])
        words = i18n.bound()
        name = account_column.selectbox(_("Account"), names, key="summary_account")
        cadence = cadence_column.selectbox(
            _("Summary"),
            list(CADENCES),
            format_func=lambda chosen: words(CADENCE_NAMES[chosen]),
            key="summary_cadence",
        )
        action = action_column.radio(
            _("Change"),
            list(ACTIONS),
            format_func=lambda chosen: words(ACTIONS[chosen]),
            horizontal=True,
            key="summary_action",
        )
        if not st.form_submit_button(_("Apply"), key="summary_apply"):
            return
    if not may(identity, ADMINISTER):  # checked when the change runs, not only when drawn
        denied(ADMINISTER)
        return
    summary = _(CADENCE_NAMES[cadence])
    try:
        if action == SUBSCRIBE:
            records.subscribe(settings.accounts_path, name, cadence)
            done = _("{account} gets the {cadence} summary.").format(account=name, cadence=summary)
        else:
            ended = records.unsubscribe(settings.accounts_path, name, (cadence,))
            done = (
                _("{account} no longer gets the {cadence} summary.").format(
                    account=name, cadence=summary
                )
                if ended
                else _("No change.")
            )
    except AccountError as error:
        st.error(format.plain(error.in_words(_)), icon=":material/error:")
        return
    action_name = "summary-subscribe" if action == SUBSCRIBE else "summary-unsubscribe"
    log.event(settings.access_log_path, identity.email, action_name, account=name, cadence=cadence)
    st.session_state[DONE] = done
    st.rerun()  # the table above shows the change


def my_summaries(settings: Settings, identity: Identity) -> None:
    """The sidebar's switch: a person turns their own summaries off (an admin turns them on)."""
    if identity.developer or not identity.email:
        return
    mine = records.subscriptions(settings.accounts_path, identity.email)
    if not mine:
        return
    with st.sidebar.expander(_("My e-mail summaries")):
        for sub in mine:
            summary = _(CADENCE_NAMES[sub.cadence])
            st.caption(_("You get the {cadence} summary by e-mail.").format(cadence=summary))
            stop = _("Stop the {cadence} summary").format(cadence=summary)
            if st.button(stop, key=f"stop_summary_{sub.cadence}"):
                _stop(settings, identity, sub.cadence)


def _stop(settings: Settings, identity: Identity, cadence: str) -> None:
    now, reason = context.identity_at_click(context.session_handle())
    if now is None or now.email != identity.email:  # checked at the click, on the server
        st.error(context.change_refused(reason))
        return
    records.unsubscribe(settings.accounts_path, identity.email, (cadence,))
    log.event(
        settings.access_log_path, identity.email, "summary-unsubscribe", account=identity.email,
        cadence=cadence,
    )  # fmt: skip
    st.rerun()
