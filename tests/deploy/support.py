"""Reading the units in deploy/systemd/ and running them here as systemd would on a server.

A unit names production paths (`PRODUCTION`); a test maps each to a place of its own (the
project's venv and source, a temporary state folder and settings file), so the commands run
are the units' own, word for word, with only those paths replaced.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"
NGINX_SITE = ROOT / "deploy" / "nginx" / "kanon.conf"
SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")
NGINX = Path("/usr/sbin/nginx")

VENV = "/opt/kanon/.venv"
SOURCE = "/opt/kanon/src"
STATE = "/var/lib/kanon"
SETTINGS = "/etc/kanon/kanon.toml"
# Where an installed Kanon lives (docs/production.md); longest first, so no path eats another.
PRODUCTION = (VENV, SOURCE, STATE, SETTINGS)
PRODUCTION_ROOTS = ("/opt/kanon", "/var/lib/kanon", "/etc/kanon")
# What systemd gives a service before its own Environment= lines.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"


def need_tool(tool: Path, package: str) -> None:
    """Skip without a Debian tool on a developer's machine; in CI (`CI` set, as `.ci/run`
    does) fail instead, so a deployment check that did not run never passes as green."""
    if tool.exists():
        return
    message = f"{tool} is not installed: apt-get install {package}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Unit:
    path: Path
    entries: tuple[tuple[str, str, str], ...]  # (section, key, value), in file order

    @property
    def name(self) -> str:
        return self.path.name

    def values(self, section: str, key: str) -> list[str]:
        return [v for s, k, v in self.entries if (s, k) == (section, key)]

    def value(self, section: str, key: str) -> str:
        found = self.values(section, key)
        assert len(found) == 1, f"{self.name}: [{section}] {key}= given {len(found)} times"
        return found[0]

    def environment(self) -> dict[str, str]:
        """The service's Environment= assignments (each line may hold several, quoted)."""
        pairs = (w.split("=", 1) for line in self.values("Service", "Environment")
                 for w in shlex.split(line))  # fmt: skip
        return dict(pairs)

    def exec_starts(self) -> list[list[str]]:
        """The commands, without systemd's "-" prefix (see `failure_ignored`)."""
        commands = [shlex.split(line.removeprefix("-")) for line in self._exec_lines()]
        for command in commands:
            assert command[0].startswith("/"), f"{self.name}: {command[0]} is not a plain path"
        return commands

    def failure_ignored(self) -> list[bool]:
        """Per ExecStart: whether systemd goes on when it fails (a leading "-")."""
        return [line.startswith("-") for line in self._exec_lines()]

    def _exec_lines(self) -> list[str]:
        return self.values("Service", "ExecStart")


def parse_unit(path: Path) -> Unit:
    """systemd's unit syntax, as much as our units use: sections, Key=Value, repeated keys,
    comments, and lines continued with a backslash."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return Unit(path, tuple(entries))


def units() -> list[Unit]:
    return [parse_unit(path) for path in sorted(SYSTEMD.iterdir()) if path.is_file()]


def unit(name: str) -> Unit:
    return parse_unit(SYSTEMD / name)


def localized(text: str, places: dict[str, str]) -> str:
    """`text` with each production path replaced by its place here; none may be left over."""
    assert set(places) == set(PRODUCTION)
    for production in PRODUCTION:
        text = text.replace(production, places[production])
    for root in PRODUCTION_ROOTS:
        assert root not in text, f"{root} left in a unit after localizing: add it to PRODUCTION"
    return text


def localized_unit(original: Unit, places: dict[str, str], folder: Path) -> Unit:
    copy = folder / original.name
    copy.write_text(localized(original.path.read_text(encoding="utf-8"), places), "utf-8")
    return parse_unit(copy)


def service_environment(service: Unit) -> dict[str, str]:
    """What the service's processes see: systemd's PATH and locale, then its own lines."""
    return {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8", **service.environment()}
