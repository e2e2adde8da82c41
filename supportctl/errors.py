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


# -- the REST API's statuses (SPEC §7): one table, read both ways ---------------------------------
#: The HTTP status the server answers for each exit code.
STATUS_BY_EXIT = {
    ExitStatus.USAGE: 400,
    ExitStatus.NOT_FOUND: 404,
    ExitStatus.PERMISSION: 403,
    ExitStatus.CONFLICT: 409,
    ExitStatus.UNAVAILABLE: 503,
    ExitStatus.UNEXPECTED: 500,
}
#: Statuses with an error class of their own (the rest follow STATUS_BY_EXIT).
_CLASS_BY_STATUS: dict[int, type[SupportctlError]] = {
    401: AuthenticationFailed,
    412: PreconditionFailed,
    405: UsageError,
    413: UsageError,
    415: UsageError,
    422: UsageError,
}
_CLASS_BY_EXIT: dict[int, type[SupportctlError]] = {
    int(cls.exit_status): cls
    for cls in (UsageError, NotFound, PermissionDenied, Conflict, Unavailable)
}


def http_status(exc: SupportctlError) -> int:
    """The status the server answers with for ``exc``."""
    if isinstance(exc, AuthenticationFailed):
        return 401
    if isinstance(exc, PreconditionFailed):
        return 412
    return STATUS_BY_EXIT.get(exc.exit_status, 500)


def error_for_status(status: int, exit_code: object = None) -> type[SupportctlError]:
    """The exception a client raises for a 4xx answer: by the status where it has a class
    of its own, else by the problem's ``exit_code`` (one status stands for several exit
    codes: a 403 may be a FedRAMP refusal or a missing right), else by the status."""
    if status in _CLASS_BY_STATUS:
        return _CLASS_BY_STATUS[status]
    if isinstance(exit_code, int) and exit_code in _CLASS_BY_EXIT:
        return _CLASS_BY_EXIT[exit_code]
    for exit_status, code in STATUS_BY_EXIT.items():
        if code == status and int(exit_status) in _CLASS_BY_EXIT:
            return _CLASS_BY_EXIT[int(exit_status)]
    return UsageError
