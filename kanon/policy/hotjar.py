"""Hotjar's API, the two calls a data-subject request needs (with `requests`).

- `POST /v1/oauth/token` (form-encoded, client-credentials grant) gives a bearer token, kept
  until shortly before it expires;
- `POST /v1/organizations/{id}/user-lookup` with `data_subject_email` and/or
  `data_subject_site_id_to_user_id_map`, and `delete_all_hits` to delete what is found.

Hotjar's reference documents the request, not the answer's fields, so the answer is kept as it
came (the receipt) and summarised without assuming a shape. 429 and 5xx are retried with
backoff (honouring Retry-After); a 401 on a call first renews the token once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from connectors.retry import backoff, retrying
from kanon.policy.config import HotjarConfig, PolicyError

TOKEN_MARGIN = 60.0  # renew this many seconds before the token's stated expiry
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class HotjarError(PolicyError):
    """Hotjar refused or could not answer; the message names what to check."""


class HotjarClient:
    def __init__(
        self,
        config: HotjarConfig,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self._token: str | None = None
        self._expires = 0.0

    def authenticate(self) -> None:
        """Fetch an access token (one call): proves the API key and the address work."""
        self._bearer()

    def user_lookup(
        self, *, email: str | None = None, user_id: str | None = None, delete: bool = False
    ) -> dict:
        """Hotjar's answer for one data subject; with `delete`, Hotjar deletes what it finds."""
        body: dict[str, Any] = {"delete_all_hits": delete}
        if email:
            body["data_subject_email"] = email
        if user_id:
            if not self.config.site_id:
                raise HotjarError(
                    "Looking a user up by user id needs the Hotjar site the id was sent to: set "
                    "KANON_HOTJAR_SITE_ID (Hotjar → Sites & Organizations)."
                )
            body["data_subject_site_id_to_user_id_map"] = {self.config.site_id: user_id}
        path = f"/v1/organizations/{self.config.org_id}/user-lookup"
        return self._call(path, body)

    # --- plumbing ---------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.config.api_url.rstrip("/") + path

    def _call(self, path: str, body: dict) -> dict:
        response = self._send(lambda: self._post_json(path, body))
        if response.status_code == 401:  # revoked or expired early: one fresh token
            self._token = None
            response = self._send(lambda: self._post_json(path, body))
        if response.status_code == 401:
            raise HotjarError(
                "Hotjar refused the token (401) although it was just issued; make a new API key "
                "in Hotjar → Settings → API and set KANON_HOTJAR_CLIENT_ID and "
                "KANON_HOTJAR_CLIENT_SECRET."
            )
        if response.status_code == 403:
            raise HotjarError(
                f"Hotjar refused the user lookup for organization {self.config.org_id} (403: "
                f"{_text(response)}). The API key must belong to that organization (check "
                "KANON_HOTJAR_ORG_ID), and the User Lookup API needs an Observe or Ask Scale plan."
            )
        _raise_for_status(response, "the user lookup")
        return _json(response)

    def _post_json(self, path: str, body: dict) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        return self.session.post(
            self._url(path), json=body, headers=headers, timeout=self.config.timeout
        )

    def _bearer(self) -> str:
        if self._token is None or self.clock() >= self._expires:
            self._token, lifetime = self._fetch_token()
            self._expires = self.clock() + max(lifetime - TOKEN_MARGIN, 0.0)
        return self._token

    def _fetch_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        response = self._send(
            lambda: self.session.post(
                self._url("/v1/oauth/token"), data=form, timeout=self.config.timeout
            )
        )
        if response.status_code in (400, 401, 403):
            raise HotjarError(
                f"Hotjar refused the API key ({response.status_code}: {_text(response)}). Check "
                "KANON_HOTJAR_CLIENT_ID and KANON_HOTJAR_CLIENT_SECRET (or the [hotjar] table in "
                ".streamlit/secrets.toml) against Hotjar → Settings → API; keys last a year."
            )
        _raise_for_status(response, "the token request")
        token = _json(response)
        if not token.get("access_token"):
            raise HotjarError("Hotjar's token answer has no access_token; try again later.")
        return str(token["access_token"]), float(token.get("expires_in") or 0)

    def _send(self, request: Callable[[], requests.Response]) -> requests.Response:
        """One request, retried on 429/5xx and dropped connections."""
        retry = self.config.retry

        def attempt() -> requests.Response:
            response = request()
            if response.status_code in RETRIED_STATUSES:
                raise _RetriedStatus(response)
            return response

        try:
            return retrying(
                attempt,
                retry_on=(_RetriedStatus, requests.ConnectionError, requests.Timeout),
                delays=backoff(retry.max_retries, retry.initial, retry.maximum),
                sleep=self.sleep,
                wait=self._wait,
            )
        except _RetriedStatus as last:
            return last.response  # still 429/5xx after the retries: the caller says so
        except (requests.ConnectionError, requests.Timeout) as error:
            raise HotjarError(
                f"Hotjar did not answer ({type(error).__name__}) at "
                f"{self.config.api_url}; check KANON_HOTJAR_API_URL and try again."
            ) from None

    def _wait(self, error: Exception, delay: float) -> float:
        """Hotjar's Retry-After (in seconds, capped) where it sends one, else the backoff."""
        retry_after = (
            error.response.headers.get("Retry-After") if isinstance(error, _RetriedStatus) else None
        )
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.config.retry.maximum)
        return delay


class _RetriedStatus(Exception):  # control flow inside `_send`, never raised past it
    """An answer whose status is retried (429, 5xx)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def summary(answer: dict, width: int = 160) -> str:
    """Hotjar's answer on one line, whatever its fields (nested values as compact JSON)."""
    if not answer:
        return "accepted (no details in Hotjar's answer)"
    parts = []
    for key, value in answer.items():
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        parts.append(f"{key}={shown}")
    text = ", ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def _raise_for_status(response: requests.Response, what: str) -> None:
    if response.status_code >= 400:
        raise HotjarError(
            f"Hotjar answered {what} with {response.status_code} ({_text(response)}); "
            "try again later."
        )


def _json(response: requests.Response) -> dict:
    if not response.content:
        return {}
    try:
        answer = response.json()
    except ValueError:
        raise HotjarError(
            f"Hotjar's answer is not JSON ({response.status_code}); try again later."
        ) from None
    return answer if isinstance(answer, dict) else {"answer": answer}


def _text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason or ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail"):
            if isinstance(body.get(key), str):
                return body[key]
    return str(body)[:200]
