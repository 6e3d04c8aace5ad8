"""Roles and what they allow. One allow-list; anyone not on it may do nothing.

The UI hands over an `Identity` (who, with which roles, signed in how); every page and every
download asks `may(identity, action)` on the server before it shows or builds anything. Roles
come from the allow-list in `kanon.access.accounts`; developer mode, for offline work on sample
data, makes everyone an admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from kanon.errors import KanonError

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


class RoleError(KanonError, ValueError):
    """A role or action that is not on the allow-list."""


@dataclass(frozen=True)
class Identity:
    """Who is asking, and the roles they hold. Holding no role means seeing nothing."""

    email: str  # who: an email, a local account's name, or "" for nobody
    roles: frozenset[str] = frozenset()
    developer: bool = False
    via: str = ""  # "password", "oidc" or "" (developer mode, or not signed in)

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


def describe(identity: Identity) -> str:
    """Short text for the sidebar: who, and with which roles."""
    roles = ", ".join(sorted(identity.roles)) or "no role"
    who = "developer (sign-in off)" if identity.developer else identity.email or "not signed in"
    return f"{who} · {roles}"
