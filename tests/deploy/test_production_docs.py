"""docs/production.md and the README's Production section say what deploy/ does.

The paths, the user, the environment of the `kanon` shell function, the units installed and
enabled, the settings' trusted proxy and the nginx upstream are read from the page's commands
and compared with the units and the site file, so changing one without the other fails here.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from tests.deploy.support import NGINX_SITE, ROOT, SYSTEMD, Unit, unit, units

PAGE = ROOT / "docs" / "production.md"
README = ROOT / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def commands() -> list[list[str]]:
    """Every shell command of the page, split into words."""
    return [shlex.split(line) for block in blocks("sh") for line in block.splitlines() if line]


def command(*start: str) -> list[str]:
    found = [words for words in commands() if words[: len(start)] == list(start)]
    assert len(found) == 1, f"docs/production.md has {len(found)} commands starting {start}"
    return found[0]


def dashboard() -> Unit:
    return unit("kanon-dashboard.service")


def sync() -> Unit:
    return unit("kanon-sync.service")


def services() -> list[Unit]:
    return [u for u in units() if u.name.endswith(".service")]


def test_the_readme_points_at_the_page_and_names_every_deploy_file():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Production\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/production.md)" in section
    for path in (*SYSTEMD.iterdir(), NGINX_SITE):
        assert path.stem in section, f"README's Production section does not name {path.name}"


def test_the_user_and_folders_are_the_units():
    environment = sync().environment()
    (useradd,) = [words for words in commands() if words[0] == "useradd"]
    assert useradd[useradd.index("--home-dir") + 1] == environment["HOME"]
    assert useradd[-1] == "kanon" == sync().value("Service", "User")
    made = command("install", "-d", "-o", "kanon", "-g", "kanon", "-m", "0700")
    assert {environment["HOME"], environment["KANON_HOME"]} <= set(made)
    for service in services():
        assert service.environment()["HOME"] == environment["HOME"]
        assert service.environment()["KANON_HOME"] == environment["KANON_HOME"]


def test_the_venv_and_source_are_where_the_units_run_them():
    venv = command("python3", "-m", "venv")[-1]
    install = [w for w in commands() if w[:3] == [f"{venv}/bin/pip", "install", "-e"]]
    assert install, "docs/production.md no longer installs Kanon into its venv"
    source = install[0][-1]
    assert dashboard().value("Service", "WorkingDirectory") == source
    for service in services():
        for words in service.exec_starts():
            assert Path(words[0]).parent == Path(venv) / "bin", f"{service.name}: {words[0]}"


def test_the_kanon_function_runs_kanon_as_the_units_do():
    (line,) = [b for b in blocks("sh") if b.startswith("kanon() {")]
    words = shlex.split(line.replace("{", " ").replace("}", " ").replace(";", " "))
    assignments = dict(w.split("=", 1) for w in words if re.match(r"[A-Z_]+=", w))
    environment = sync().environment()
    assert assignments == {k: environment[k] for k in ("HOME", "KANON_SETTINGS", "KANON_HOME")}
    assert words[words.index("-u") + 1] == sync().value("Service", "User")
    assert sync().exec_starts()[0][0] in words
    assert f"cd {sync().value('Service', 'WorkingDirectory')}" in line


def test_every_unit_is_installed_and_every_installable_one_enabled():
    source = Path(dashboard().value("Service", "WorkingDirectory"))
    pattern = str(source / "deploy" / "systemd" / "kanon-*")
    copies = [w for w in commands() if w[:3] == ["install", "-m", "0644"] and "systemd" in w[3]]
    assert len(copies) == 2, "installed at set-up and again at an upgrade"
    for copy in copies:
        assert copy[3:] == [pattern, "/etc/systemd/system/"]
    assert all(u.path.match("kanon-*") for u in units())
    enabled = command("systemctl", "enable", "--now")[3:]
    assert sorted(enabled) == sorted(u.name for u in units() if u.values("Install", "WantedBy"))
    assert command("systemctl", "start", "kanon-sync.service") == [
        "systemctl",
        "start",
        "kanon-sync.service",
    ]  # the first sync, by hand
    # A restore stops and starts again exactly what the set-up enabled.
    stopped = command("systemctl", "stop")[2:]
    assert sorted(stopped) == sorted(enabled)
    assert command("systemctl", "start", *stopped)[2:] == stopped


def test_the_settings_trust_the_proxy_the_site_file_is():
    (settings,) = blocks("toml")
    trusted = tomllib.loads(settings)["trusted_proxies"]
    site = NGINX_SITE.read_text(encoding="utf-8")
    upstreams = set(re.findall(r"proxy_pass http://([\d.]+):(\d+);", site))
    assert len(upstreams) == 1, upstreams
    ((host, port),) = upstreams
    assert host in trusted
    start = dashboard().exec_starts()[0]
    assert start[start.index("--server.port") + 1] == port
    assert start[start.index("--server.address") + 1] == host
    chown = command("chown", "root:kanon")
    assert chown[-1] == sync().environment()["KANON_SETTINGS"]


def test_the_site_file_is_installed_where_nginx_reads_it():
    source = Path(dashboard().value("Service", "WorkingDirectory"))
    copy = command("install", "-m", "0644", str(source / "deploy" / "nginx" / "kanon.conf"))
    assert copy[-1] == "/etc/nginx/sites-available/kanon.conf"
    assert command("ln", "-s")[2:] == [copy[-1], "/etc/nginx/sites-enabled/kanon.conf"]
