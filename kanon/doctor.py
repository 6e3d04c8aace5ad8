"""`kanon doctor`: is this install ready? One finding per check, each saying what to do.

A check is a small function of the settings returning one `Finding`; `CHECKS` lists them in
the order they print. To add one (say, failed e-mail sends), write the function and append it
to `CHECKS` (or `ONLINE_CHECKS` when it calls out over the network: those run only with
`--online`). A check that raises a Kanon error or an OSError becomes a problem naming it, never
a traceback.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kanon.errors import KanonError
from kanon.settings import Settings, SettingsError, load_settings

OK, WARNING, PROBLEM = "ok", "warning", "problem"
LEVELS = (OK, WARNING, PROBLEM)
CHECK_PROPERTY_EVERY = timedelta(days=8)  # the weekly timer, and a day's grace
LOOPBACK_DEFAULT = "127.0.0.1"  # app.py's address when nothing else sets one


@dataclass(frozen=True)
class Finding:
    level: str  # OK, WARNING or PROBLEM
    check: str  # a short name, stable for scripts
    what: str  # what was found
    todo: str = ""  # what to do about it (empty when nothing)

    def line(self) -> str:
        todo = f" → {self.todo}" if self.todo else ""
        return f"{self.level:<8} {self.check}: {self.what}{todo}"


Check = Callable[[Settings], Finding]


def ready(findings: list[Finding]) -> bool:
    return not any(finding.level == PROBLEM for finding in findings)


def examine(online: bool = False) -> list[Finding]:
    """Every check's finding; the settings first (nothing else can be checked without them)."""
    try:
        settings = load_settings()
    except SettingsError as error:
        return [Finding(PROBLEM, "settings", str(error), "fix the setting named above")]
    findings = [Finding(OK, "settings", "valid")]
    for check in CHECKS + (ONLINE_CHECKS if online else []):
        findings.append(_guarded(check, settings))
    return findings


def _guarded(check: Check, settings: Settings) -> Finding:
    name = check.__name__.removeprefix("check_")
    try:
        return check(settings)
    except (KanonError, OSError, ValueError) as error:
        what = f"could not be checked ({type(error).__name__}: {error})"
        return Finding(PROBLEM, name, what, "fix what the message names, then run doctor again")


def to_json(findings: list[Finding]) -> str:
    return json.dumps(
        {"ready": ready(findings), "findings": [asdict(f) for f in findings]}, indent=2
    )


# --- the checks -------------------------------------------------------------------------


def check_home(settings: Settings) -> Finding:
    """KANON_HOME exists, belongs to the user running Kanon, and is private (kanon.private)."""
    home = settings.home
    if not home.is_dir():
        return Finding(
            PROBLEM, "home", f"{home} does not exist", "run `kanon sync` (it creates the home)"
        )
    if home.stat().st_uid != os.getuid():
        return Finding(
            PROBLEM,
            "home",
            f"{home} belongs to user id {home.stat().st_uid}, not to the user running Kanon "
            f"({os.getuid()})",
            "run Kanon as the home's owner (the kanon service user), or chown -R the folder",
        )
    lax = _lax_paths(home)
    if lax:
        shown = ", ".join(f"{path} ({mode:o})" for path, mode in lax[:3])
        more = f" and {len(lax) - 3} more" if len(lax) > 3 else ""
        return Finding(
            PROBLEM,
            "home",
            f"readable by others: {shown}{more}",
            "run any other kanon command as the home's owner (it makes them 0700/0600), or "
            "`chmod -R go-rwx` the home",
        )
    return Finding(OK, "home", f"{home} is its owner's alone (0700 folders, 0600 files)")


def _lax_paths(home: Path) -> list[tuple[Path, int]]:
    found = []
    for path in [home, *home.rglob("*")]:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            found.append((path, stat.S_IMODE(info.st_mode)))
    return found


def check_developer_mode(settings: Settings) -> Finding:
    if not settings.developer_mode:
        return Finding(OK, "developer_mode", "off: everyone signs in")
    from kanon import developer

    refusal = developer.refusal(settings)
    if refusal:
        return Finding(PROBLEM, "developer_mode", "on over real data or accounts", refusal)
    return Finding(
        WARNING,
        "developer_mode",
        "on: no sign-in, everyone an admin (the store holds only sample data)",
        "turn it off (unset KANON_DEVELOPER_MODE) before real data or people come near",
    )


def check_admin(settings: Settings) -> Finding:
    from kanon.access.accounts import Accounts

    if settings.developer_mode:
        return Finding(OK, "admin", "developer mode has no accounts")
    if not settings.accounts_path.exists() or not Accounts(settings.accounts_path).has_admin():
        return Finding(
            PROBLEM,
            "admin",
            "no active admin account",
            "open the dashboard and use the one-time set-up code it prints, or `kanon users "
            "add NAME --role admin` (or `kanon users enable NAME`)",
        )
    return Finding(OK, "admin", "at least one active admin")


def check_cookie_secret(settings: Settings) -> Finding:
    """With OpenID Connect configured ([auth] in secrets.toml), its cookie secret and
    providers are complete and safe (kanon.access.oidc)."""
    from kanon.access.oidc import OidcConfigError, providers

    auth, where = _auth_table()
    if auth is None:
        return Finding(OK, "oidc", "OpenID Connect is not configured (local accounts)")
    try:
        found = providers(auth, settings.oidc_provider_label)
    except OidcConfigError as error:
        return Finding(PROBLEM, "oidc", f"[auth] in {where} is unsafe or incomplete", str(error))
    names = ", ".join(provider.label for provider in found)
    return Finding(OK, "oidc", f"[auth] in {where}: cookie secret set, provider(s) {names}")


def _auth_table() -> tuple[dict | None, Path | None]:
    from connectors.ga4_auth import secrets_paths

    for path in secrets_paths():
        if path.is_file():
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("auth")
            if isinstance(table, dict):
                return table, path
    return None, None


def check_address(settings: Settings) -> Finding:
    """Streamlit's server.address, read as Streamlit does (environment, then the working
    folder's and the user's .streamlit/config.toml; app.py makes the default loopback)."""
    address, where = listening_address()
    ip = _ip(address)
    if ip is not None and ip.is_loopback:
        if settings.trusted_proxies:
            return Finding(OK, "address", f"{address} ({where}), behind a trusted proxy")
        return Finding(
            OK, "address", f"{address} ({where}): only this machine (or a proxy on it) connects"
        )
    if settings.trusted_proxies:
        return Finding(
            WARNING,
            "address",
            f"{address or 'every address'} ({where}) with trusted_proxies set",
            "make sure a firewall lets only the proxy reach this port",
        )
    return Finding(
        PROBLEM,
        "address",
        f"{address or 'every address'} ({where}): anyone on the network reaches Kanon directly",
        "listen on 127.0.0.1 (server.address) behind the reverse proxy, and set trusted_proxies",
    )


def listening_address() -> tuple[str, str]:
    """The address the dashboard listens on, and where that was set."""
    from_env = os.environ.get("STREAMLIT_SERVER_ADDRESS")
    if from_env:
        return from_env, "STREAMLIT_SERVER_ADDRESS"
    for path in (Path(".streamlit/config.toml"), Path.home() / ".streamlit" / "config.toml"):
        if path.is_file():
            server = tomllib.loads(path.read_text(encoding="utf-8")).get("server", {})
            if isinstance(server, dict) and "address" in server:
                return str(server["address"]), str(path)
    return LOOPBACK_DEFAULT, "Kanon's default"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return ipaddress.ip_address("127.0.0.1") if text.strip() == "localhost" else None


def check_last_sync(settings: Settings) -> Finding:
    from kanon.freshness import NO_RELEASE, freshness
    from kanon.freshness import OK as FRESH
    from kanon.store.duckdb_store import Store

    found = freshness(settings, wait_seconds=5.0)
    age = "" if found.release_age_hours is None else f"{found.release_age_hours:.1f} h old"
    if found.status == FRESH:
        return Finding(
            OK, "last_sync", f"the release is {age} (stale after {found.stale_after_hours} h)"
        )
    if found.last_sync_outcome == "failed":
        failed = Store(settings.store_path).syncs(limit=5)
        failed = failed[failed["status"] == "failed"]
        cause = str(failed["message"].iloc[0]) if not failed.empty else "no message"
        release = f"the release is {age}" if age else "nothing is published yet"
        return Finding(
            PROBLEM,
            "last_sync",
            f"the last sync failed ({cause}); {release}",
            "fix the cause and run `kanon sync` (journalctl -u kanon-sync shows its output)",
        )
    if found.status == NO_RELEASE:
        return Finding(PROBLEM, "last_sync", "nothing published yet", "run `kanon sync`")
    return Finding(
        PROBLEM,
        "last_sync",
        f"the release is {age}, over stale_after_hours ({found.stale_after_hours})",
        "run `kanon sync`, and check that the daily sync timer runs",
    )


def check_property_result(settings: Settings) -> Finding:
    from kanon.policy.property_check import load_report
    from kanon.policy_setup import last_check_path

    if settings.source == "sample" and not settings.ga4_property:
        return Finding(OK, "check_property", "not needed: the source is the sample property")
    report = load_report(last_check_path(settings))
    if report is None:
        return Finding(WARNING, "check_property", "never run here", "run `kanon check-property`")
    checked = datetime.fromisoformat(report.checked_at.replace("Z", "+00:00"))
    if checked.tzinfo is None:
        checked = checked.replace(tzinfo=UTC)
    days = (datetime.now(UTC) - checked).days
    if not report.ok:
        verdict = report.lines()[-1].removeprefix("Result: ")
        return Finding(
            PROBLEM,
            "check_property",
            f"{verdict}, {days} day(s) ago",
            "fix the property's settings in GA4 Admin, then `kanon check-property`",
        )
    if datetime.now(UTC) - checked > CHECK_PROPERTY_EVERY:
        return Finding(
            WARNING,
            "check_property",
            f"passed, but {days} days ago",
            "run `kanon check-property` (the weekly timer does it)",
        )
    return Finding(OK, "check_property", f"passed {days} day(s) ago")


def check_credentials(settings: Settings) -> Finding:
    """The Google key Kanon would use is readable (no network: that is `--online`)."""
    if settings.source == "sample" and not settings.ga4_property:
        return Finding(OK, "credentials", "not needed: the source is the sample property")
    key = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key:
        return _key_file(Path(key), "GOOGLE_APPLICATION_CREDENTIALS")
    if settings.dsr_credentials:
        dsr_key = _key_file(settings.dsr_credentials, "dsr_credentials")
        if dsr_key.level != OK:
            return dsr_key
    from connectors.ga4_auth import secrets_paths

    for path in secrets_paths():
        if path.is_file() and "gcp_service_account" in tomllib.loads(path.read_text("utf-8")):
            return Finding(OK, "credentials", f"[gcp_service_account] in {path}")
    return Finding(
        WARNING,
        "credentials",
        "no service-account key: Kanon falls back to Application Default Credentials",
        "set GOOGLE_APPLICATION_CREDENTIALS to a key file, or check with `kanon doctor --online`",
    )


def _key_file(path: Path, name: str) -> Finding:
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        return Finding(
            PROBLEM,
            "credentials",
            f"{name} names {path}, which cannot be read ({error.strerror})",
            "make it readable by the user running Kanon (mode 0600, owned by it)",
        )
    except ValueError:
        return Finding(PROBLEM, "credentials", f"{path} is not JSON", "download the key again")
    if not isinstance(key, dict) or key.get("type") != "service_account":
        return Finding(
            PROBLEM,
            "credentials",
            f"{path} is not a service-account key",
            "use the JSON key of the service account (IAM → Service accounts → Keys)",
        )
    return Finding(OK, "credentials", f"{name}: a service-account key ({key.get('client_email')})")


def check_summaries(settings: Settings) -> Finding:
    """E-mailed summaries whose last attempt failed or was cut short (kanon.summaries): each is
    retried by the next `kanon summaries send --due`, but someone should know."""
    from kanon.summaries.delivery import failed_sends

    if not settings.accounts_path.exists():
        return Finding(OK, "summaries", "no accounts file yet: nothing to send")
    failed = failed_sends(settings)
    if not failed:
        return Finding(OK, "summaries", "no failed send")
    last = max(failed, key=lambda send: send.changed_at)
    why = f": {last.error}" if last.error else ""
    return Finding(
        WARNING,
        "summaries",
        f"{len(failed)} summaries not delivered; the last, {last.cadence} {last.period} to "
        f"{last.account}, after {last.attempts} attempts{why}",
        "check the smtp_ settings and the mail server; `kanon summaries send --due` retries them",
    )


# --- --online: one call to each configured service -------------------------------------


def _one_day_request():
    from connectors.base import ReportRequest

    yesterday = date.today() - timedelta(days=1)
    return ReportRequest((), ("activeUsers",), yesterday, yesterday)


def check_ga4_online(settings: Settings) -> Finding:
    from kanon.sources import ga4_connector

    if not settings.ga4_property:
        return Finding(OK, "ga4_online", "no GA4 property configured: not asked")
    ga4_connector(settings).run(_one_day_request())
    return Finding(OK, "ga4_online", f"the Data API answered for property {settings.ga4_property}")


def check_bigquery_online(settings: Settings) -> Finding:
    from kanon.sources import bigquery_connector

    if not settings.bigquery_project:
        return Finding(OK, "bigquery_online", "no BigQuery project configured: not asked")
    bigquery_connector(settings).run(_one_day_request())
    return Finding(OK, "bigquery_online", f"BigQuery answered ({settings.bigquery_project})")


def check_hotjar_online(settings: Settings) -> Finding:
    from kanon.policy.hotjar import HotjarClient
    from kanon.policy_setup import hotjar_config

    config, missing = hotjar_config(settings)
    if config is None:
        return Finding(OK, "hotjar_online", f"Hotjar is not configured: not asked ({missing})")
    HotjarClient(config).authenticate()
    return Finding(OK, "hotjar_online", "Hotjar's API gave Kanon a token")


CHECKS: list[Check] = [
    check_home,
    check_developer_mode,
    check_admin,
    check_cookie_secret,
    check_address,
    check_last_sync,
    check_property_result,
    check_credentials,
    check_summaries,
]
ONLINE_CHECKS: list[Check] = [check_ga4_online, check_bigquery_online, check_hotjar_online]
