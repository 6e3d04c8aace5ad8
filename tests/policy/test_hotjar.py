"""The Hotjar client against the local fake: token exchange and expiry, lookup, deletion, errors."""

from __future__ import annotations

import dataclasses

import pytest

from kanon.policy.hotjar import HotjarClient, HotjarError, summary


def client(config, **options) -> HotjarClient:
    return HotjarClient(config, **options)


def test_lookup_by_email_finds_hits_and_deletes_nothing(hotjar, hotjar_config):
    answer = client(hotjar_config).user_lookup(email="person@example.com")
    assert answer["found"] == [{"site_id": "777", "hits": 12}] and answer["deleted"] is False
    assert hotjar.deleted == [] and "person@example.com" in hotjar.data.by_email
    [token_call] = hotjar.calls("/oauth/token")
    assert token_call.body == {
        "grant_type": "client_credentials",
        "client_id": "kanon-client",
        "client_secret": "kanon-secret",
    }
    [lookup] = hotjar.calls("/user-lookup")
    assert lookup.path == "/v1/organizations/4242/user-lookup"
    assert lookup.body == {"data_subject_email": "person@example.com", "delete_all_hits": False}


def test_lookup_by_user_id_uses_the_site_map(hotjar, hotjar_config):
    answer = client(hotjar_config).user_lookup(user_id="u-42", delete=True)
    assert answer["found"] == [{"site_id": "777", "hits": 3}] and answer["deleted"] is True
    assert hotjar.deleted[0]["data_subject_site_id_to_user_id_map"] == {"777": "u-42"}
    assert ("777", "u-42") not in hotjar.data.by_user_id


def test_user_id_needs_a_site(hotjar_config):
    without_site = dataclasses.replace(hotjar_config, site_id=None)
    with pytest.raises(HotjarError, match="KANON_HOTJAR_SITE_ID"):
        client(without_site).user_lookup(user_id="u-42")


def test_the_token_is_reused_until_it_expires(hotjar, hotjar_config):
    now = [0.0]
    talker = client(hotjar_config, clock=lambda: now[0])
    talker.user_lookup(email="a@example.com")
    talker.user_lookup(email="b@example.com")
    assert len(hotjar.calls("/oauth/token")) == 1
    now[0] = 3600.0  # past the token's hour (less the safety margin)
    talker.user_lookup(email="c@example.com")
    assert len(hotjar.calls("/oauth/token")) == 2


def test_a_token_revoked_early_is_renewed_once(hotjar, hotjar_config):
    talker = client(hotjar_config)
    talker.user_lookup(email="a@example.com")
    hotjar.expire_tokens()
    assert talker.user_lookup(email="a@example.com")["deleted"] is False
    assert [c.status for c in hotjar.calls("/user-lookup")] == [200, 401, 200]


def test_429_then_success_is_retried(hotjar, hotjar_config):
    talker = client(hotjar_config)
    talker.user_lookup(email="a@example.com")  # token first, so the faults hit the lookup
    hotjar.inject(429)
    hotjar.inject(503)
    assert talker.user_lookup(email="person@example.com")["found"]
    assert [c.status for c in hotjar.calls("/user-lookup")][-3:] == [429, 503, 200]


def test_429_for_ever_gives_up_with_a_message(hotjar, hotjar_config):
    hotjar.inject(429, times=50)
    with pytest.raises(HotjarError, match="429"):
        client(hotjar_config).user_lookup(email="a@example.com")
    assert len(hotjar.log) == hotjar_config.retry.max_retries + 1


def test_a_wrong_key_names_the_settings(hotjar_config):
    wrong = dataclasses.replace(hotjar_config, client_secret="nope")
    with pytest.raises(HotjarError, match="KANON_HOTJAR_CLIENT_SECRET") as raised:
        client(wrong).user_lookup(email="a@example.com")
    assert "401" in str(raised.value)


def test_401_on_the_lookup_after_a_fresh_token_is_an_error(hotjar, hotjar_config):
    talker = client(hotjar_config)
    talker.user_lookup(email="a@example.com")
    hotjar.inject(401, times=2)
    with pytest.raises(HotjarError, match="401"):
        talker.user_lookup(email="a@example.com")


def test_another_organization_is_refused_with_what_to_check(hotjar_config):
    other = dataclasses.replace(hotjar_config, org_id="1")
    with pytest.raises(HotjarError, match="KANON_HOTJAR_ORG_ID"):
        client(other).user_lookup(email="a@example.com")


def test_nobody_listening_says_which_url(hotjar_config):
    gone = dataclasses.replace(hotjar_config, api_url="http://127.0.0.1:9")
    with pytest.raises(HotjarError, match="KANON_HOTJAR_API_URL"):
        client(gone).user_lookup(email="a@example.com")


def test_summary_shows_every_field_whatever_the_shape():
    assert summary({}).startswith("accepted")
    answer = {"lookup_id": "x", "found": [{"site_id": "1", "hits": 2}], "deleted": True}
    assert summary(answer) == 'lookup_id=x, found=[{"site_id":"1","hits":2}], deleted=true'
    assert len(summary({"found": ["x" * 500]})) == 160
