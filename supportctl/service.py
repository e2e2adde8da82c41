"""The rules of SPEC §3: who may see and do what.  Pure Python: no click, no I/O of its own.

Every backend is driven through this layer, so the rules are the same whichever stores
the tickets.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from supportctl.backends.base import Backend, DuplicateDocuments, Prefilter
from supportctl.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, UsageError
from supportctl.models import (
    CATEGORIES,
    KINDS,
    PRIORITIES,
    RESOLUTIONS,
    STAGES,
    STATUSES,
    TICKET_TYPES,
    Attachment,
    Escalation,
    Event,
    Message,
    Org,
    Ticket,
    User,
    id_sort_key,
)
from supportctl.sla import SLA_FILTERS, SlaPolicy
from supportctl.sla import assess as sla_assess
from supportctl.sla import evaluate as sla_evaluate
from supportctl.sla import state as sla_state
from supportctl.timeutil import back, format_ts, now

# SPEC §3 attachments (000): per message, per file, allowed extensions.
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 512_000
CONTENT_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "har": "application/json",
}
ALLOWED_EXTENSIONS = tuple(CONTENT_TYPES)
CLOSED_MESSAGE = (
    "This ticket has been closed. If you have more questions, "
    "open a new ticket and reference ticket {id}."
)
FEEDBACK_AGAIN = "Thank you — feedback for ticket {id} was already received."
FEDRAMP_REFUSAL = (
    "FedRAMP users cannot view support ticket history: FedRAMP regulations do not allow it"
)
SORT_KEYS = ("created", "updated", "priority", "status", "id")
SCOPES = ("mine", "org")
_PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}  # low=0 … urgent=3
# Lifecycle order; "largest first" (the default) puts the newest state, `new`, first.
_STATUS_RANK = {s: len(STATUSES) - i for i, s in enumerate(STATUSES)}


@dataclass
class TicketQuery:
    """The filters of `tickets list` (SPEC §4, §9)."""

    scope: str = "mine"
    org: str | None = None
    statuses: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignee: str | None = None  # a username, "@me" or "none"
    requester: str | None = None
    tags: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    idle: timedelta | None = None
    search: str | None = None
    sort: str = "created"
    asc: bool = False
    limit: int = 50  # 0 = all
    sla: str | None = None  # breached, at-risk or ok (SPEC §10)


@dataclass
class ListResult:
    tickets: list[dict[str, Any]]  # summaries (or full documents when the thread was asked for)
    total: int  # how many matched before --limit


@dataclass
class ProxyEntry:
    username: str
    effective: bool
    source: str  # "override" or "account"

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "effective": self.effective, "source": self.source}


@dataclass
class TicketView:
    """What `tickets show` draws: the ticket as this viewer may see it, and its context."""

    ticket: Ticket
    viewer: User
    proxy_access: list[ProxyEntry]
    escalation: Escalation | None
    users: dict[str, User] = field(default_factory=dict)
    sla: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrgView:
    """What `org view` shows: everything for admins and agents, the admins for users."""

    org: Org
    full: bool
    users: list[User]
    ticket_counts: dict[str, int] = field(default_factory=dict)
    open_escalations: list[Escalation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """SPEC §9: ``{org, users, ticket_counts, open_escalations}``, or for users
        ``{org: {id, name}, admins: [...]}``."""
        if not self.full:
            return {
                "org": {"id": self.org.id, "name": self.org.name},
                "admins": [
                    {"username": u.username, "name": u.name, "email": u.email} for u in self.users
                ],
            }
        return {
            "org": self.org.to_dict(),
            "users": [u.to_dict() for u in self.users],
            "ticket_counts": self.ticket_counts,
            "open_escalations": [e.to_dict() for e in self.open_escalations],
        }


SWEEP_ACTIONS = ("close", "remind", "expire")
REMINDER_BODY = (
    "Reminder: this ticket is waiting for your reply. Reply to keep it open; "
    "it may be closed if we do not hear from you."
)


@dataclass(frozen=True)
class SweepRule:
    """One rule of `tickets sweep` (SPEC §4, §9): which tickets, how idle, what to do."""

    name: str
    action: str
    idle: timedelta
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()

    @property
    def effective_statuses(self) -> tuple[str, ...]:
        """The rule's statuses, else the action's own: close → resolved, expire → new,
        remind → pending."""
        default = {"close": ("resolved",), "expire": ("new",), "remind": ("pending",)}
        return self.statuses or default[self.action]

    def selects(self, ticket: dict[str, Any], cutoff: str) -> bool:
        return (
            ticket["status"] in self.effective_statuses
            and ticket["updated_at"] < cutoff
            and (not self.priorities or ticket["priority"] in self.priorities)
            and (not self.types or ticket["type"] in self.types)
            and (not self.orgs or ticket["org"] in self.orgs)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "idle_seconds": int(self.idle.total_seconds()),
            "statuses": list(self.effective_statuses),
            "priorities": list(self.priorities),
            "types": list(self.types),
            "orgs": list(self.orgs),
        }


#: SPEC §4 (001): resolved tickets are closed after two weeks without activity.
BUILTIN_SWEEP_RULE = SweepRule(
    name="builtin", action="close", idle=timedelta(days=14), statuses=("resolved",)
)


@dataclass
class SweepOutcome:
    ticket_id: str
    rule: str
    action: str
    result: str  # closed, expired, reminded; would-…; skipped; failed
    detail: str = ""
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket_id,
            "rule": self.rule,
            "action": self.action,
            "result": self.result,
            "detail": self.detail,
        }


@dataclass
class NewAttachment:
    name: str
    data: bytes


@dataclass
class TicketChanges:
    """`tickets update` flags; None means "leave as it is"."""

    status: str | None = None
    priority: str | None = None
    assignee: str | None = None  # a username, "@me" or "none"
    group: str | None = None  # "" clears the group
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    tags: tuple[str, ...] | None = None  # the full new list (REST PATCH), instead of add/remove

    @property
    def empty(self) -> bool:
        return (
            self.status is None
            and self.priority is None
            and self.assignee is None
            and self.group is None
            and not self.add_tags
            and not self.remove_tags
            and self.tags is None
        )


@dataclass
class ImportLine:
    number: int
    kind: str
    doc: Any


class Service:
    def __init__(
        self,
        backend: Backend,
        username: str | None,
        *,
        clock: Callable[[], datetime] = now,
        sla_policy: SlaPolicy | None = None,
    ) -> None:
        self.backend = backend
        self.username = username
        self.clock = clock
        self.sla_policy = sla_policy or SlaPolicy()
        self._actor: User | None = None

    # -- identity -----------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        """The acting user (SPEC §6): configured, and present in the store; else exit 4."""
        if self._actor is None:
            if not self.username:
                raise PermissionDenied(
                    "no user configured: commands on the json backend act as a user of the store",
                    hint="pass --user NAME, set SUPPORTCTL_USER, "
                    "or run `supportctl config set user NAME`",
                )
            user = self.backend.get_user(self.username)
            if user is None:
                raise PermissionDenied(
                    f"unknown user {self.username!r}: no such user in the store",
                    hint="act as an existing user with --user NAME, SUPPORTCTL_USER or "
                    "`supportctl config set user NAME`",
                )
            self._actor = user
        return self._actor

    def require_history_access(self) -> User:
        """FedRAMP users may not read ticket history (000); refuse with the reason."""
        return self._refuse_fedramp()

    def _refuse_fedramp(self) -> User:
        actor = self.actor
        if actor.fedramp:
            raise PermissionDenied(FEDRAMP_REFUSAL)
        return actor

    # -- visibility ---------------------------------------------------------------------------
    @staticmethod
    def can_see(user: User, ticket: dict[str, Any] | Ticket) -> bool:
        """SPEC §3: requester, cc users, admins of the requester's org, agents."""
        doc = ticket if isinstance(ticket, dict) else ticket.__dict__
        if user.role == "agent":
            return True
        if doc["requester"] == user.username or user.username in doc["cc"]:
            return True
        return user.role == "admin" and doc["org"] == user.org

    @staticmethod
    def visible_copy(user: User, ticket: Ticket) -> Ticket:
        """The ticket with internal notes (and their events) removed for anyone but agents."""
        if user.is_agent:
            return ticket
        return replace(
            ticket,
            messages=[m for m in ticket.messages if m.kind != "note"],
            events=[e for e in ticket.events if e.action != "noted"],
        )

    def get_visible_ticket(self, ticket_id: str) -> Ticket:
        actor = self._refuse_fedramp()
        if not ticket_id.strip():
            raise UsageError("a ticket ID must not be empty")
        ticket = self.backend.get_ticket(ticket_id)
        if ticket is None or not self.can_see(actor, ticket):
            raise NotFound(f"ticket {ticket_id} not found")
        return self.visible_copy(actor, ticket)

    # -- reading ------------------------------------------------------------------------------
    def list_tickets(self, query: TicketQuery, *, with_thread: bool = False) -> ListResult:
        actor = self._refuse_fedramp()
        if query.scope not in SCOPES:
            raise UsageError(f"invalid scope {query.scope!r}; valid scopes: {', '.join(SCOPES)}")
        if query.sort not in SORT_KEYS:
            raise UsageError(f"invalid sort {query.sort!r}; valid sorts: {', '.join(SORT_KEYS)}")
        if query.limit < 0:
            raise UsageError("--limit must be 0 (all) or a positive number")
        if query.sla is not None and query.sla not in SLA_FILTERS:
            raise UsageError(f"invalid --sla {query.sla!r}; valid: {', '.join(SLA_FILTERS)}")
        selected = self._select(actor, query)
        moment = self.clock()
        if query.sla is not None:
            selected = (r for r in selected if sla_state(self._sla(r, moment)) == query.sla)
        key = _sort_key(query.sort)
        if query.limit:
            # The first N of a sort, streamed: only N rows are kept (same order as a sort,
            # ties included); the rest are only counted.
            counted = [0]

            def count(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                for row in rows:
                    counted[0] += 1
                    yield row

            pick = heapq.nsmallest if query.asc else heapq.nlargest
            rows = pick(query.limit, count(selected), key=key)
            total = counted[0]
        else:
            rows = list(selected)
            rows.sort(key=key, reverse=not query.asc)
            total = len(rows)
        if with_thread:
            out = []
            for row in rows:
                doc = self._full_doc(actor, row["id"])
                doc["sla"] = self._sla(row, moment)
                out.append(doc)
            return ListResult(tickets=out, total=total)
        return ListResult(tickets=[self._with_sla(r, moment) for r in rows], total=total)

    def _select(self, actor: User, query: TicketQuery) -> Iterator[dict[str, Any]]:
        """The index rows the query and the caller's visibility select, unsorted, streamed."""
        match = self._matcher(actor, query)
        summaries = self.backend.ticket_summaries(self._prefilter(actor, query))
        rows = (row for row in summaries if match(row))
        if query.search:
            rows = self._search(actor, rows, query.search)
        return rows

    def _sla(self, row: dict[str, Any], moment: datetime) -> dict[str, Any]:
        cached = row.get("sla")
        if cached is not None:
            return cached
        row["sla"] = sla_evaluate(row, row.get("_sla") or {}, self.sla_policy, moment)
        return row["sla"]

    def _with_sla(self, row: dict[str, Any], moment: datetime) -> dict[str, Any]:
        """The listing form of SPEC §10: the summary and its computed ``sla`` object."""
        out = {k: v for k, v in row.items() if k != "_sla"}
        out["sla"] = self._sla(row, moment)
        return out

    def sla_of(self, ticket: Ticket) -> dict[str, Any]:
        """The ``sla`` object of a whole ticket (for `show -o json` and changed tickets)."""
        from supportctl.sla import marks

        agents = {u.username for u in self.backend.list_users() if u.role == "agent"}
        return sla_evaluate(ticket.summary(), marks(ticket, agents), self.sla_policy, self.clock())

    def ticket_json(self, ticket: Ticket) -> dict[str, Any]:
        """A ticket as JSON output shows it: as the caller may see it, with its ``sla``."""
        doc = self.visible_copy(self.actor, ticket).to_dict()
        doc["sla"] = self.sla_of(ticket)
        return doc

    def _full_doc(self, actor: User, ticket_id: str) -> dict[str, Any]:
        ticket = self.backend.get_ticket(ticket_id)
        if ticket is None:  # vanished since the index was read
            raise NotFound(f"ticket {ticket_id} not found")
        return self.visible_copy(actor, ticket).to_dict()

    def _matcher(self, actor: User, query: TicketQuery) -> Callable[[dict[str, Any]], bool]:
        """One predicate from the scope and every filter (different flags must all hold)."""
        checks: list[Callable[[dict[str, Any]], bool]] = []
        me = actor.username
        if query.scope == "org":
            if actor.role == "user":
                raise PermissionDenied(
                    "--scope org is for brand admins and agents; you are a user",
                    hint="your own tickets are listed with --scope mine (the default)",
                )
            if actor.role == "admin":
                if query.org and query.org != actor.org:
                    raise PermissionDenied(
                        f"you may list only your own organisation's tickets ({actor.org})"
                    )
                org = actor.org
                checks.append(lambda t: t["org"] == org)
        else:
            checks.append(lambda t: t["requester"] == me or me in t["cc"] or t["assignee"] == me)
        if query.org:
            wanted_org = query.org
            checks.append(lambda t: t["org"] == wanted_org)
        for key, values in (
            ("status", query.statuses),
            ("type", query.types),
            ("category", query.categories),
            ("priority", query.priorities),
        ):
            if values:
                allowed = frozenset(values)
                checks.append(lambda t, key=key, allowed=allowed: t[key] in allowed)
        if query.assignee is not None:
            wanted = {"@me": me, "none": None}.get(query.assignee, query.assignee)
            checks.append(lambda t: t["assignee"] == wanted)
        if query.requester:
            requester = query.requester
            checks.append(lambda t: t["requester"] == requester)
        if query.tags:
            tags = frozenset(query.tags)
            checks.append(lambda t: tags.issubset(t["tags"]))
        # RFC 3339 UTC strings of one fixed form compare in time order.
        if query.since:
            since = format_ts(query.since)
            checks.append(lambda t: t["created_at"] >= since)
        if query.until:
            until = format_ts(query.until)
            checks.append(lambda t: t["created_at"] <= until)
        if query.idle is not None:
            cutoff = format_ts(back(self.clock(), query.idle))
            checks.append(lambda t: t["updated_at"] < cutoff)  # strictly older

        def match(t: dict[str, Any]) -> bool:  # a plain loop: faster than all() per row
            for check in checks:  # noqa: SIM110
                if not check(t):
                    return False
            return True

        return match

    @staticmethod
    def _prefilter(actor: User, query: TicketQuery) -> Prefilter:
        """Necessary conditions of the query, for backends that can skip tickets early."""
        fields: dict[str, frozenset[str]] = {}
        for key, values in (
            ("status", query.statuses),
            ("type", query.types),
            ("category", query.categories),
            ("priority", query.priorities),
        ):
            if values:
                fields[key] = frozenset(values)
        if query.org:
            fields["org"] = frozenset({query.org})
        elif query.scope == "org" and actor.role == "admin":
            fields["org"] = frozenset({actor.org})
        if query.requester:
            fields["requester"] = frozenset({query.requester})
        mentions = None
        if query.scope == "mine":
            mentions = frozenset({actor.username})
        return Prefilter(fields=fields, mentions=mentions)

    def _search(
        self, actor: User, rows: Iterable[dict[str, Any]], text: str
    ) -> Iterator[dict[str, Any]]:
        """Case-insensitive substring over the subject and the bodies the caller may see."""
        needle = text.casefold()
        for row in rows:
            if needle in row["subject"].casefold():
                yield row
                continue
            ticket = self.backend.get_ticket(row["id"])
            if ticket is None:
                continue
            if any(
                needle in m.body.casefold()
                for m in ticket.messages
                if m.kind != "note" or actor.is_agent
            ):
                yield row

    def show_ticket(self, ticket_id: str) -> TicketView:
        ticket = self.get_visible_ticket(ticket_id)
        users = {}
        for name in [ticket.requester, *ticket.cc, ticket.assignee]:
            if name and name not in users:
                user = self.backend.get_user(name)
                if user is not None:
                    users[name] = user
        escalation = None
        if ticket.escalation_id:
            escalation = self.backend.get_escalation(ticket.escalation_id)
        return TicketView(
            ticket=ticket,
            viewer=self.actor,
            proxy_access=self.proxy_entries(ticket, users),
            escalation=escalation,
            users=users,
            sla=self.sla_of(ticket),
        )

    @staticmethod
    def proxy_entries(ticket: Ticket, users: dict[str, User]) -> list[ProxyEntry]:
        """SPEC §5: the ticket's override if set, else the user's account default."""
        entries = []
        for name in dict.fromkeys([ticket.requester, *ticket.cc]):
            if name in ticket.proxy_access:
                entries.append(ProxyEntry(name, ticket.proxy_access[name], "override"))
            else:
                user = users.get(name)
                entries.append(ProxyEntry(name, bool(user and user.support_access), "account"))
        return entries

    # -- import / export ----------------------------------------------------------------------
    def import_lines(self, lines: Iterable[bytes]) -> dict[str, int]:
        """SPEC §4, §9: check every line first; any bad line means nothing is imported."""
        return self.import_checked(check_import(lines, self.backend))

    def import_checked(self, parsed: list[ImportLine]) -> dict[str, int]:
        """Import lines already checked by ``check_import``; ids taken meanwhile are bad lines."""
        try:
            return self.backend.import_documents([(p.kind, p.doc) for p in parsed])
        except DuplicateDocuments as exc:
            raise _import_error([_exists(parsed[i]) for i in exc.positions]) from None

    def export_documents(self) -> Iterable[dict[str, Any]]:
        for kind, doc in self.backend.export_documents():
            yield {"kind": kind, **doc}

    # -- working tickets (SPEC §3, §9) -------------------------------------------------------
    def _event(self, action: str, **detail: Any) -> Event:
        return Event(
            at=format_ts(self.clock()), actor=self.actor.username, action=action, detail=detail
        )

    def _visible_or_not_found(self, ticket: Ticket) -> None:
        if not self.can_see(self.actor, ticket):
            raise NotFound(f"ticket {ticket.id} not found")

    def _store_attachments(self, files: list[NewAttachment]) -> list[Attachment]:
        """Check every file, then keep the bytes (content-addressed) before any reference."""
        check_attachments([(f.name, len(f.data)) for f in files])
        import hashlib

        out = []
        for f in files:
            digest = hashlib.sha256(f.data).hexdigest()
            self.backend.put_blob(digest, f.data)
            out.append(Attachment(f.name, len(f.data), digest, content_type_of(f.name)))
        return out

    def create_ticket(
        self,
        *,
        subject: str,
        body: str,
        type_: str = "web",
        category: str = "general",
        priority: str = "normal",
        cc: Iterable[str] = (),
        attachments: list[NewAttachment] | None = None,
    ) -> Ticket:
        """A new ticket by the acting user, who becomes its requester (status `new`)."""
        actor = self.actor
        validate_new_ticket(subject, body, type_, category, priority, cc)
        cc_users = list(dict.fromkeys(u for u in cc if u != actor.username))
        for name in cc_users:
            user = self.backend.get_user(name)
            # Users see only their own organisation: no hint that a user exists elsewhere.
            if user is None or (not actor.is_agent and user.org != actor.org):
                where = "" if actor.is_agent else " in your organisation"
                raise NotFound(f"no user {name}{where} (--cc)")
        stored = self._store_attachments(attachments or [])
        at = format_ts(self.clock())

        def make(ticket_id: str) -> Ticket:
            return Ticket(
                id=ticket_id,
                subject=subject.strip(),
                type=type_,
                category=category,
                status="new",
                priority=priority,
                requester=actor.username,
                org=actor.org,
                cc=cc_users,
                created_at=at,
                updated_at=at,
                messages=[
                    Message(
                        id="m1",
                        kind="chat" if type_ == "chat" else "email",
                        author=actor.username,
                        at=at,
                        body=body,
                        attachments=stored,
                    )
                ],
                events=[self._event("created")],
            )

        return self.backend.create_ticket(make)

    def reply(
        self,
        ticket_id: str,
        body: str,
        *,
        internal: bool = False,
        attachments: list[NewAttachment] | None = None,
    ) -> Ticket:
        """SPEC §3 reply: not on closed; a customer's reply reopens a resolved ticket."""
        actor = self.actor
        _check_body(body)
        if internal and not actor.is_agent:
            raise PermissionDenied("internal notes are for agents only")
        stored = self._store_attachments(attachments or [])

        def change(ticket: Ticket) -> Ticket:
            self._visible_or_not_found(ticket)
            if ticket.status == "closed":
                raise Conflict(
                    f"ticket {ticket.id} is closed; open a new ticket and reference {ticket.id}"
                )
            at = format_ts(self.clock())
            message = Message(
                id=_next_message_id(ticket),
                kind="note" if internal else "email",
                author=actor.username,
                at=at,
                body=body,
                attachments=stored,
            )
            ticket.messages.append(message)
            ticket.events.append(
                self._event("noted" if internal else "replied", message=message.id)
            )
            if ticket.status == "resolved" and not actor.is_agent:
                ticket.events.append(
                    self._event("status_changed", **{"from": "resolved", "to": "open"})
                )
                ticket.status = "open"
            ticket.updated_at = at
            return ticket

        return self.backend.update_ticket(ticket_id, change)

    def close(
        self, ticket_id: str, *, reason: str | None = None, comment: str | None = None
    ) -> tuple[Ticket, bool]:
        """SPEC §3 close: requester or agent; returns (ticket, changed). Re-closing is a no-op."""
        actor = self.actor
        if reason is not None:
            if not actor.is_agent:
                raise PermissionDenied("--reason is for agents; your close is recorded as solved")
            if reason not in RESOLUTIONS:
                raise UsageError(f"invalid reason {reason!r}; valid: {', '.join(RESOLUTIONS)}")
        if comment is not None:
            _check_body(comment, what="comment")
        changed = True

        def change(ticket: Ticket) -> Ticket | None:
            nonlocal changed
            self._visible_or_not_found(ticket)
            if not actor.is_agent and ticket.requester != actor.username:
                raise PermissionDenied(
                    f"only the requester ({ticket.requester}) or an agent may close ticket {ticket.id}"
                )
            if ticket.status == "closed":
                changed = False
                return None
            at = format_ts(self.clock())
            if comment:
                message = Message(_next_message_id(ticket), "email", actor.username, at, comment)
                ticket.messages.append(message)
                ticket.events.append(self._event("replied", message=message.id))
            resolution = reason or "solved"
            ticket.events.append(
                self._event(
                    "closed", **{"from": ticket.status, "to": "closed"}, resolution=resolution
                )
            )
            ticket.status, ticket.resolution = "closed", resolution
            ticket.closed_at = ticket.updated_at = at
            return ticket

        ticket = self.backend.update_ticket(ticket_id, change)
        return ticket, changed

    def feedback(
        self, ticket_id: str, rating: int, comment: str | None = None
    ) -> tuple[Ticket, bool]:
        """SPEC §3 feedback: the requester, on closed tickets, once; returns (ticket, changed)."""
        actor = self.actor
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise UsageError(f"the rating must be a whole number from 1 to 5 (got {rating!r})")
        changed = True

        def change(ticket: Ticket) -> Ticket | None:
            nonlocal changed
            self._visible_or_not_found(ticket)
            if ticket.requester != actor.username:
                raise PermissionDenied(
                    f"only the requester ({ticket.requester}) may give feedback on ticket {ticket.id}"
                )
            if ticket.status != "closed":
                raise Conflict(
                    f"ticket {ticket.id} is {ticket.status}; feedback is for closed tickets"
                )
            if ticket.feedback is not None:
                changed = False
                return None
            at = format_ts(self.clock())
            ticket.feedback = {"rating": rating, "comment": comment or None, "at": at}
            ticket.events.append(self._event("feedback", rating=rating))
            ticket.updated_at = at
            return ticket

        ticket = self.backend.update_ticket(ticket_id, change)
        return ticket, changed

    def update(
        self, ticket_id: str, changes: TicketChanges, *, if_match: str | None = None
    ) -> tuple[Ticket, list[Event]]:
        """SPEC §3 triage by agents; one event per changed field. Returns the ticket and the
        events this update added (none: nothing changed)."""
        actor = self.actor
        validate_changes(changes)
        assignee = self._resolve_assignee(changes.assignee)
        added: list[Event] = []

        def change(ticket: Ticket) -> Ticket | None:
            self._visible_or_not_found(ticket)
            if not actor.is_agent:
                raise PermissionDenied(f"only agents may update tickets; you are {_a(actor.role)}")
            if if_match is not None and if_match not in ("*", etag(ticket)):
                raise PreconditionFailed(
                    f"ticket {ticket.id} changed since you read it; read it again and retry"
                )
            events: list[Event] = []

            def record(action: str, old: Any, new: Any) -> None:
                events.append(self._event(action, **{"from": old, "to": new}))

            if ticket.status == "closed":
                if changes.status == "open" and ticket.resolution == "spam":
                    record("restored", "closed", "open")
                    ticket.status, ticket.resolution, ticket.closed_at = "open", None, None
                elif changes.status == "open":
                    raise Conflict(
                        f"ticket {ticket.id} was closed as {ticket.resolution}; only tickets "
                        "closed as spam can be restored"
                    )
                else:
                    raise Conflict(
                        f"ticket {ticket.id} is closed; a closed ticket does not change "
                        "(except restoring spam with --status open)"
                    )
            if changes.priority is not None and changes.priority != ticket.priority:
                record("priority_changed", ticket.priority, changes.priority)
                ticket.priority = changes.priority
            if changes.assignee is not None and assignee != ticket.assignee:
                record("assigned", ticket.assignee, assignee)
                ticket.assignee = assignee
                if ticket.status == "new" and assignee is not None and changes.status is None:
                    record("status_changed", "new", "open")
                    ticket.status = "open"
            if changes.status is not None and changes.status != ticket.status:
                record("status_changed", ticket.status, changes.status)
                ticket.status = changes.status
            if changes.group is not None:
                group = changes.group or None
                if group != ticket.group:
                    record("group_changed", ticket.group, group)
                    ticket.group = group
            if changes.add_tags or changes.remove_tags or changes.tags is not None:
                if changes.tags is not None:
                    tags = list(dict.fromkeys(changes.tags))
                else:
                    tags = [t for t in ticket.tags if t not in changes.remove_tags]
                    tags += [t for t in dict.fromkeys(changes.add_tags) if t not in tags]
                if tags != ticket.tags:
                    record("tags_changed", list(ticket.tags), tags)
                    ticket.tags = tags
            if not events:
                return None
            ticket.events.extend(events)
            ticket.updated_at = events[-1].at
            added[:] = events
            return ticket

        ticket = self.backend.update_ticket(ticket_id, change)
        return ticket, added

    def _resolve_assignee(self, value: str | None) -> str | None:
        if value is None or value == "none":
            return None
        if value == "@me":
            return self.actor.username
        user = self.backend.get_user(value)
        if user is None:
            raise NotFound(f"user {value} not found")
        if not user.is_agent:
            raise UsageError(f"{value} is not an agent; tickets are assigned to agents")
        return value

    def attachment(self, ticket_id: str, name: str) -> tuple[Attachment, bytes, int]:
        """The newest attachment called ``name`` the caller may see, its bytes, and how many
        attachments of the ticket have that name."""
        ticket = self.get_visible_ticket(ticket_id)
        found = [a for m in ticket.messages for a in m.attachments if a.name == name]
        if not found:
            names = sorted({a.name for m in ticket.messages for a in m.attachments})
            listing = f"; its attachments: {', '.join(names)}" if names else "; it has none"
            raise NotFound(f"ticket {ticket_id} has no attachment {name!r}{listing}")
        chosen = found[-1]
        data = self.backend.get_blob(chosen.sha256)
        if data is None:
            raise NotFound(
                f"the bytes of {name!r} are not in this store (only its metadata was imported)"
            )
        return chosen, data, len(found)

    # -- escalations (SPEC §2, §3, §4, §9) ---------------------------------------------------
    def list_escalations(
        self, *, scope: str = "mine", stages: tuple[str, ...] = ()
    ) -> list[Escalation]:
        """Escalations of the tickets in my scope (FedRAMP refused first), newest first."""
        self._refuse_fedramp()
        for stage in stages:
            if stage not in STAGES:
                raise UsageError(f"invalid stage {stage!r}; valid: {', '.join(STAGES)}")
        query = TicketQuery(scope=scope, limit=0)
        visible = {t["id"] for t in self.list_tickets(query).tickets}
        found = [
            e
            for e in self.backend.list_escalations()
            if e.ticket_id in visible and (not stages or e.stage in stages)
        ]
        return sorted(found, key=lambda e: (e.created_at, e.id), reverse=True)

    def get_escalation(
        self, escalation_id: str | None = None, *, ticket_id: str | None = None
    ) -> Escalation:
        """One escalation by id or by its ticket, if its ticket is visible (FedRAMP refused first)."""
        actor = self._refuse_fedramp()
        if ticket_id is not None:
            ticket = self.get_visible_ticket(ticket_id)
            if not ticket.escalation_id:
                raise NotFound(f"ticket {ticket_id} has no escalation")
            escalation_id = ticket.escalation_id
        esc = self.backend.get_escalation(escalation_id or "")
        if esc is None:
            raise NotFound(f"escalation {escalation_id} not found")
        ticket = self.backend.get_ticket(esc.ticket_id)
        if ticket is None or not self.can_see(actor, ticket):
            raise NotFound(f"escalation {escalation_id} not found")
        return esc

    def wait_for_stage(
        self,
        escalation_id: str | None,
        *,
        ticket_id: str | None = None,
        until: str = "resolved",
        interval: float = 30.0,
        timeout: float | None = None,
        on_change: Callable[[Escalation], None] = lambda esc: None,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> Escalation:
        """Poll until the escalation reaches ``until`` (or a later stage); Conflict on timeout."""
        import time

        sleep = sleep or time.sleep
        monotonic = monotonic or time.monotonic
        if until not in STAGES:
            raise UsageError(f"invalid stage {until!r}; valid: {', '.join(STAGES)}")
        if interval <= 0:
            raise UsageError("--interval must be a positive number of seconds")
        deadline = None if timeout is None else monotonic() + timeout
        esc = self.get_escalation(escalation_id, ticket_id=ticket_id)
        target = STAGES.index(until)
        while STAGES.index(esc.stage) < target:
            moment = monotonic()
            if deadline is not None and moment >= deadline:
                raise Conflict(
                    f"timed out after {timeout:g} s: escalation {esc.id} is at {esc.stage}, "
                    f"not yet {until}"
                )
            sleep(interval if deadline is None else min(interval, deadline - moment))
            latest = self.get_escalation(esc.id)
            if latest.stage != esc.stage:
                on_change(latest)
            esc = latest
        return esc

    def create_escalation(
        self, ticket_id: str, description: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        """Agents escalate a ticket: stage `submitted`, ticket status `escalated` (SPEC §3, §9)."""
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied("only agents may escalate tickets")
        _check_body(description, what="description")
        expected = _check_date(expected)

        def change(ticket: Ticket, allocate: Callable[[], str]) -> tuple[Ticket, Escalation]:
            if ticket.status == "closed":
                raise Conflict(f"ticket {ticket.id} is closed; closed tickets are not escalated")
            if ticket.escalation_id:
                current = self.backend.get_escalation(ticket.escalation_id)
                if current is not None and current.stage != "resolved":
                    raise Conflict(
                        f"ticket {ticket.id} already has escalation {current.id} at "
                        f"{current.stage}; advance it instead"
                    )
            at = format_ts(self.clock())
            esc = Escalation(
                id=allocate(),
                ticket_id=ticket.id,
                description=description.strip(),
                stage="submitted",
                timeline=[{"stage": "submitted", "at": at}],
                expected_resolution=expected,
                created_at=at,
                updated_at=at,
            )
            ticket.events.append(self._event("escalated", escalation_id=esc.id, stage="submitted"))
            if ticket.status != "escalated":
                ticket.events.append(
                    self._event("status_changed", **{"from": ticket.status, "to": "escalated"})
                )
            ticket.status = "escalated"
            ticket.escalation_id = esc.id
            ticket.updated_at = at
            return ticket, esc

        ticket, esc = self.backend.update_with_escalation(ticket_id, change)
        assert esc is not None
        return ticket, esc

    def advance_escalation(
        self, escalation_id: str, to: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        """Agents move an escalation to a later stage; `resolved` reopens the ticket."""
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied("only agents may advance escalations")
        if to not in STAGES:
            raise UsageError(f"invalid stage {to!r}; valid: {', '.join(STAGES)}")
        expected = _check_date(expected)
        esc = self.backend.get_escalation(escalation_id)
        if esc is None:
            raise NotFound(f"escalation {escalation_id} not found")

        def change(ticket: Ticket, allocate: Callable[[], str]) -> tuple[Ticket, Escalation]:
            current = self.backend.get_escalation(escalation_id)
            assert current is not None
            if STAGES.index(to) <= STAGES.index(current.stage):
                raise Conflict(
                    f"escalation {current.id} is at {current.stage}; it only moves forward "
                    f"({', '.join(STAGES[STAGES.index(current.stage) + 1 :]) or 'it is resolved'})"
                )
            if ticket.status == "closed":
                raise Conflict(f"ticket {ticket.id} is closed; its escalation no longer moves")
            at = format_ts(self.clock())
            current.timeline.append({"stage": to, "at": at})
            ticket.events.append(
                self._event(
                    "escalation_advanced",
                    escalation_id=current.id,
                    **{"from": current.stage, "to": to},
                )
            )
            current.stage = to
            current.updated_at = at
            if expected is not None:
                current.expected_resolution = expected
            if to == "resolved" and ticket.status == "escalated":
                ticket.events.append(
                    self._event("status_changed", **{"from": "escalated", "to": "open"})
                )
                ticket.status = "open"
            ticket.updated_at = at
            return ticket, current

        ticket, advanced = self.backend.update_with_escalation(esc.ticket_id, change)
        assert advanced is not None
        return ticket, advanced

    # -- proxy login access (SPEC §5) ----------------------------------------------------------
    def proxy_access(self, ticket_id: str) -> list[ProxyEntry]:
        ticket = self._visible(ticket_id)
        users = {n: u for n in [ticket.requester, *ticket.cc] if (u := self.backend.get_user(n))}
        return self.proxy_entries(ticket, users)

    def _visible(self, ticket_id: str) -> Ticket:
        ticket = self.backend.get_ticket(ticket_id)
        if ticket is None or not self.can_see(self.actor, ticket):
            raise NotFound(f"ticket {ticket_id} not found")
        return ticket

    def set_proxy_access(self, ticket_id: str, value: bool | None) -> tuple[ProxyEntry, bool]:
        """Set (or, with None, flip) my own proxy access on a ticket; returns (entry, changed).

        Setting stores an override even when it equals the account default (SPEC §9).
        """
        actor = self.actor
        changed = False

        def change(ticket: Ticket) -> Ticket | None:
            nonlocal changed
            self._visible_or_not_found(ticket)
            if actor.username not in (ticket.requester, *ticket.cc):
                raise PermissionDenied(
                    f"proxy access is set by each user on ticket {ticket.id} for themselves; "
                    "you are not on it"
                )
            if ticket.status == "closed":
                raise Conflict(f"ticket {ticket.id} is closed; proxy access no longer applies")
            overridden = actor.username in ticket.proxy_access
            effective = ticket.proxy_access.get(actor.username, actor.support_access)
            wanted = (not effective) if value is None else value
            if overridden and wanted == effective:
                return None
            ticket.proxy_access[actor.username] = wanted
            ticket.events.append(
                self._event(
                    "proxy_access_changed",
                    user=actor.username,
                    **{"from": effective, "to": wanted},
                )
            )
            ticket.updated_at = ticket.events[-1].at
            changed = True
            return ticket

        ticket = self.backend.update_ticket(ticket_id, change)
        entry = ProxyEntry(actor.username, ticket.proxy_access[actor.username], "override")
        return entry, changed

    # -- organisations (SPEC §4, §9; seed 002) ---------------------------------------------
    def org_view(self, org_id: str | None = None) -> OrgView:
        """Admins and agents see the whole org; users its name and brand admins (SPEC §9)."""
        actor = self.actor
        org_id = org_id or actor.org
        if org_id != actor.org and not actor.is_agent:
            raise PermissionDenied("only agents may view another organisation")
        org = self.backend.get_org(org_id)
        if org is None:
            raise NotFound(f"org {org_id} not found")
        members = [u for u in self.backend.list_users() if u.org == org_id]
        admins = [u for u in members if u.is_admin]
        if actor.role == "user":
            return OrgView(org=org, full=False, users=admins)
        counts = dict.fromkeys(STATUSES, 0)
        ticket_ids = set()
        for row in self.backend.ticket_summaries(Prefilter(fields={"org": frozenset({org_id})})):
            if row["org"] == org_id:
                counts[row["status"]] += 1
                ticket_ids.add(row["id"])
        open_escalations = sorted(
            (
                e
                for e in self.backend.list_escalations()
                if e.ticket_id in ticket_ids and e.stage != "resolved"
            ),
            key=lambda e: e.id,
        )
        return OrgView(org, True, members, counts, open_escalations)

    # -- sweeps (SPEC §4, §9; 001, 004) -------------------------------------------------------
    def sweep(
        self,
        rules: list[SweepRule],
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> list[SweepOutcome]:
        """Apply each rule to the tickets it selects (agents only).

        Every ticket is re-checked under the store's lock just before it is acted on, so a
        ticket changed meanwhile — by a person or a second sweep — is skipped, never acted
        on twice.  Failures are reported per ticket and do not stop the sweep.
        """
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied(f"tickets sweep is for agents; you are {_a(actor.role)}")
        outcomes: list[SweepOutcome] = []
        for rule in rules:
            cutoff = format_ts(back(self.clock(), rule.idle))
            for ticket_id in self._sweep_candidates(rule, cutoff):
                if dry_run:
                    outcomes.append(
                        SweepOutcome(ticket_id, rule.name, rule.action, f"would-{rule.action}")
                    )
                else:
                    outcomes.append(self._sweep_one(ticket_id, rule))
                if progress:
                    progress(1)
        return outcomes

    def _sweep_candidates(self, rule: SweepRule, cutoff: str) -> list[str]:
        """The ids a rule selects, in id order (each is re-checked before it is acted on)."""
        prefilter = Prefilter(fields={"status": frozenset(rule.effective_statuses)})
        return sorted(
            (t["id"] for t in self.backend.ticket_summaries(prefilter) if rule.selects(t, cutoff)),
            key=id_sort_key,
        )

    def _sweep_one(self, ticket_id: str, rule: SweepRule) -> SweepOutcome:
        done = {"close": "closed", "expire": "expired", "remind": "reminded"}[rule.action]
        skipped = ""

        def change(ticket: Ticket) -> Ticket | None:
            nonlocal skipped
            cutoff = format_ts(back(self.clock(), rule.idle))
            if not rule.selects(ticket.summary(), cutoff):
                skipped = f"changed since it was selected (now {ticket.status})"
                return None
            at = format_ts(self.clock())
            if rule.action == "remind":
                last = ticket.messages[-1] if ticket.messages else None
                if last is not None and last.kind == "system" and last.body == REMINDER_BODY:
                    skipped = "already reminded; waiting for the customer"
                    return None
                message = Message(
                    _next_message_id(ticket), "system", self.actor.username, at, REMINDER_BODY
                )
                ticket.messages.append(message)
                ticket.events.append(self._event("replied", message=message.id, reminder=True))
            else:
                resolution = "expired" if rule.action == "expire" else "solved"
                ticket.events.append(
                    self._event(
                        "closed",
                        **{"from": ticket.status, "to": "closed"},
                        resolution=resolution,
                        rule=rule.name,
                    )
                )
                ticket.status, ticket.resolution = "closed", resolution
                ticket.closed_at = at
            ticket.updated_at = at
            return ticket

        try:
            self.backend.update_ticket(ticket_id, change)
        except (NotFound, Conflict, PermissionDenied, UsageError) as exc:
            return SweepOutcome(
                ticket_id, rule.name, rule.action, "failed", exc.message, int(exc.exit_status)
            )
        if skipped:
            return SweepOutcome(ticket_id, rule.name, rule.action, "skipped", skipped)
        return SweepOutcome(ticket_id, rule.name, rule.action, done)

    # -- reports (SPEC §10) --------------------------------------------------------------------
    def report(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        scope: str = "mine",
        org: str | None = None,
        by: str = "priority",
    ) -> dict[str, Any]:
        """Every figure of SPEC §10 over the tickets created in the window that
        `tickets list` would show (users: their own only)."""
        from supportctl.report import DEFAULT_WINDOW, GROUP_FIELDS, build

        if by not in GROUP_FIELDS:
            raise UsageError(f"invalid --by {by!r}; valid: {', '.join(GROUP_FIELDS)}")
        if scope not in SCOPES:
            raise UsageError(f"invalid scope {scope!r}; valid scopes: {', '.join(SCOPES)}")
        moment = self.clock()
        until = until or moment
        since = since or back(until, DEFAULT_WINDOW)
        if since > until:
            raise UsageError("--since is after --until")
        query = TicketQuery(
            scope=scope if not org else "org", org=org, since=since, until=until, limit=0
        )
        actor = self._refuse_fedramp()
        if query.scope == "org" or org:
            self._matcher(actor, query)  # the permission checks of `tickets list`
        rows = list(self._select(actor, query))
        now_ts = moment.timestamp()
        for row in rows:  # a light sla: no due dates to format, 100,000 rows fast
            row["sla"] = sla_assess(row, row.get("_sla") or {}, self.sla_policy, now_ts)
        return build(
            rows,
            since=since,
            until=until,
            by=by,
            scope={"scope": query.scope, "org": org, "user": self.actor.username},
        )

    # -- directory ----------------------------------------------------------------------------
    def get_org(self, org_id: str) -> Org:
        org = self.backend.get_org(org_id)
        if org is None:
            raise NotFound(f"org {org_id} not found")
        return org


def validate_new_ticket(
    subject: str, body: str, type_: str, category: str, priority: str, cc: Any
) -> None:
    """`tickets create` input every backend refuses the same way (exit 2)."""
    if not subject.strip():
        raise UsageError("the subject must not be empty")
    _check_body(body)
    for value, allowed, name in (
        (type_, TICKET_TYPES, "type"),
        (category, CATEGORIES, "category"),
        (priority, PRIORITIES, "priority"),
    ):
        if value not in allowed:
            raise UsageError(f"invalid {name} {value!r}; valid: {', '.join(allowed)}")
    if not isinstance(cc, list | tuple) or not all(isinstance(u, str) for u in cc):
        raise UsageError("cc must be a list of usernames")


def validate_changes(changes: TicketChanges) -> None:
    """`tickets update` flags every backend refuses the same way (exit 2)."""
    if changes.empty:
        raise UsageError(
            "nothing to update: give --status, --priority, --assignee, --group, "
            "--add-tag or --remove-tag"
        )
    if changes.status is not None and changes.status not in STATUSES:
        raise UsageError(f"invalid status {changes.status!r}; valid: {', '.join(STATUSES)}")
    if changes.status == "closed":
        raise UsageError("close tickets with `supportctl tickets close` (it records a resolution)")
    if changes.status == "escalated":
        raise UsageError("escalate tickets with `supportctl escalations create`")
    if changes.priority is not None and changes.priority not in PRIORITIES:
        raise UsageError(f"invalid priority {changes.priority!r}; valid: {', '.join(PRIORITIES)}")


def _a(role: str) -> str:
    return {"user": "a user", "admin": "an admin", "agent": "an agent"}.get(role, role)


def sweep_rule_from_dict(doc: Any) -> SweepRule:
    """A rule as the REST API carries it (``SweepRule.to_dict``); UsageError when malformed."""
    if not isinstance(doc, dict):
        raise UsageError("each sweep rule must be an object")
    try:
        idle = timedelta(seconds=float(doc["idle_seconds"]))
        rule = SweepRule(
            name=str(doc.get("name") or "api"),
            action=doc["action"],
            idle=idle,
            statuses=tuple(doc.get("statuses") or ()),
            priorities=tuple(doc.get("priorities") or ()),
            types=tuple(doc.get("types") or ()),
            orgs=tuple(doc.get("orgs") or ()),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        raise UsageError("a sweep rule needs action and idle_seconds") from None
    if rule.action not in SWEEP_ACTIONS:
        raise UsageError(f"invalid sweep action {rule.action!r}; valid: {', '.join(SWEEP_ACTIONS)}")
    bad = [v for v in rule.statuses if v not in STATUSES or v == "closed"]
    if bad:
        raise UsageError(f"invalid sweep status {bad[0]!r}")
    return rule


def etag(ticket: Ticket) -> str:
    """The ticket's entity tag (SPEC §7): a hash of the whole stored document, quoted."""
    import hashlib

    canonical = json.dumps(ticket.to_dict(), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:24] + '"'


def check_attachments(files: list[tuple[str, int | None]]) -> None:
    """SPEC §3: every file is checked before anything is written; one error names them all.

    ``files`` holds (name, size) pairs; a size of None means the file could not be read.
    """
    problems = []
    if len(files) > MAX_ATTACHMENTS:
        problems.append(f"{len(files)} files attached, at most {MAX_ATTACHMENTS} per message")
    seen: set[str] = set()
    for name, size in files:
        if size is None:
            problems.append(f"{name}: no such file or not readable")
            continue
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name) or name in ("", ".", ".."):
            problems.append(f"{name!r}: the name has control characters or is empty")
            continue
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in ALLOWED_EXTENSIONS:
            problems.append(
                f"{name}: {'.' + ext if ext else 'no extension'} is not an allowed type "
                f"(allowed: {', '.join(ALLOWED_EXTENSIONS)})"
            )
        if size > MAX_ATTACHMENT_BYTES:
            problems.append(
                f"{name}: {size:,} bytes is over the limit of {MAX_ATTACHMENT_BYTES:,} bytes"
            )
        if name in seen:
            problems.append(f"{name}: attached twice")
        seen.add(name)
    if problems:
        raise UsageError("attachments refused, nothing written: " + "; ".join(problems))


def content_type_of(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def _check_body(body: str, what: str = "body") -> None:
    if not body or not body.strip():
        raise UsageError(f"empty {what}; nothing written")
    if "\x00" in body:
        raise UsageError(f"the {what} contains a NUL character; nothing written")


def _check_date(value: str | None) -> str | None:
    """`--expected DATE`: a calendar date, YYYY-MM-DD."""
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UsageError(f"invalid date {value!r}: use YYYY-MM-DD") from None


def _next_message_id(ticket: Ticket) -> str:
    taken = {m.id for m in ticket.messages}
    number = len(ticket.messages) + 1
    while f"m{number}" in taken:
        number += 1
    return f"m{number}"


def check_import(lines: Iterable[bytes], backend: Backend | None) -> list[ImportLine]:
    """Every check that needs no lock: syntax, fields, ids unique in the file, references.

    ``backend`` None checks against an empty store (before creating one).
    """
    import gc

    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of fresh objects: the cycle collector only slows this
    try:
        parsed, errors = parse_import(lines)
    finally:
        if collecting:
            gc.enable()
    if not errors:
        errors = _reference_errors(parsed, backend)
    if errors:
        raise _import_error(errors)
    return parsed


def parse_import(lines: Iterable[bytes]) -> tuple[list[ImportLine], list[str]]:
    """Parse and validate JSON Lines; return the documents and one error per bad line."""
    parsed: list[ImportLine] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            kind = obj.pop("kind", None)
            if kind not in KINDS:
                raise ValueError(f"'kind' must be one of {', '.join(KINDS)} (got {kind!r})")
            line = ImportLine(number, kind, KINDS[kind].from_dict(obj))
        except UnicodeDecodeError:
            errors.append(f"line {number}: not valid UTF-8")
        except RecursionError:
            errors.append(f"line {number}: nested too deeply")
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
        except (ValueError, TypeError) as exc:
            errors.append(f"line {number}: {exc}")
        else:
            key = (kind, _doc_key(line))
            if key in seen and kind != "attachment":
                errors.append(_exists(line))
            seen.add(key)
            parsed.append(line)
    return parsed, errors


def _reference_errors(parsed: list[ImportLine], backend: Backend | None) -> list[str]:
    """Every user, org, ticket and escalation a document names must exist somewhere."""
    user_orgs = {u.username: u.org for u in backend.list_users()} if backend else {}
    user_orgs.update({p.doc.username: p.doc.org for p in parsed if p.kind == "user"})
    users = set(user_orgs)
    orgs = {o.id for o in backend.list_orgs()} if backend else set()
    tickets: set[str] = set()
    escalations: set[str] = set()
    for p in parsed:
        if p.kind == "user":
            users.add(p.doc.username)
        elif p.kind == "org":
            orgs.add(p.doc.id)
        elif p.kind == "ticket":
            tickets.add(p.doc.id)
        elif p.kind == "escalation":
            escalations.add(p.doc.id)
    errors = []
    for p in parsed:
        missing = []
        if p.kind == "user" and p.doc.org not in orgs:
            missing.append(f"org {p.doc.org!r}")
        elif p.kind == "ticket":
            t: Ticket = p.doc
            if t.org not in orgs:
                missing.append(f"org {t.org!r}")
            requester_org = user_orgs.get(t.requester)
            if requester_org is not None and requester_org != t.org:
                errors.append(
                    f"line {p.number}: org {t.org!r} is not the org of requester "
                    f"{t.requester!r} ({requester_org!r})"
                )
            for name in dict.fromkeys([t.requester, *t.cc, t.assignee]):
                if name and name not in users:
                    missing.append(f"user {name!r}")
            if (
                t.escalation_id
                and t.escalation_id not in escalations
                and (backend is None or backend.get_escalation(t.escalation_id) is None)
            ):
                missing.append(f"escalation {t.escalation_id!r}")
        elif (
            p.kind == "escalation"
            and p.doc.ticket_id not in tickets
            and (backend is None or backend.get_ticket(p.doc.ticket_id) is None)
        ):
            missing.append(f"ticket {p.doc.ticket_id!r}")
        if missing:
            errors.append(f"line {p.number}: unknown {', '.join(missing)}")
    return errors


def _exists(line: ImportLine) -> str:
    return f"line {line.number}: {line.kind} {_doc_key(line)} already exists"


def _doc_key(line: ImportLine) -> str:
    return line.doc.username if line.kind == "user" else line.doc.id


def _import_error(errors: list[str]) -> UsageError:
    shown = "; ".join(errors[:10])
    more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
    lines = "1 bad line" if len(errors) == 1 else f"{len(errors)} bad lines"
    return UsageError(f"{lines}, nothing imported: {shown}{more}")


def _sort_key(sort: str) -> Callable[[dict[str, Any]], Any]:
    if sort == "created":
        return lambda t: (t["created_at"], id_sort_key(t["id"]))
    if sort == "updated":
        return lambda t: (t["updated_at"], id_sort_key(t["id"]))
    if sort == "priority":
        return lambda t: (_PRIORITY_RANK[t["priority"]], t["created_at"], id_sort_key(t["id"]))
    if sort == "status":
        return lambda t: (_STATUS_RANK[t["status"]], t["created_at"], id_sort_key(t["id"]))
    return lambda t: id_sort_key(t["id"])
