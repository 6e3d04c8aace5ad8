"""What Kanon adds to Streamlit's own server (`app.py`): the sign-in cookie's routes, the
client's address, and safe response headers.

- `/auth/session?ticket=...` swaps a one-time ticket (made by the page that just signed someone
  in, see `kanon.ui.signin_page.signed_in`) for the HttpOnly cookie holding only the session's
  new random token, then goes back to the page that was opened. Only a navigation from Kanon's
  own page may do so (`from_kanon_itself`). `/auth/signout` clears that
  cookie once its session is over (the page closes the session first; a link from elsewhere
  cannot sign anyone out).
- `ClientAddress` works out who is asking for every request and WebSocket: the TCP peer, or,
  only when the peer is one of `trusted_proxies`, the rightmost address in X-Forwarded-For that
  is not a trusted proxy. It hands the result to the page as a header of its own
  (`CLIENT_HEADER`), replacing any header of that name the browser sent.
- `/healthz` tells a monitor whether the data is fresh (`kanon.freshness`): JSON, 200 or 503,
  no sign-in (it names no figure, category or account).
- `SecurityHeaders` forbids framing, MIME sniffing and cross-site referrers on every response.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kanon.freshness import freshness
from kanon.settings import Settings, SettingsError
from kanon.store.duckdb_store import StoreError
from kanon.ui.handoff import CLIENT_HEADER, COOKIE

log = logging.getLogger("kanon.server")


SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_CLIENT = CLIENT_HEADER.lower().encode()
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _settings() -> Settings | None:
    from kanon.ui import (
        context,  # not at import: app.py imports this before Streamlit's runtime exists
    )

    try:
        return context.current_settings()
    except SettingsError:  # the page says what is wrong
        return None


def networks(trusted: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(item, strict=False) for item in trusted]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    ip = _ip(address) if address else None
    return ip is not None and any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the rightmost
    X-Forwarded-For hop that is not a trusted proxy (hops left of it are whatever the client
    wrote, so they are never believed)."""
    if not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    found = peer
    for hop in reversed(hops):
        if _ip(hop) is None:
            break  # not an address: nothing left of it can be believed either
        found = str(_ip(hop))
        if not is_trusted(found, trusted):
            break
    return found


class ClientAddress:
    """Pure ASGI middleware: the client's address for the page, and https behind a proxy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = _settings()
        trusted = networks(settings.trusted_proxies) if settings else []
        client = scope.get("client")
        peer = client[0] if client else None
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != _CLIENT]
        forwarded = [v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-for"]
        address = client_address(peer, forwarded, trusted)
        if address:
            headers.append((_CLIENT, address.encode("latin-1")))
        elif not self._warned:
            self._warned = True
            log.warning(
                "Kanon's server was given no client address: sign-in throttling by address and "
                "the access log's addresses are off."
            )
        scope = dict(scope, headers=headers)
        if is_trusted(peer, trusted):
            proto = [v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-proto"]
            if proto and proto[-1].split(",")[-1].strip().lower() == "https":
                scope["scheme"] = "https" if scope["type"] == "http" else "wss"
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Pure ASGI middleware: `SECURITY_HEADERS` on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((n, v) for n, v in SECURITY_HEADERS if n not in present)
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def base_path() -> str:
    """Streamlit's server.baseUrlPath as a prefix of Kanon's own routes: "" or "/kanon"."""
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _cookie_options(request: Request, settings: Settings) -> dict:
    return {
        "path": f"{base_path()}/",
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
    }


def _sessions(settings: Settings):
    from kanon.ui import context

    return context.sessions(settings)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def from_kanon_itself(request: Request) -> bool:
    """Whether this navigation started on one of Kanon's own pages (the sign-in page's
    redirect), not at a link on another site or in an e-mail: login CSRF would otherwise sign a
    victim in as the attacker. Browsers say so in Sec-Fetch-Site; one too old to send it still
    sends a same-origin Referer (Kanon's Referrer-Policy is same-origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    referer = urlsplit(request.headers.get("referer", ""))
    host = request.headers.get("host", "")
    return bool(referer.netloc) and referer.netloc == host


async def set_session(request: Request) -> Response:
    """Redeem a sign-in ticket: set the cookie with the session's new token, go back."""
    settings = _settings()
    home = f"{base_path()}/"
    if settings is None:
        return _no_store(RedirectResponse(home, status_code=303))
    ticket = request.query_params.get("ticket")
    redeemed = await run_in_threadpool(_sessions(settings).redeem, ticket)
    if redeemed is not None and not from_kanon_itself(request):
        # A ticket followed from another site (a link someone sent) would sign this browser in
        # as the ticket's owner: spent above, and that session's token is now nobody's.
        log.warning("A sign-in ticket came from another site's link; it was spent unused.")
        return _no_store(RedirectResponse(home, status_code=303))
    if redeemed is None:  # spent, expired, forged, or its session already over
        return _no_store(RedirectResponse(home, status_code=303))
    token, next_path = redeemed
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_lifetime_hours * 3600,
        **_cookie_options(request, settings),
    )
    return _no_store(response)


async def sign_out(request: Request) -> Response:
    """Clear the cookie if its session is over (the page has closed it), then go home."""
    settings = _settings()
    response = _no_store(RedirectResponse(f"{base_path()}/", status_code=303))
    if settings is None:
        return response
    token = request.cookies.get(COOKIE)
    still_open = False
    if token:
        lookup = await run_in_threadpool(_sessions(settings).lookup, token)
        still_open = lookup.account is not None
    if token and not still_open:
        response.delete_cookie(COOKIE, **_cookie_options(request, settings))
    return response


HEALTH_CACHE_SECONDS = 5.0  # monitors poll often; the store is read at most this often
_health_lock = threading.Lock()
_health: tuple[float, int, dict] | None = None


def _health_answer() -> tuple[int, dict]:
    """The freshness verdict as (HTTP status, body), read at most every few seconds."""
    global _health
    with _health_lock:  # one read at a time; the others take its answer
        if _health is not None and time.monotonic() - _health[0] < HEALTH_CACHE_SECONDS:
            return _health[1], _health[2]
        settings = _settings()
        if settings is None:
            code, body = 503, {"status": "settings-invalid"}
        else:
            try:
                found = freshness(settings)
                code, body = (200 if found.fresh else 503), found.to_dict()
            except StoreError:  # damaged, newer than this Kanon, or held by a sync too long
                code, body = 503, {"status": "store-unreadable"}
        _health = (time.monotonic(), code, body)
        return code, body


async def healthz(request: Request) -> Response:
    """200 while the release is fresh and the last sync succeeded, else 503; never cached."""
    code, body = await run_in_threadpool(_health_answer)
    return _no_store(JSONResponse(body, status_code=code))


def routes() -> list[Route]:
    base = base_path()
    return [
        Route(f"{base}/healthz", healthz, methods=["GET"]),
        Route(f"{base}/auth/session", set_session, methods=["GET"]),
        Route(f"{base}/auth/signout", sign_out, methods=["GET"]),
    ]


def middleware() -> list[Middleware]:
    return [Middleware(SecurityHeaders), Middleware(ClientAddress)]


def start_up_warnings(settings: Settings | None, listening_on: str | None) -> list[str]:
    """What an operator should hear at start-up about client addresses."""
    if settings is None or settings.trusted_proxies:
        return []
    host = _ip(listening_on or "")
    if host is not None and host.is_loopback:
        return [
            f"Kanon listens on {listening_on} and trusts no proxy: if a reverse proxy on this "
            "machine forwards to it, every visitor has the proxy's address (sign-in throttling "
            "and the access log cannot tell them apart). Set trusted_proxies (e.g. "
            "KANON_TRUSTED_PROXIES=127.0.0.1) to read the client from X-Forwarded-For."
        ]
    return []
