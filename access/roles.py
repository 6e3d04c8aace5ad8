"""Roles and what they allow. One allow-list; anyone not on it may do nothing.

The UI hands over an `Identity` (who, with which roles); every page and every download asks
`may(identity, action)` on the server before it shows or builds anything. Sign-in (OpenID
Connect, local accounts) comes later; until then the only way in is developer mode, which is
for offline work on sample data and makes everyone an admin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ANALYST = "analyst"
MANAGER = "manager"
ADMIN = "admin"

VIEW = "view"  # dashboard pages: figures, charts and tables
DOWNLOAD = "download"  # CSV summaries
ADMINISTER = "administer"  # settings and sync
READ_PRIVACY = "privacy"  # the privacy page: what is withheld and why

# The allow-list: each role and the actions it grants. Nothing else is granted to anyone.
ROLES: dict[str, frozenset[str]] = {
    ANALYST: frozenset({VIEW, READ_PRIVACY}),
    MANAGER: frozenset({VIEW, DOWNLOAD, READ_PRIVACY}),
    ADMIN: frozenset({ADMINISTER, READ_PRIVACY}),
}
ACTIONS: frozenset[str] = frozenset().union(*ROLES.values())

DEVELOPER_EMAIL = "developer@localhost"


class RoleError(ValueError):
    """A role or action that is not on the allow-list."""


@dataclass(frozen=True)
class Identity:
    """Who is asking, and the roles they hold. Holding no role means seeing nothing."""

    email: str
    roles: frozenset[str] = frozenset()
    developer: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise RoleError(
                f"Unknown role(s) {sorted(unknown)}; roles are: {', '.join(sorted(ROLES))}."
            )
        object.__setattr__(self, "roles", frozenset(self.roles))


ANONYMOUS = Identity(email="")


def may(identity: Identity | None, action: str) -> bool:
    """Whether `identity` may perform `action`; unknown actions are an error, not a refusal."""
    if action not in ACTIONS:
        raise RoleError(f"Unknown action {action!r}; actions are: {', '.join(sorted(ACTIONS))}.")
    if identity is None:
        return False
    return any(action in ROLES[role] for role in identity.roles)


def developer_identity() -> Identity:
    """Developer mode: sign-in is off and whoever opens the dashboard holds every role."""
    return Identity(email=DEVELOPER_EMAIL, roles=frozenset(ROLES), developer=True)


def roles_for(email: str, allow_list: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """The roles the allow-list grants `email` (case-insensitive); nothing if it is not listed."""
    wanted = email.strip().lower()
    for listed, roles in allow_list.items():
        if listed.strip().lower() == wanted and wanted:
            return Identity(email, frozenset(roles)).roles  # validates the role names
    return frozenset()


def describe(identity: Identity) -> str:
    """Short text for the sidebar: who, and with which roles."""
    roles = ", ".join(sorted(identity.roles)) or "no role"
    who = "developer (sign-in off)" if identity.developer else identity.email or "not signed in"
    return f"{who} · {roles}"
