"""A local fake of Hotjar's API: the OAuth token endpoint and the User Lookup API, over HTTP.

- `POST /v1/oauth/token` (form: grant_type=client_credentials, client_id, client_secret) →
  `{"access_token", "token_type": "Bearer", "expires_in"}`; a wrong key → 401.
- `POST /v1/organizations/{id}/user-lookup` (JSON: data_subject_email and/or
  data_subject_site_id_to_user_id_map, delete_all_hits) with the bearer token; an unknown or
  expired token → 401, another organization → 403.

Hotjar documents the request, not the answer's fields; this fake answers `{"lookup_id",
"found": [{"site_id", "hits"}], "deleted": bool, "data_subject_email"}`, and the client treats
the answer as opaque. Faults on demand: `fake.inject(429)` makes the next API request answer 429
(also 500, 503, 401).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class HotjarData:
    """What the fake Hotjar organization holds: hits per site, by email and by user id."""

    org_id: str = "4242"
    client_id: str = "kanon-client"
    client_secret: str = "kanon-secret"
    token_lifetime: int = 3600
    by_email: dict[str, dict[str, int]] = field(default_factory=dict)  # email -> site -> hits
    by_user_id: dict[tuple[str, str], int] = field(default_factory=dict)  # (site, id) -> hits


@dataclass
class HotjarRequest:
    path: str
    status: int
    body: dict
    authorization: str | None


class HotjarFake:
    def __init__(self, data: HotjarData | None = None) -> None:
        self.data = data or HotjarData()
        self.log: list[HotjarRequest] = []
        self.deleted: list[dict] = []  # the lookups that deleted, as asked
        self._tokens: dict[str, float] = {}  # token -> expiry (time.monotonic)
        self._faults: deque[int] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> HotjarFake:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([status] * times)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as if its hour had passed)."""
        with self._lock:
            self._tokens.clear()

    def calls(self, path_part: str) -> list[HotjarRequest]:
        return [entry for entry in self.log if path_part in entry.path]

    # --- answers ----------------------------------------------------------------------------

    def answer(self, path: str, body: dict, authorization: str | None) -> tuple[int, dict]:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            return fault, {"message": f"emulated {fault}"}
        if path == "/v1/oauth/token":
            return self._token(body)
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or time.monotonic() >= expiry:
            return 401, {"message": "Invalid or expired token"}
        if path != f"/v1/organizations/{self.data.org_id}/user-lookup":
            if path.startswith("/v1/organizations/"):
                return 403, {"message": "You do not have access to this organization"}
            return 404, {"message": "Not found"}
        return self._lookup(body)

    def _token(self, form: dict) -> tuple[int, dict]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.data.client_id,
            self.data.client_secret,
        ):
            return 401, {"error": "invalid_client", "error_description": "Bad client credentials"}
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.data.token_lifetime
        lifetime = self.data.token_lifetime
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

    def _lookup(self, body: dict) -> tuple[int, dict]:
        email = body.get("data_subject_email")
        ids = body.get("data_subject_site_id_to_user_id_map") or {}
        if not email and not ids:
            message = "data_subject_email or data_subject_site_id_to_user_id_map is required"
            return 400, {"message": message}
        found: dict[str, int] = {}
        if email:
            for site, hits in self.data.by_email.get(email.lower(), {}).items():
                found[site] = found.get(site, 0) + hits
        for site, user_id in ids.items():
            hits = self.data.by_user_id.get((str(site), str(user_id)), 0)
            if hits:
                found[str(site)] = found.get(str(site), 0) + hits
        delete = bool(body.get("delete_all_hits"))
        if delete:
            with self._lock:
                self.deleted.append(dict(body))
                if email:
                    self.data.by_email.pop(email.lower(), None)
                for site, user_id in ids.items():
                    self.data.by_user_id.pop((str(site), str(user_id)), None)
        sites = [{"site_id": site, "hits": hits} for site, hits in sorted(found.items())]
        answer = {"lookup_id": secrets.token_hex(6), "found": sites, "deleted": delete}
        if email:
            answer["data_subject_email"] = email  # echoed, as APIs often do: Kanon must not log it
        return 200, answer


class _Handler(BaseHTTPRequestHandler):
    fake: HotjarFake
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        kind = self.headers.get("Content-Type", "")
        try:
            body = dict(parse_qsl(raw)) if "form-urlencoded" in kind else json.loads(raw or "{}")
        except json.JSONDecodeError:
            body = None
        authorization = self.headers.get("Authorization")
        if not isinstance(body, dict):
            status, answer = 400, {"message": "Malformed body"}
        else:
            status, answer = self.fake.answer(self.path, body, authorization)
        with self.fake._lock:
            self.fake.log.append(HotjarRequest(self.path, status, body or {}, authorization))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
