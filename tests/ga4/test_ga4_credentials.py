"""Credentials: a throwaway service-account key signs its own JWTs; no token exchange."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import google.auth
import pytest
from google.auth import jwt
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account

from connectors.base import ConnectorError, ReportRequest
from connectors.ga4 import GA4Connector
from connectors.ga4_auth import SCOPE, load_credentials
from tests.emulator.ga4_emulator import GA4Emulator, service_account_key

REQUEST = ReportRequest(("browser",), ("sessions",), date(2025, 6, 1), date(2025, 6, 27))


def test_key_file_signs_its_own_tokens(
    key_file: tuple[Path, dict, bytes], emulator: GA4Emulator, monkeypatch
) -> None:
    path, info, public = key_file
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    connector = GA4Connector(emulator.property_id, endpoint=emulator.endpoint)
    assert not connector.run(REQUEST).rows.empty
    connector.run_many([REQUEST] * 2)
    assert emulator.token_requests == 0  # no token exchange, not even with the emulator
    for entry in emulator.log:
        scheme, token = entry.authorization.split(" ", 1)
        claims = jwt.decode(token, certs=public)  # verifies the signature with the public key
        assert scheme == "Bearer"
        assert claims["iss"] == claims["sub"] == info["client_email"]
        assert claims["scope"] == SCOPE  # read-only, nothing more


def test_key_file_credentials(key_file, monkeypatch) -> None:
    path, info, _ = key_file
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    credentials = load_credentials()
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == info["client_email"]
    assert credentials.scopes == [SCOPE]
    assert credentials._always_use_jwt_access


def test_missing_key_file_says_so(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nope.json"))
    with pytest.raises(ConnectorError, match="not a file"):
        load_credentials()


def test_streamlit_secrets(emulator: GA4Emulator, tmp_path) -> None:
    info, public = service_account_key(
        emulator.token_uri, email="from-secrets@kanon.iam.gserviceaccount.com"
    )
    secrets = tmp_path / ".streamlit" / "secrets.toml"  # the tests run in tmp_path
    secrets.parent.mkdir()
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in info.items())
    secrets.write_text(f"[other]\nx = 1\n\n[gcp_service_account]\n{table}\n", encoding="utf-8")
    credentials = load_credentials()
    assert credentials.service_account_email == "from-secrets@kanon.iam.gserviceaccount.com"
    connector = GA4Connector(emulator.property_id, endpoint=emulator.endpoint)
    connector.run(REQUEST)
    assert emulator.token_requests == 0
    jwt.decode(emulator.log[0].authorization.split(" ", 1)[1], certs=public)


def test_incomplete_secrets_table(tmp_path) -> None:
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[gcp_service_account]\nclient_email = "x@y"\n', encoding="utf-8")
    with pytest.raises(ConnectorError, match="incomplete"):
        load_credentials()


def test_application_default_credentials(monkeypatch) -> None:
    seen = {}

    def fake_default(scopes=None, **kwargs):
        seen["scopes"] = scopes
        return google.auth.credentials.AnonymousCredentials(), None

    monkeypatch.setattr(google.auth, "default", fake_default)
    load_credentials()
    assert seen["scopes"] == [SCOPE]


def test_no_credentials_at_all(monkeypatch) -> None:
    def no_default(**kwargs):
        raise DefaultCredentialsError("none")

    monkeypatch.setattr(google.auth, "default", no_default)
    with pytest.raises(ConnectorError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        load_credentials()


def test_malformed_key_file(monkeypatch, tmp_path) -> None:
    broken = tmp_path / "key.json"
    broken.write_text('{"type": "service_account", "client_email": "x@y"}', encoding="utf-8")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(broken))
    with pytest.raises(ConnectorError, match="Could not read the key file"):
        load_credentials()
