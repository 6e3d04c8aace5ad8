"""The root of Kanon's own errors, and the exit code each one carries.

Every error Kanon raises on purpose — a setting, a request, a store, a source that cannot be
used, with a message saying what to do — is a `KanonError`. The `kanon` command catches this
root alone: it prints the message and exits with the error's `exit_code`. Anything else (a
`ValueError` from a library, a `KeyError`) is a bug and keeps its traceback.

The root lives here, in `connectors`, because dependencies run one way, kanon -> reports ->
connectors: the connectors and the reports raise Kanon's errors too and must not import
`kanon`, while everything can import `connectors`. `kanon.errors` re-exports it for the code
under `kanon/`; `policy/`, which stays apart from settings and the release, imports it from
here.

An error that callers know as a `ValueError` or `RuntimeError` stays one as well, by
multiple inheritance (`class CatalogError(KanonError, ValueError)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

EXIT_FAILED = 1  # a check failed or the command could not finish
EXIT_USAGE = 2  # a bad setting or argument


class KanonError(Exception):
    """A failure with a message for the person running Kanon; `exit_code` is the `kanon`
    command's exit status when it stops on it."""

    exit_code: int = EXIT_FAILED
    template: str | None = None  # the message before its fields were filled in (see `said`)
    fields: dict[str, Any] = {}

    @classmethod
    def said(cls, template: str, **fields: Any) -> Self:
        """An error a page can show in its reader's language: `template` is a catalog text
        (marked `N_` where it is written) whose named fields are filled in afterwards. Its
        message, for the CLI and the logs, is the English one."""
        error = cls(template.format(**fields))
        error.template, error.fields = template, fields
        return error

    def in_words(self, gettext: Callable[[str], str]) -> str:
        """The message through `gettext` (a language's `_`); as raised when it has no template."""
        if self.template is None:
            return str(self)
        return gettext(self.template).format(**self.fields)


class InvalidInput(KanonError, ValueError):
    """A value given to a command (a file to write, a seed, a range of days) cannot be used;
    the message says which and what to give instead."""
