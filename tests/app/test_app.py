"""dashboard.py: settings, roles, developer mode and which pages each role is offered."""

from __future__ import annotations

import pytest

from kanon.access.accounts import Accounts
from kanon.access.roles import (
    ANALYST,
    DOWNLOAD,
    MANAGER,
    READ_PRIVACY,
    VIEW,
    Identity,
    RoleError,
    developer_identity,
    may,
)
from kanon.ui import format, messages, pickers
from kanon.ui.navigation import allowed
from tests.app import support


def test_a_bad_setting_stops_start_up_naming_it(dev, monkeypatch):
    monkeypatch.setenv("KANON_K", "1")
    at = support.AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT).run()
    assert at.error and "'k'" in at.error[0].value and "KANON_K" in at.error[0].value
    assert not at.metric and not support.figures(at)


def test_developer_mode_shows_its_banner_and_every_page(dev):
    at = support.open_page()
    assert [w.value for w in at.warning][0] == messages.DEVELOPER_BANNER
    assert any(format.plain("developer (sign-in off)") in c.value for c in at.sidebar.caption)
    titles = [p.title for p in allowed(developer_identity())]
    assert titles[-2:] == ["Privacy", "Admin"] and "Overview" in titles


def test_roles_come_from_one_allow_list_and_default_to_nothing(tmp_path):
    accounts = Accounts(tmp_path / "accounts.sqlite")
    assert accounts.get("ana@example.com") is None
    accounts.add_oidc("Ana@Example.com", [ANALYST])
    accounts.add_local("ada", [], "a long enough password")
    assert accounts.get("ana@example.com").roles == {ANALYST}
    assert accounts.get("ADA").roles == frozenset()
    with pytest.raises(RoleError):
        accounts.add_oidc("x@example.com", ["superuser"])
    with pytest.raises(RoleError):
        may(support.ANALYST_ID, "delete-everything")


def test_what_each_role_may_do():
    nobody = Identity("someone@example.com")
    assert not any(may(nobody, a) for a in (VIEW, DOWNLOAD, READ_PRIVACY)) and not may(None, VIEW)
    assert may(support.ANALYST_ID, VIEW) and not may(support.ANALYST_ID, DOWNLOAD)
    assert may(Identity("m@x", frozenset({MANAGER})), DOWNLOAD)
    assert not may(support.ADMIN_ID, VIEW) and may(support.ADMIN_ID, READ_PRIVACY)


def test_navigation_lists_only_what_the_role_may_open():
    assert [p.title for p in allowed(support.ADMIN_ID)] == ["Privacy", "Admin"]
    analyst = [p.title for p in allowed(support.ANALYST_ID)]
    assert "Admin" not in analyst and analyst[0] == "Overview"
    assert allowed(support.NOBODY_ID) == []


def test_every_page_checks_the_role_itself(as_identity):
    as_identity(support.NOBODY_ID)
    for page in ("overview", "top_pages", "sources", "technology", "countries", "engagement"):
        at = support.open_page_alone(page)
        assert not at.exception, page
        assert not at.metric and not at.dataframe and not support.figures(at), page
    as_identity(support.ADMIN_ID)  # admin alone: settings and sync, not the dashboard
    at = support.open_page_alone("sources")
    assert at.error and not at.dataframe


def test_a_signed_in_person_without_a_role_sees_no_number(locked):
    at = support.AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
    at.user = {"is_logged_in": True, "email": "visitor@example.com"}
    at.run()
    assert "no role" in at.warning[0].value and "Ask a Kanon admin" in at.warning[0].value
    assert not at.metric and not at.dataframe and not support.figures(at)


def test_a_deep_link_opens_its_range_and_grain_and_the_address_follows(dev):
    at = support.AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
    at.query_params["range"] = "last-90-days"
    at.query_params["grain"] = "week"
    at.run()
    assert [t.value for t in at.title] == ["Overview"] and not at.exception
    assert at.sidebar.selectbox(key="range_preset").value == "Last 90 days"
    assert "whole weeks" in at.markdown[0].value
    at.sidebar.radio(key="grain").set_value("month").run()
    assert dict(at.query_params) == {"range": "last-90-days", "grain": "month"}


def test_a_tampered_link_says_so_and_shows_the_default(dev):
    at = support.AppTest.from_file(str(support.APP), default_timeout=support.TIMEOUT)
    at.query_params["range"] = "<script>alert(1)</script>"
    at.query_params["grain"] = "year"
    at.run()
    assert not at.exception and any("cannot show" in w.value for w in at.warning)
    assert at.sidebar.selectbox(key="range_preset").value == pickers.DEFAULT_PRESET
    assert len(at.metric) == 7
