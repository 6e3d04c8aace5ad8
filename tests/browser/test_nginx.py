"""The dashboard over https through the real nginx, configured from deploy/nginx/kanon.conf.

Debian's nginx runs on loopback as whoever runs the tests, with a self-signed certificate made
here; the site file is used as shipped, with only its ports, certificate paths and upstream
replaced (`substitutions`, which also binds nginx to another loopback address). Chromium signs
in with a local manager account, opens two pages, downloads a CSV and signs out, all over
https. Then: the session cookie was Secure and HttpOnly, Kanon's access log has the browser's
address from X-Forwarded-For (not nginx's, which a proxy that sent no header would leave), and
nginx did not log the download's address.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import pwd
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kanon.access.accounts import Accounts
from kanon.access.roles import MANAGER
from kanon.ui.handoff import COOKIE
from reports import export
from tests.app.support import published_home
from tests.browser.support import dashboard, free_port, settle, sign_in, sign_out
from tests.deploy.support import NGINX, NGINX_SITE, need_tool

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
UPSTREAM = "http://127.0.0.1:8501"
# nginx connects to Kanon from here, so Kanon can tell the proxy from the browser (127.0.0.1).
PROXY_ADDRESS = "127.0.0.2"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, valid for a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def substitutions(folder: Path, http: int, https: int, upstream: str) -> dict[str, str]:
    """What the test changes in the site file: each left side must appear in it."""
    cert, key = self_signed(folder)
    return {
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen [::]:80;": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{https} ssl;",
        "listen [::]:443 ssl;": "",
        "/etc/letsencrypt/live/kanon.example.no/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/kanon.example.no/privkey.pem": str(key),
        UPSTREAM: upstream,
        "proxy_http_version 1.1;": f"proxy_http_version 1.1;\n    proxy_bind {PROXY_ADDRESS};",
    }


def nginx_conf(folder: Path, site: str) -> str:
    """A whole nginx.conf around the site, every file nginx writes inside `folder`."""
    # Started by root (as CI is), nginx would hand its workers to `nobody`, who cannot enter
    # pytest's private temporary folders; run them as the same user (ignored when not root).
    user = pwd.getpwuid(os.geteuid()).pw_name
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""user {user};
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {folder / "access.log"};
{temp}
{site}
}}
"""


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nginx did not listen on {port} within {timeout} s")


@dataclass(frozen=True)
class Site:
    origin: str  # https://127.0.0.1:PORT
    plain: str  # http://127.0.0.1:PORT
    home: Path  # Kanon's
    requests: Path  # nginx's access log


@contextmanager
def nginx(folder: Path, upstream: str, home: Path) -> Iterator[Site]:
    """nginx in the foreground over deploy/nginx/kanon.conf, in front of `upstream`."""
    need_tool(NGINX, "nginx")
    plain_port, tls_port = free_port(), free_port()
    site = NGINX_SITE.read_text(encoding="utf-8")
    for shipped, here in substitutions(folder, plain_port, tls_port, upstream).items():
        assert shipped in site, f"deploy/nginx/kanon.conf no longer has {shipped!r}"
        site = site.replace(shipped, here)
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(folder, site), encoding="utf-8")
    settings = f"daemon off; pid {folder / 'nginx.pid'};"
    process = subprocess.Popen(
        [str(NGINX), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf),
         "-g", settings],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(tls_port, process)
        yield Site(
            f"https://127.0.0.1:{tls_port}",
            f"http://127.0.0.1:{plain_port}",
            home,
            folder / "access.log",
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def site(request, tmp_path_factory) -> Iterator[Site]:
    """Kanon behind nginx, with a manager account."""
    home = published_home(request.config, tmp_path_factory.mktemp("nginx-home"))
    Accounts(home / "accounts.sqlite").add_local("max", [MANAGER], PASSWORD)
    with (
        dashboard(home, KANON_TRUSTED_PROXIES=PROXY_ADDRESS) as upstream,
        nginx(tmp_path_factory.mktemp("nginx"), upstream, home) as running,
    ):
        yield running


def test_a_manager_signs_in_browses_downloads_and_signs_out_over_https(site, browser):
    from playwright.sync_api import expect

    origin = site.origin
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, origin, "max", PASSWORD)
    # The first page draws from a cold cache on a busy machine: more than expect's 5 s default.
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=30_000)
    (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE]
    assert cookie["secure"] and cookie["httpOnly"]

    page.get_by_role("link", name="Pages").click()
    settle(page)
    assert page.url.startswith(f"{origin}/pages")
    with page.expect_download(timeout=30_000) as caught:
        page.get_by_role("button", name="Download CSV").first.click()
    assert caught.value.url.startswith(f"{origin}/media/")
    header, table = export.read_summary(Path(caught.value.path()).read_bytes())
    assert header["report"].startswith("pages") and len(table) > 0

    sign_out(page)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=30_000)
    assert [c for c in context.cookies() if c["name"] == COOKIE] == []
    context.close()

    entries = [json.loads(line) for line in (site.home / "access.log").read_text().splitlines()]
    signed_in = [e for e in entries if e["action"] == "sign-in" and e["who"] == "max"]
    assert [e["address"] for e in signed_in] == ["127.0.0.1"]  # not nginx's 127.0.0.2
    assert any(e["action"] == "download" for e in entries)
    requests = site.requests.read_text()
    assert '"GET /_stcore/stream HTTP/1.1" 101 ' in requests  # the WebSocket went through
    assert '"GET /media/' not in requests


def test_https_carries_hsts_plain_http_redirects_and_old_tls_is_refused(site):
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    tls = http.client.HTTPSConnection(
        site.origin.removeprefix("https://"), timeout=5, context=unverified
    )
    tls.request("GET", "/_stcore/health")
    health = tls.getresponse()
    assert (health.status, health.read()) == (200, b"ok")
    assert health.getheader("Strict-Transport-Security") == "max-age=63072000"

    plain = http.client.HTTPConnection(site.plain.removeprefix("http://"), timeout=5)
    plain.request("GET", "/pages?range=last-7-days")
    answer = plain.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location").endswith("/pages?range=last-7-days")
    assert answer.getheader("Location").startswith("https://")
    port = int(site.origin.rsplit(":", 1)[1])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw)
