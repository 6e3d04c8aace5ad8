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

EXIT_FAILED = 1  # a check failed or the command could not finish
EXIT_USAGE = 2  # a bad setting or argument


class KanonError(Exception):
    """A failure with a message for the person running Kanon; `exit_code` is the `kanon`
    command's exit status when it stops on it."""

    exit_code: int = EXIT_FAILED


class InvalidInput(KanonError, ValueError):
    """A value given to a command (a file to write, a seed, a range of days) cannot be used;
    the message says which and what to give instead."""
