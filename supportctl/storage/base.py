"""The storage interface: what a local store offers the local service and store admin.

The local service (``supportctl.service``) holds the rules of SPEC §3; a storage only
keeps and fetches documents and applies no rule.  Writes go through ``update_ticket`` /
``create_ticket``, which apply a caller's function to the current state under the
store's own concurrency control, so no update is ever lost.  Store administration
(``supportctl.storage.admin``: init, import, export, check, tokens) uses the rest.

The json directory (``supportctl.storage.jsonstore``) is the first implementation.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from supportctl.errors import UsageError
from supportctl.models import Escalation, Org, Ticket, User

#: Seconds an idempotency record answers for its key (SPEC §7); an older one is replaced.
IDEMPOTENCY_TTL = 24 * 3600.0


class RequestRecorded(Exception):  # not an error: the request was served, once
    """A change armed with ``record_with_next_change`` was not made: by the time it would
    have committed, a live record of its key was there, committed by another process that
    served the same request meanwhile (a client's retry that raced its first try). Nothing
    was changed; the caller answers from that record."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


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
    least one of these strings is a value somewhere in the summary.  ``involves``: this
    user is the requester, a cc user or the assignee (a store with those columns uses it).
    """

    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    mentions: frozenset[str] | None = None
    involves: str | None = None


@dataclass(frozen=True)
class TicketFilter:
    """Exact conditions on a ticket's listing row, every one of which must hold: the query's
    filters and the caller's visibility, as the service worked them out (the rules live
    there; a store only evaluates these).  Unlike ``Prefilter``, a store that answers a
    ``ListRequest`` must apply every field exactly.

    ``equals``: the field (``status``, ``type``, ``category``, ``priority``, ``org``,
    ``requester``, ``assignee``, ``group``, ``resolution``) equals one of the values (None:
    the field is null); a store that does not know a field answers None.
    ``involves``: this user is the requester, a cc user or the assignee.  ``tags``: every
    one of these is among the ticket's tags.  ``created_from`` / ``created_to``:
    ``created_at >= / <=`` (RFC 3339 UTC strings, compared as strings); ``updated_before``:
    ``updated_at <`` it.  ``search``: this casefolded text is a substring of the casefolded
    subject or of a casefolded message body (notes included only when ``search_notes``).
    """

    equals: tuple[tuple[str, frozenset[str | None]], ...] = ()
    involves: str | None = None
    tags: frozenset[str] = frozenset()
    created_from: str | None = None
    created_to: str | None = None
    updated_before: str | None = None
    search: str | None = None
    search_notes: bool = False


#: The orders a ``ListRequest`` may ask for (the service's sort keys, SPEC §4): ``created``
#: and ``updated`` by that time then the id; ``priority`` and ``status`` by rank, then
#: created, then the id; ``id`` by the id (numeric ids in numeric order, after the others).
LIST_SORTS = ("created", "updated", "priority", "status", "id")


@dataclass(frozen=True)
class ListRequest:
    """A whole listing a store may answer itself: the rows that pass ``where``, in the
    ``sort`` order (largest first unless ``asc``), the first ``limit`` (0: all)."""

    where: TicketFilter
    sort: str
    asc: bool
    limit: int


@dataclass
class ListPage:
    """A store's answer to a ``ListRequest``: the rows (as ``ticket_summaries`` gives them)
    and how many passed ``where`` before the limit."""

    rows: list[dict[str, Any]]
    total: int


@dataclass
class CheckReport:
    """What ``store check`` found and, with ``--repair``, what it did."""

    problems: list[str] = field(default_factory=list)  # damage that remains
    repaired: list[str] = field(default_factory=list)  # what --repair fixed
    info: list[str] = field(default_factory=list)  # counts and notes

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass
class TokenRecord:
    """An API token of `supportctl serve` as stored: its hash, never the token."""

    id: str
    user: str
    sha256: str
    created_at: str
    expires_at: str | None = None  # None: until revoked

    def public(self) -> dict[str, str | None]:
        """What `store token list` shows: never the hash, let alone the token."""
        return {
            "id": self.id,
            "user": self.user,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


class Storage(ABC):
    """Storage of orgs, users, tickets, escalations, attachment bytes and API tokens."""

    #: Where the store is, as users name it (a directory; later a database URL).
    location: str = ""

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def open(cls, settings: Any, *, create: bool = False, checking: bool = False) -> Storage:
        """The store the resolved settings name; ``create`` makes an empty one if needed;
        ``checking`` opens it for `store check` even when its own metadata is damaged."""

    @classmethod
    @abstractmethod
    def exists_for(cls, settings: Any) -> bool:
        """Whether the settings name an existing store."""

    # -- directory ----------------------------------------------------------------------------
    @abstractmethod
    def get_user(self, username: str) -> User | None: ...

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def get_org(self, org_id: str) -> Org | None: ...

    @abstractmethod
    def list_orgs(self) -> list[Org]: ...

    def update_user(self, username: str, change: Callable[[User], User | None]) -> User:
        """Apply ``change`` to a copy of the user atomically (None: nothing changed); the
        account pages (SPEC §14) change a user's ``support_access``. NotFound if absent."""
        raise NotImplementedError(f"{type(self).__name__} cannot change users yet")

    def update_org(self, org_id: str, change: Callable[[Org], Org | None]) -> Org:
        """Apply ``change`` to a copy of the org atomically (None: nothing changed); the
        account pages (SPEC §14) change its billing contacts. NotFound if absent."""
        raise NotImplementedError(f"{type(self).__name__} cannot change orgs yet")

    # -- tickets ------------------------------------------------------------------------------
    @abstractmethod
    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    @abstractmethod
    def ticket_summaries(self, prefilter: Prefilter | None = None) -> Iterable[dict[str, Any]]:
        """Tickets in their summary form (``Ticket.summary()``) plus ``_sla``, their SLA
        marks (``supportctl.sla.marks``), in no particular order: every ticket, or at least
        those that may pass ``prefilter``. May be lazy (the json store streams its index):
        a damaged store may then raise while the rows are being read, not at the call."""

    def list_page(self, request: ListRequest) -> ListPage | None:
        """The listing ``request`` describes, sorted and limited by the store itself, or None
        when this store cannot answer it exactly (the service then filters, sorts and limits
        ``ticket_summaries`` itself, which is what this default leaves it to do)."""
        return None

    @abstractmethod
    def update_ticket(self, ticket_id: str, change: Callable[[Ticket], Ticket | None]) -> Ticket:
        """Apply ``change`` to the current ticket atomically; ``None`` means nothing changed."""

    def update_pair(
        self,
        ticket_id: str,
        other_id: str,
        change: Callable[[Ticket, Ticket], tuple[Ticket, Ticket] | None],
    ) -> tuple[Ticket, Ticket]:
        """Apply ``change`` to two tickets at once, atomically: both changed or neither,
        across a crash at any instant (`tickets merge`, SPEC §16). ``change`` gets both
        current tickets in argument order and returns both changed, or None for no change;
        NotFound if either is absent. Stores lock the two in one order (ids ascending), so
        two changes of overlapping pairs never wait on each other in a circle."""
        raise NotImplementedError(f"{type(self).__name__} cannot change two tickets at once")

    @abstractmethod
    def create_ticket(self, make: Callable[[str], Ticket]) -> Ticket:
        """Allocate an id, build the ticket with ``make(id)`` and store it."""

    @abstractmethod
    def update_with_escalation(
        self,
        ticket_id: str,
        change: Callable[[Ticket, Callable[[], str]], tuple[Ticket, Escalation | None] | None],
    ) -> tuple[Ticket, Escalation | None]:
        """Change a ticket and one escalation together, atomically; ``change`` gets the ticket
        and a function allocating a new escalation id (``CP-…``), and returns the changed
        ticket and escalation (None: the escalation stays as it is), or None for no change."""

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

    @abstractmethod
    def check(self, *, repair: bool = False) -> CheckReport:
        """Verify the store (`store check`); with ``repair``, rebuild what is derivable."""

    # -- store administration -----------------------------------------------------------------
    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Hold the whole store exclusively (store-wide administration: demo, tokens)."""

    @abstractmethod
    def is_empty(self) -> bool: ...

    @property
    @abstractmethod
    def is_demo(self) -> bool:
        """Whether `store init --demo` filled this store."""

    @abstractmethod
    def mark_demo(self) -> None: ...

    # -- idempotency records (a POST retried with its key is applied once) -------------------
    @abstractmethod
    def get_request(self, key: str) -> dict[str, Any] | None:
        """The record kept for an Idempotency-Key (a hash), or None."""

    @abstractmethod
    def put_request(self, key: str, record: dict[str, Any]) -> None:
        """Keep (or replace) the record of a request's answer."""

    @abstractmethod
    def prune_requests(self, older_than: float) -> None:
        """Forget records stored before ``older_than`` (epoch seconds)."""

    @abstractmethod
    def record_with_next_change(self, key: str, make: Callable[[Ticket], dict[str, Any]]) -> None:
        """The next ticket change commits together with ``make(changed ticket)`` as the
        record of ``key``: both or neither, across a crash at any instant. A store that
        other processes share raises ``RequestRecorded`` instead of making the change when
        a live record of ``key`` (stored less than IDEMPOTENCY_TTL before the new one)
        committed meanwhile."""

    # -- API tokens (SPEC §7, §9) -------------------------------------------------------------
    @abstractmethod
    def list_tokens(self) -> list[TokenRecord]:
        """Every token record; a running server calls this per request, so keep it cheap."""

    @abstractmethod
    def save_tokens(self, records: list[TokenRecord]) -> None:
        """Replace the token records (the caller holds ``transaction()``)."""
