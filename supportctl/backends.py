"""Backends by name (SPEC §6): one registry, and the one capability check.

A *backend* is what a user chooses with ``--backend``: a name, the commands it serves, and
how to build its ``TicketService``.  Two kinds plug in here:

- a **local** backend names a storage class (``supportctl.storage``); its service is the
  local service (``supportctl.service.LocalService``) over that storage, so every rule
  comes for free, and the ``store …`` commands administer it;
- a **remote** backend names a factory of its own ``TicketService``
  (``supportctl.remote``) and lists the commands it can serve.

A command a backend cannot serve exits 2 here, before anything is built, sent or written.
Modules are imported only when their backend is chosen, so start-up stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportctl.api import unsupported
from supportctl.errors import UsageError

if TYPE_CHECKING:
    from supportctl.api import TicketService
    from supportctl.config import Settings
    from supportctl.storage.base import Storage

TICKET_COMMANDS = frozenset(
    {
        "tickets list",
        "tickets show",
        "tickets create",
        "tickets reply",
        "tickets attachment",
        "tickets close",
        "tickets feedback",
        "tickets update",
        "tickets merge",
        "tickets sweep",
    }
)
ESCALATION_COMMANDS = frozenset(
    {"escalations list", "escalations track", "escalations create", "escalations advance"}
)
PROXY_COMMANDS = frozenset({"proxy-access show", "proxy-access toggle"})
STORE_COMMANDS = frozenset(
    {"store init", "store import", "store export", "store check", "store token"}
)
#: Triggers route tickets as they are created (SPEC §13): the local backends and the server.
TRIGGER_COMMANDS = frozenset({"triggers list", "triggers test", "triggers run"})
ACCOUNT_COMMANDS = frozenset(
    {"me", "me support-access", "org billing show", "org billing set", "org billing confirm"}
)
SERVICE_COMMANDS = (
    TICKET_COMMANDS
    | ESCALATION_COMMANDS
    | PROXY_COMMANDS
    | TRIGGER_COMMANDS
    | ACCOUNT_COMMANDS
    | {"org view", "report"}
)


@dataclass(frozen=True)
class Backend:
    """One registry entry."""

    name: str
    #: The command paths it serves (``"tickets list"``, ``"store init"`` …).
    commands: frozenset[str]
    #: Local backends: ``"module:Class"`` of the storage; the service is the local one.
    storage: str | None = None
    #: Remote backends: ``"module:function"`` taking (settings, sla_policy) → TicketService.
    service: str | None = None

    @property
    def local(self) -> bool:
        return self.storage is not None

    def check(self, command: str) -> None:
        """SPEC §6: a command this backend cannot serve exits 2 before doing anything."""
        if command not in self.commands:
            raise unsupported(command, self.name)


REGISTRY: dict[str, Backend] = {
    "json": Backend(
        "json",
        SERVICE_COMMANDS | STORE_COMMANDS,
        storage="supportctl.storage.jsonstore:JsonStore",
    ),
    # SPEC §12: the same local service over PostgreSQL (`--store postgresql://…`).
    "postgres": Backend(
        "postgres",
        SERVICE_COMMANDS | STORE_COMMANDS,
        storage="supportctl.storage.postgres:PostgresStore",
    ),
    "http": Backend("http", SERVICE_COMMANDS, service="supportctl.remote.http:open_service"),
    "rt": Backend(
        "rt",
        TICKET_COMMANDS - {"tickets feedback"},
        service="supportctl.remote.rtlogin:open_service",
    ),
}


def backend_names() -> list[str]:
    return sorted(REGISTRY)


def get_backend(name: str) -> Backend:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown backend {name!r}. Valid backends: {', '.join(backend_names())}"
        ) from None


def _load(target: str) -> Any:
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def open_service(
    settings: Settings, *, sla_policy: Any = None, triggers: Any = None
) -> TicketService:
    """The configured backend's service, acting as the configured user (or the token's).
    The caller has checked its command (``Backend.check``) first. ``triggers`` route the
    tickets a local backend creates (a remote's server applies its own)."""
    backend = get_backend(settings.backend)
    if backend.storage is not None:
        from supportctl.service import LocalService

        return LocalService(
            open_storage(settings), settings.user, sla_policy=sla_policy, triggers=triggers
        )
    assert backend.service is not None
    return _load(backend.service)(settings, sla_policy=sla_policy)


def storage_class(settings: Settings, command: str) -> type[Storage]:
    """The storage class of the configured backend, for a `store …` command (which only
    local backends serve: the check refuses it on the others)."""
    backend = get_backend(settings.backend)
    backend.check(command)
    assert backend.storage is not None, f"{backend.name} serves {command} without a storage"
    return _load(backend.storage)


def open_storage(settings: Settings) -> Storage:
    """The configured local store (it must exist)."""
    backend = get_backend(settings.backend)
    assert backend.storage is not None, f"{backend.name} is not a local backend"
    return _load(backend.storage).open(settings)
