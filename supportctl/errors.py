"""Exit codes of SPEC §8, decided in one place.

Every failure a user can meet is one of these exceptions; the CLI turns it into
``supportctl: error: <message>`` on stderr (plus an optional hint line) and the
exception's exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_FOUND = 3
    PERMISSION = 4
    CONFLICT = 5
    UNAVAILABLE = 6


class SupportctlError(Exception):
    """Base of every error a user may see; never raised directly."""

    exit_status: ExitStatus = ExitStatus.UNEXPECTED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SupportctlError):
    """Bad flag, bad value, bad input file (exit 2)."""

    exit_status = ExitStatus.USAGE


class NotFound(SupportctlError):
    """Ticket, escalation, org or user that does not exist or may not be seen (exit 3)."""

    exit_status = ExitStatus.NOT_FOUND


class PermissionDenied(SupportctlError):
    """Permission denied or authentication failed (exit 4)."""

    exit_status = ExitStatus.PERMISSION


class Conflict(SupportctlError):
    """The ticket's state forbids the action, or a concurrent change (exit 5)."""

    exit_status = ExitStatus.CONFLICT


class PreconditionFailed(Conflict):
    """A stale `If-Match`: the ticket changed since it was read (HTTP 412, exit 5)."""


class AuthenticationFailed(PermissionDenied):
    """A missing, wrong or revoked token (HTTP 401, exit 4)."""


class Unavailable(SupportctlError):
    """Backend unavailable: damaged store, lock held too long, network (exit 6)."""

    exit_status = ExitStatus.UNAVAILABLE


class StoreDamaged(Unavailable):
    """A store file that does not parse or has a newer schema; it is never overwritten."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(
            f"store file {path} {why}", hint="run `supportctl store check` for details"
        )
        self.path = path
        self.why = why
