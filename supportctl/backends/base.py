"""The interface every backend implements, and the listing query they all answer.

The service layer (supportctl.service) holds the rules of SPEC §3; a backend only
stores and fetches documents.  Writes go through ``update_ticket`` /
``create_ticket``, which apply a caller's function to the current state under the
backend's own concurrency control, so no update is ever lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from supportctl.errors import UsageError
from supportctl.models import Escalation, Org, Ticket, User


class DuplicateDocuments(UsageError):
    """Import documents whose id already exists; ``positions`` index the import list."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__("documents already exist")
        self.positions = positions


@dataclass(frozen=True)
class Prefilter:
    """Necessary conditions a backend may use to skip tickets before decoding them.

    The service still applies every rule exactly; a backend that ignores this is correct,
    only slower.  ``fields``: the field must equal one of the values.  ``mentions``: at
    least one of these strings is a value somewhere in the summary.
    """

    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    mentions: frozenset[str] | None = None


@dataclass
class CheckReport:
    """What ``store check`` found and, with ``--repair``, what it did."""

    problems: list[str] = field(default_factory=list)  # damage that remains
    repaired: list[str] = field(default_factory=list)  # what --repair fixed
    info: list[str] = field(default_factory=list)  # counts and notes

    @property
    def healthy(self) -> bool:
        return not self.problems


class Backend(ABC):
    """Storage of orgs, users, tickets and escalations."""

    name: str = ""
    #: Commands this backend can serve (SPEC §6); others exit 2 before doing anything.
    capabilities: frozenset[str] = frozenset()

    def make_service(self, username: str | None, *, sla_policy: Any = None) -> Any:
        """The service layer over this backend, acting as ``username``."""
        from supportctl.service import Service

        return Service(self, username, sla_policy=sla_policy)

    # -- directory ----------------------------------------------------------------------------
    @abstractmethod
    def get_user(self, username: str) -> User | None: ...

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def get_org(self, org_id: str) -> Org | None: ...

    @abstractmethod
    def list_orgs(self) -> list[Org]: ...

    # -- tickets ------------------------------------------------------------------------------
    @abstractmethod
    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    @abstractmethod
    def ticket_summaries(self, prefilter: Prefilter | None = None) -> Iterable[dict[str, Any]]:
        """Tickets in their summary form (``Ticket.summary()``) plus ``_sla``, their SLA
        marks (``supportctl.sla.marks``), in no particular order: every ticket, or at least
        those that may pass ``prefilter``. May be lazy (the json store streams its index):
        a damaged store may then raise while the rows are being read, not at the call."""

    @abstractmethod
    def update_ticket(self, ticket_id: str, change: Callable[[Ticket], Ticket | None]) -> Ticket:
        """Apply ``change`` to the current ticket atomically; ``None`` means nothing changed."""

    @abstractmethod
    def create_ticket(self, make: Callable[[str], Ticket]) -> Ticket:
        """Allocate an id, build the ticket with ``make(id)`` and store it."""

    @abstractmethod
    def update_with_escalation(
        self,
        ticket_id: str,
        change: Callable[[Ticket, Callable[[], str]], tuple[Ticket, Escalation] | None],
    ) -> tuple[Ticket, Escalation | None]:
        """Change a ticket and one escalation together, atomically; ``change`` gets the ticket
        and a function allocating a new escalation id (``CP-…``)."""

    # -- attachment bytes ---------------------------------------------------------------------
    @abstractmethod
    def put_blob(self, sha256: str, data: bytes) -> None:
        """Keep attachment bytes under their SHA-256 (the same bytes are kept once)."""

    @abstractmethod
    def get_blob(self, sha256: str) -> bytes | None: ...

    # -- escalations --------------------------------------------------------------------------
    @abstractmethod
    def get_escalation(self, escalation_id: str) -> Escalation | None: ...

    @abstractmethod
    def list_escalations(self) -> list[Escalation]: ...

    # -- whole store --------------------------------------------------------------------------
    @abstractmethod
    def import_documents(self, docs: list[tuple[str, Any]]) -> dict[str, int]:
        """Add validated ``(kind, document)`` pairs all at once, or nothing."""

    @abstractmethod
    def export_documents(self) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def check(self, *, repair: bool = False) -> CheckReport:
        """Verify the backend's own storage (`store check`); local stores only."""
        raise UsageError(f"`store check` is not supported by the `{self.name}` backend")
