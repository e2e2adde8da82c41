"""The local service: the rules of SPEC §3 (who may see and do what) over a storage.

``LocalService`` implements ``supportctl.api.TicketService`` for every store on this side
of the wire: the json directory today (``supportctl.storage``), PostgreSQL next.  A store
only keeps and fetches documents; every rule is applied here, so the rules are the same
whichever store holds the tickets.  Pure Python: no click, no I/O of its own.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import MISSING, fields, replace
from datetime import date, datetime
from typing import Any

from supportctl.api import (
    BILLING_KINDS,
    BUSY_STATUSES,
    FEDRAMP_REFUSAL,
    HISTORY_SIZE,
    LEAST_BUSY,
    MERGED_FROM_BODY,
    MERGED_INTO_BODY,
    MY_GROUPS,
    REMINDER_BODY,
    SCOPES,
    SWEEP_ESCALATED,
    SWEEP_RESULTS,
    BillingView,
    ListResult,
    MergeResult,
    MeView,
    NewAttachment,
    OrgView,
    ProxyEntry,
    SweepOutcome,
    SweepRule,
    TicketChanges,
    TicketQuery,
    TicketService,
    TicketView,
    Trigger,
    TriggerFiring,
    TriggerOutcome,
    check_attachments,
    check_body,
    check_contact,
    check_date,
    check_query,
    confirm_due,
    content_type_of,
    etag,
    merge_cc,
    merge_tags,
    run_sweep,
    sweep_failure,
    validate_changes,
    validate_new_ticket,
    with_article,
)
from supportctl.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    SupportctlError,
    UsageError,
)
from supportctl.models import (
    PRIORITIES,
    RESOLUTIONS,
    STAGES,
    STATUSES,
    Attachment,
    Escalation,
    Event,
    Message,
    Org,
    Ticket,
    User,
    id_sort_key,
)
from supportctl.sla import SlaPolicy, due_clock, marks
from supportctl.sla import assess as sla_assess
from supportctl.sla import evaluate as sla_evaluate
from supportctl.sla import matches as sla_matches
from supportctl.storage.base import (
    LIST_SORTS,
    ListRequest,
    Prefilter,
    Storage,
    TicketFilter,
)
from supportctl.timeutil import back, format_ts, now

#: The fields of a TicketQuery that ``_list_request`` turns into a store's exact conditions;
#: any other field that differs from its default makes the listing fall back.
_PUSHED = frozenset(
    {
        "scope", "org", "statuses", "types", "categories", "priorities", "assignee",
        "requester", "tags", "since", "until", "idle", "search", "sort", "asc", "limit", "sla",
        "groups", "resolutions",
    }
)  # fmt: skip
_PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}  # low=0 … urgent=3
# Lifecycle order; "largest first" (the default) puts the newest state, `new`, first.
_STATUS_RANK = {s: len(STATUSES) - i for i, s in enumerate(STATUSES)}


class LocalService(TicketService):
    """The rules of SPEC §3 for one acting user, over a ``Storage``."""

    def __init__(
        self,
        storage: Storage,
        username: str | None,
        *,
        clock: Callable[[], datetime] = now,
        sla_policy: SlaPolicy | None = None,
        triggers: list[Trigger] | None = None,
    ) -> None:
        self.storage = storage
        self.username = username
        self.clock = clock
        self.sla_policy = sla_policy or SlaPolicy()
        #: The triggers of whoever writes the store (SPEC §13): the acting user's config on
        #: the json backend, the server's own for the http backend.
        self._triggers = list(triggers or [])
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
            user = self.storage.get_user(self.username)
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
        ticket = self.storage.get_ticket(ticket_id)
        if ticket is None or not self.can_see(actor, ticket):
            raise NotFound(f"ticket {ticket_id} not found")
        return self.visible_copy(actor, ticket)

    # -- reading ------------------------------------------------------------------------------
    def list_tickets(self, query: TicketQuery, *, with_thread: bool = False) -> ListResult:
        actor = self._refuse_fedramp()
        check_query(query)
        page = None
        if type(self.storage).list_page is not Storage.list_page:  # a store that may answer
            request = self._list_request(actor, query)
            page = self.storage.list_page(request) if request is not None else None
        if page is not None:  # the store filtered, sorted and limited it exactly
            if with_thread:
                return ListResult(tickets=self.with_threads(page.rows), total=page.total)
            moment = self.clock()
            rows = [self._with_sla(r, moment) for r in page.rows]
            return ListResult(tickets=rows, total=page.total)
        selected = self._select(actor, query)
        moment = self.clock()
        if query.sla is not None:
            wanted = query.sla
            selected = (r for r in selected if sla_matches(wanted, r, self._sla(r, moment)))
        key = _sort_key(query.sort)
        descending = not query.asc
        if query.sort == "due":  # soonest due first (SPEC §16); --asc: latest first
            key, descending = _due_key(due_clock(self.sla_policy), query.asc), query.asc
        if query.limit:
            # The first N of a sort, streamed: only N rows are kept (same order as a sort,
            # ties included); the rest are only counted.
            counted = [0]

            def count(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                for row in rows:
                    counted[0] += 1
                    yield row

            pick = heapq.nlargest if descending else heapq.nsmallest
            rows = pick(query.limit, count(selected), key=key)
            total = counted[0]
        else:
            rows = list(selected)
            rows.sort(key=key, reverse=descending)
            total = len(rows)
        if with_thread:
            return ListResult(tickets=self.with_threads(rows), total=total)
        return ListResult(tickets=[self._with_sla(r, moment) for r in rows], total=total)

    def _select(self, actor: User, query: TicketQuery) -> Iterator[dict[str, Any]]:
        """The index rows the query and the caller's visibility select, unsorted, streamed."""
        match = self._matcher(actor, query)
        summaries = self.storage.ticket_summaries(self._prefilter(actor, query))
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
        out.setdefault("duplicate_of", None)  # a row written before tickets had it
        out["sla"] = self._sla(row, moment)
        return out

    def sla_of(self, ticket: Ticket) -> dict[str, Any]:
        """The ``sla`` object of a whole ticket (for `show -o json` and changed tickets)."""
        agents = {u.username for u in self.storage.list_users() if u.role == "agent"}
        return sla_evaluate(ticket.summary(), marks(ticket, agents), self.sla_policy, self.clock())

    def ticket_json(self, ticket: Ticket) -> dict[str, Any]:
        """A ticket as JSON output shows it: as the caller may see it, with its ``sla``."""
        doc = self.visible_copy(self.actor, ticket).to_dict()
        doc["sla"] = self.sla_of(ticket)
        return doc

    def with_threads(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Listing rows as whole documents (messages and events the actor may see), each
        with its row's ``sla``; a ticket deleted since the rows were read is left out."""
        actor, moment = self.actor, self.clock()
        out = []
        for row in rows:
            ticket = self.storage.get_ticket(row["id"])
            if ticket is not None:
                doc = self.visible_copy(actor, ticket).to_dict()
                doc["sla"] = self._sla(row, moment)
                out.append(doc)
        return out

    def stored_etag(self, ticket: Ticket) -> str:
        """The ETag of the ticket as stored (SPEC §7), whatever the actor may see of it."""
        return etag(self.storage.get_ticket(ticket.id) or ticket)

    def _matcher(self, actor: User, query: TicketQuery) -> Callable[[dict[str, Any]], bool]:
        """One predicate from the scope and every filter (different flags must all hold)."""
        checks: list[Callable[[dict[str, Any]], bool]] = []
        me = actor.username
        own_org, involves = self._visibility(actor, query)
        if own_org is not None:
            checks.append(lambda t: t["org"] == own_org)
        if involves is not None:
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
            requesters = self._requesters(query.requester)
            checks.append(lambda t: t["requester"] in requesters)
        if query.tags:
            tags = frozenset(query.tags)
            checks.append(lambda t: tags.issubset(t["tags"]))
        if query.groups:
            groups = _wanted_groups(query, actor)
            checks.append(lambda t: t["group"] in groups)
        if query.resolutions:
            resolutions = frozenset(query.resolutions)
            checks.append(lambda t: t["resolution"] in resolutions)
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

    def _visibility(self, actor: User, query: TicketQuery) -> tuple[str | None, str | None]:
        """What the scope lets the caller see (SPEC §3, §4): ``(org, involved)`` — only that
        org's tickets (a brand admin's org scope), only the tickets this user is requester,
        cc or assignee of (scope mine); None: no such condition. Refusals raise here."""
        if query.scope != "org":
            return None, actor.username
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
            return actor.org, None
        return None, None

    def _list_request(self, actor: User, query: TicketQuery) -> ListRequest | None:
        """The whole listing as exact conditions a store may answer itself (sorted and
        limited), or None when some part of the query has no such form: an SLA filter (computed
        here, at this moment), or any query field this does not know — a field added later
        makes the listing fall back to the filtering below until it is taught here, never
        a wrong answer. Raises the scope's refusals as ``_matcher`` does."""
        for f in fields(query):  # the query's own class: a subclass's fields count too
            if f.name in _PUSHED:
                continue
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            if getattr(query, f.name) != default:
                return None
        if query.sort not in LIST_SORTS or query.sla is not None:
            return None
        own_org, involves = self._visibility(actor, query)
        equals: dict[str, frozenset[str | None]] = {}

        def narrow(key: str, values: frozenset[str | None]) -> None:
            equals[key] = equals[key] & values if key in equals else values

        if own_org is not None:
            narrow("org", frozenset({own_org}))
        if query.org:
            narrow("org", frozenset({query.org}))
        for key, values in (
            ("status", query.statuses),
            ("type", query.types),
            ("category", query.categories),
            ("priority", query.priorities),
        ):
            if values:
                narrow(key, frozenset(values))
        if query.assignee is not None:
            me = actor.username
            narrow(
                "assignee",
                frozenset({{"@me": me, "none": None}.get(query.assignee, query.assignee)}),
            )
        if query.requester:
            narrow("requester", self._requesters(query.requester))
        if query.groups:
            narrow("group", frozenset(_wanted_groups(query, actor)))
        if query.resolutions:
            narrow("resolution", frozenset(query.resolutions))
        search = query.search.casefold() if query.search else None
        where = TicketFilter(
            equals=tuple(sorted(equals.items())),
            involves=involves,
            tags=frozenset(query.tags),
            created_from=format_ts(query.since) if query.since else None,
            created_to=format_ts(query.until) if query.until else None,
            updated_before=(
                format_ts(back(self.clock(), query.idle)) if query.idle is not None else None
            ),
            search=search,
            search_notes=actor.is_agent,
        )
        return ListRequest(where=where, sort=query.sort, asc=query.asc, limit=query.limit)

    def _requesters(self, value: str) -> frozenset[str]:
        """`--requester`: a username, or an email address naming the user(s) who have it
        (case-insensitively); nothing matches an address no user has."""
        if "@" not in value or self.storage.get_user(value) is not None:
            return frozenset({value})
        wanted = value.strip().casefold()
        return frozenset(
            u.username for u in self.storage.list_users() if u.email.casefold() == wanted
        )

    def _prefilter(self, actor: User, query: TicketQuery) -> Prefilter:
        """Necessary conditions of the query, for backends that can skip tickets early."""
        requesters = self._requesters(query.requester) if query.requester else frozenset()
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
            fields["requester"] = requesters
        if query.groups and _wanted_groups(query, actor):
            fields["group"] = _wanted_groups(query, actor)
        if query.resolutions:
            fields["resolution"] = frozenset(query.resolutions)
        mentions = involves = None
        if query.scope == "mine":
            mentions = frozenset({actor.username})
            involves = actor.username
        return Prefilter(fields=fields, mentions=mentions, involves=involves)

    def _search(
        self, actor: User, rows: Iterable[dict[str, Any]], text: str
    ) -> Iterator[dict[str, Any]]:
        """Case-insensitive substring over the subject and the bodies the caller may see."""
        needle = text.casefold()
        for row in rows:
            if needle in row["subject"].casefold():
                yield row
                continue
            ticket = self.storage.get_ticket(row["id"])
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
        named = [ticket.requester, *ticket.cc, ticket.assignee]
        known = self._users([*named, *self._proxy_names(ticket)])  # each user read once
        escalation = None
        if ticket.escalation_id:
            escalation = self.storage.get_escalation(ticket.escalation_id)
        return TicketView(
            ticket=ticket,
            viewer=self.actor,
            proxy_access=self._proxy_entries(ticket, known),
            escalation=escalation,
            # names in the thread as before: the ticket's own people, not other callers
            users={name: known[name] for name in named if name in known},
            sla=self.sla_of(ticket),
            history=self.customer_history(ticket) if self.actor.is_agent else None,
        )

    def customer_history(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The requester's other tickets, newest first, at most HISTORY_SIZE (001)."""
        requester = ticket.requester
        rows = (
            row
            for row in self.storage.ticket_summaries(
                Prefilter(fields={"requester": frozenset({requester})})
            )
            if row["requester"] == requester and row["id"] != ticket.id
        )
        newest = heapq.nlargest(
            HISTORY_SIZE, rows, key=lambda t: (t["created_at"], id_sort_key(t["id"]))
        )
        return [{k: row[k] for k in ("id", "subject", "status", "created_at")} for row in newest]

    def _users(self, names: Iterable[str | None]) -> dict[str, User]:
        """The users of these names that exist, by name (in the order given)."""
        users = {}
        for name in dict.fromkeys(names):
            if name and (user := self.storage.get_user(name)) is not None:
                users[name] = user
        return users

    def _proxy_names(self, ticket: Ticket) -> list[str]:
        """SPEC §5: who `proxy-access show` lists — the requester, the cc users, everyone with
        an override, and the caller when the caller is a customer (agents have none)."""
        names = [ticket.requester, *ticket.cc, *ticket.proxy_access]
        if not self.actor.is_agent:
            names.append(self.actor.username)
        return list(dict.fromkeys(names))

    def _proxy_entries(self, ticket: Ticket, users: dict[str, User]) -> list[ProxyEntry]:
        """The ticket's override if set, else the user's account default (SPEC §5)."""
        entries = []
        for name in self._proxy_names(ticket):
            if name in ticket.proxy_access:
                entries.append(ProxyEntry(name, ticket.proxy_access[name], "override"))
            else:
                user = users.get(name)
                entries.append(ProxyEntry(name, bool(user and user.support_access), "account"))
        return entries

    # -- working tickets (SPEC §3, §9) -------------------------------------------------------
    def _event(self, action: str, **detail: Any) -> Event:
        return self._event_at(format_ts(self.clock()), action, **detail)

    def _post_system(self, ticket: Ticket, at: str, body: str) -> Message:
        """A system message (a merge's note, a sweep's reminder) appended to ``ticket``."""
        message = Message(_next_message_id(ticket), "system", self.actor.username, at, body)
        ticket.messages.append(message)
        return message

    def _event_at(self, at: str, action: str, **detail: Any) -> Event:
        """An event at ``at``: the moment of the change it records, which its message and
        ``updated_at`` share (a second's tick between them would tell two moments)."""
        return Event(at=at, actor=self.actor.username, action=action, detail=detail)

    def changed_ticket(self, ticket_id: str) -> Ticket:
        """A ticket the actor changed, as they may see it — without the FedRAMP refusal of
        reading history (their own create, reply or close answers with the ticket, whose
        history the server then leaves out)."""
        ticket = self.storage.get_ticket(ticket_id)
        if ticket is None or not self.can_see(self.actor, ticket):
            raise NotFound(f"ticket {ticket_id} not found")
        return self.visible_copy(self.actor, ticket)

    def _visible_or_not_found(self, ticket: Ticket) -> None:
        if not self.can_see(self.actor, ticket):
            raise NotFound(f"ticket {ticket.id} not found")

    def _store_attachments(self, files: list[NewAttachment]) -> list[Attachment]:
        """Check every file, then keep the bytes (content-addressed) before any reference."""
        check_attachments([(f.name, len(f.data)) for f in files])
        if not files:
            return []
        import hashlib  # here, not at the top: OpenSSL costs every command ~5 ms to import

        out = []
        for f in files:
            digest = hashlib.sha256(f.data).hexdigest()
            self.storage.put_blob(digest, f.data)
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
            user = self.storage.get_user(name)
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
                events=[self._event_at(at, "created")],
            )

        def make_and_route(ticket_id: str) -> Ticket:
            ticket = make(ticket_id)
            self._fire_triggers(ticket)  # in the same atomic create
            return ticket

        return self.storage.create_ticket(make_and_route if self._triggers else make)

    def reply(
        self,
        ticket_id: str,
        body: str,
        *,
        internal: bool = False,
        attachments: list[NewAttachment] | None = None,
        then: TicketChanges | None = None,
    ) -> Ticket:
        """SPEC §3 reply: not on closed; a customer's reply reopens a resolved ticket.
        ``then`` (a template's actions) is applied in the same atomic change."""
        actor = self.actor
        check_body(body)
        if internal and not actor.is_agent:
            raise PermissionDenied("internal notes are for agents only")
        actions = then if then is not None and not then.empty else None
        assignee = None
        if actions is not None:
            if not actor.is_agent:
                raise PermissionDenied(
                    f"a reply's actions are for agents; you are {with_article(actor.role)}"
                )
            validate_changes(actions)
            assignee = self._resolve_assignee(actions.assignee)
        stored = self._store_attachments(attachments or [])

        def change(ticket: Ticket) -> Ticket:
            self._visible_or_not_found(ticket)
            if ticket.status == "closed":
                raise Conflict(
                    f"ticket {ticket.id} is closed; open a new ticket and reference {ticket.id}",
                    hint=_merged_hint(self._goes_on(ticket)),
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
                self._event_at(at, "noted" if internal else "replied", message=message.id)
            )
            if ticket.status == "resolved" and not actor.is_agent:
                ticket.events.append(
                    self._event_at(at, "status_changed", **{"from": "resolved", "to": "open"})
                )
                ticket.status = "open"
            if actions is not None:
                _apply_changes(
                    ticket,
                    actions,
                    assignee,
                    lambda action, old, new: ticket.events.append(
                        self._event_at(at, action, **{"from": old, "to": new})
                    ),
                )
            ticket.updated_at = at
            return ticket

        return self.storage.update_ticket(ticket_id, change)

    def close(
        self,
        ticket_id: str,
        *,
        reason: str | None = None,
        comment: str | None = None,
        with_escalation: bool = False,
    ) -> tuple[Ticket, bool]:
        """SPEC §3 close: requester or agent; returns (ticket, changed). Re-closing is a no-op.

        A ticket whose escalation is not resolved is not closed (exit 5) unless
        ``with_escalation``: then the escalation moves to `resolved` in the same change."""
        actor = self.actor
        if reason is not None:
            if not actor.is_agent:
                raise PermissionDenied("--reason is for agents; only they record a resolution")
            if reason not in RESOLUTIONS:
                raise UsageError(f"invalid reason {reason!r}; valid: {', '.join(RESOLUTIONS)}")
        if comment is not None:
            check_body(comment, what="comment")
        if with_escalation and not actor.is_agent:
            raise PermissionDenied(
                "--with-escalation is for agents: only they move escalations",
                hint="ask support to resolve the escalation, or to close the ticket with it",
            )
        changed = True

        def may_close(ticket: Ticket) -> None:
            self._visible_or_not_found(ticket)
            if not actor.is_agent and ticket.requester != actor.username:
                raise PermissionDenied(
                    f"only the requester ({ticket.requester}) or an agent may close ticket {ticket.id}"
                )

        def close_ticket(ticket: Ticket, escalation: Escalation | None) -> Ticket | None:
            nonlocal changed
            may_close(ticket)
            if ticket.status == "closed":
                changed = False
                return None
            at = format_ts(self.clock())
            if comment:
                message = Message(_next_message_id(ticket), "email", actor.username, at, comment)
                ticket.messages.append(message)
                ticket.events.append(self._event_at(at, "replied", message=message.id))
            if escalation is not None:
                self._resolve_with_ticket(ticket, escalation, at)
            resolution = reason or "solved"
            ticket.events.append(
                self._event_at(
                    at, "closed", **{"from": ticket.status, "to": "closed"}, resolution=resolution
                )
            )
            ticket.status, ticket.resolution = "closed", resolution
            ticket.closed_at = ticket.updated_at = at
            return ticket

        def without_escalation(ticket: Ticket) -> Ticket | None:
            escalation = self._open_escalation(ticket)
            if escalation is not None and ticket.status != "closed":
                may_close(ticket)
                raise Conflict(
                    f"ticket {ticket.id} has escalation {escalation.id} at {escalation.stage}; "
                    "closing it would leave the escalation open",
                    hint="an agent can add --with-escalation to resolve it in the same change, "
                    "or advance it first"
                    if actor.is_agent
                    else "ask support to resolve the escalation first",
                )
            return close_ticket(ticket, None)

        def with_its_escalation(
            ticket: Ticket, allocate: Callable[[], str]
        ) -> tuple[Ticket, Escalation | None] | None:
            escalation = self._open_escalation(ticket)
            closed = close_ticket(ticket, escalation)
            return None if closed is None else (closed, escalation)

        # Only `--with-escalation` looks first (an ordinary close reads the ticket once,
        # under the lock): with an open escalation, both change in one write.
        peek = self.storage.get_ticket(ticket_id) if with_escalation else None
        if peek is not None and self._open_escalation(peek) is not None:
            ticket, _ = self.storage.update_with_escalation(ticket_id, with_its_escalation)
        else:
            ticket = self.storage.update_ticket(ticket_id, without_escalation)
        return ticket, changed

    def _future_date(self, value: str | None) -> str | None:
        """`--expected DATE`: a calendar date, today (local) or later."""
        expected = check_date(value)
        today = self.clock().astimezone().date()
        if expected is not None and date.fromisoformat(expected) < today:
            raise UsageError(
                f"--expected {expected} is in the past; an expected resolution is today "
                f"({today.isoformat()}) or later"
            )
        return expected

    def _open_escalation(self, ticket: Ticket) -> Escalation | None:
        """The ticket's escalation when it is not resolved yet."""
        if not ticket.escalation_id:
            return None
        escalation = self.storage.get_escalation(ticket.escalation_id)
        return escalation if escalation is not None and escalation.stage != "resolved" else None

    def _resolve_with_ticket(self, ticket: Ticket, escalation: Escalation, at: str) -> None:
        """`close --with-escalation`: the escalation moves to resolved, its timeline saying
        the ticket was closed, and the ticket records it."""
        ticket.events.append(
            self._event(
                "escalation_advanced",
                escalation_id=escalation.id,
                **{"from": escalation.stage, "to": "resolved"},
                closed_with_ticket=True,
            )
        )
        escalation.timeline.append({"stage": "resolved", "at": at, "note": "ticket closed"})
        escalation.stage = "resolved"
        escalation.updated_at = at

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
            ticket.events.append(self._event_at(at, "feedback", rating=rating))
            ticket.updated_at = at
            return ticket

        ticket = self.storage.update_ticket(ticket_id, change)
        return ticket, changed

    def update(
        self, ticket_id: str, changes: TicketChanges, *, if_match: str | None = None
    ) -> tuple[Ticket, list[Event]]:
        """SPEC §3 triage by agents; one event per changed field. Returns the ticket and the
        events this update added (none: nothing changed)."""
        actor = self.actor
        validate_changes(changes)
        # Users named by the change are looked up for agents only: anyone else is refused
        # below whatever the names, so no one can probe which usernames exist.
        assignee = self._resolve_assignee(changes.assignee) if actor.is_agent else None
        cc_users = self._cc_users(changes) if actor.is_agent else {}
        added: list[Event] = []

        def change(ticket: Ticket) -> Ticket | None:
            self._visible_or_not_found(ticket)
            if not actor.is_agent:
                raise PermissionDenied(
                    f"only agents may update tickets; you are {with_article(actor.role)}"
                )
            if if_match is not None and if_match not in ("*", etag(ticket)):
                raise PreconditionFailed(
                    f"ticket {ticket.id} changed since you read it; read it again and retry"
                )
            events: list[Event] = []

            def record(action: str, old: Any, new: Any) -> None:
                events.append(self._event(action, **{"from": old, "to": new}))

            if ticket.status == "closed":
                _restore_spam(ticket, changes, record)
            _apply_changes(ticket, changes, assignee, record)
            if changes.edits:
                before = list(ticket.cc)
                _apply_edits(ticket, changes, cc_users, record)
                events.extend(self._forget_proxy_access(ticket, before))
            if not events:
                return None
            ticket.events.extend(events)
            ticket.updated_at = events[-1].at
            added[:] = events
            return ticket

        ticket = self.storage.update_ticket(ticket_id, change)
        return ticket, added

    def _forget_proxy_access(self, ticket: Ticket, cc_before: list[str]) -> list[Event]:
        """A cc user taken off a ticket they can no longer see loses the proxy access they set
        on it (support must not log in to their account for it, and they could not turn it
        off): the override goes, with an event (``to`` null). A brand admin of the ticket's
        org still sees it: their setting stands."""
        events = []
        for name in cc_before:
            if name in ticket.cc or name not in ticket.proxy_access:
                continue
            user = self.storage.get_user(name)
            if user is not None and self.can_see(user, ticket):
                continue
            value = ticket.proxy_access.pop(name)
            events.append(
                self._event("proxy_access_changed", user=name, **{"from": value, "to": None})
            )
        return events

    def _cc_users(self, changes: TicketChanges) -> dict[str, User]:
        """The users a change adds as cc, by name: each must exist (exit 3 otherwise); who
        may be a cc of which ticket is checked against the ticket (``_apply_edits``)."""
        wanted = changes.add_cc if changes.cc is None else changes.cc
        users = {}
        for name in dict.fromkeys(wanted):
            user = self.storage.get_user(name)
            if user is None:
                raise NotFound(f"no user {name} (--add-cc)")
            users[name] = user
        return users

    # -- merging duplicates (SPEC §16; 001's `duplicate`, RT's merge) ------------------------
    def merge(self, ticket_id: str, into: str) -> MergeResult:
        """Close ``ticket_id`` as a duplicate of ``into`` and bring its people over, both
        tickets in one atomic change (``Storage.update_pair``)."""
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied(
                f"tickets merge is for agents; you are {with_article(actor.role)}"
            )
        if not ticket_id.strip() or not into.strip():
            raise UsageError("a ticket ID must not be empty")
        if ticket_id == into:
            raise Conflict(f"ticket {ticket_id} cannot be merged into itself")
        outcome = {"changed": True}

        def change(ticket: Ticket, target: Ticket) -> tuple[Ticket, Ticket] | None:
            outcome["changed"] = True  # a retried transaction starts again
            if ticket.status == "closed" and ticket.duplicate_of is not None:
                end = self._goes_on(ticket)  # 1002 → 1003 → 1001: merged into 1001 too
                if ticket.duplicate_of == target.id or (end is not None and end.id == target.id):
                    outcome["changed"] = False
                    return None
            self._refuse_merge(ticket, target)
            newcomers = [
                name
                for name in dict.fromkeys([ticket.requester, *ticket.cc])
                if name != target.requester and name not in target.cc
            ]
            self._check_cc(target, self._users(newcomers), newcomers, "the merge")
            at = format_ts(self.clock())
            note = self._post_system(ticket, at, MERGED_INTO_BODY.format(target=target.id))
            ticket.events.append(
                self._event_at(
                    at,
                    "closed",
                    **{"from": ticket.status, "to": "closed"},
                    resolution="duplicate",
                    duplicate_of=target.id,
                    message=note.id,
                )
            )
            ticket.status, ticket.resolution, ticket.duplicate_of = "closed", "duplicate", target.id
            ticket.closed_at = ticket.updated_at = at
            back_note = self._post_system(target, at, MERGED_FROM_BODY.format(ticket=ticket.id))
            if newcomers:
                cc = [*target.cc, *newcomers]
                target.events.append(
                    self._event_at(at, "cc_changed", **{"from": target.cc, "to": cc})
                )
                target.cc = cc
            target.events.append(
                self._event_at(at, "merged", duplicate=ticket.id, message=back_note.id)
            )
            target.updated_at = at
            return ticket, target

        ticket, target = self.storage.update_pair(ticket_id, into, change)
        return MergeResult(
            self.visible_copy(actor, ticket),
            self.visible_copy(actor, target),
            changed=outcome["changed"],
        )

    def _goes_on(self, ticket: Ticket) -> Ticket | None:
        """Where a merged duplicate's conversation goes on: the end of its chain of
        ``duplicate_of`` (1002 → 1003 → 1001: 1001), as far as the caller may see; None for
        a ticket that is no duplicate."""
        seen, step, end = {ticket.id}, ticket, None
        while step.duplicate_of and step.duplicate_of not in seen and len(seen) < 1000:
            following = self.storage.get_ticket(step.duplicate_of)
            if following is None or not self.can_see(self.actor, following):
                break
            seen.add(following.id)
            step = end = following
        return end

    def _refuse_merge(self, ticket: Ticket, target: Ticket) -> None:
        """SPEC §16: no merge into a closed ticket, nor one that would close a cycle; a
        closed ticket, one with an open escalation, or one of another organisation is not
        merged either (exit 5)."""
        seen, step = {target.id}, target
        while step.duplicate_of is not None and len(seen) < 1000:
            if step.duplicate_of == ticket.id:
                raise Conflict(
                    f"ticket {target.id} is already a duplicate of ticket {ticket.id}; merging "
                    f"{ticket.id} into it would make a cycle"
                )
            following = self.storage.get_ticket(step.duplicate_of)
            if following is None or following.id in seen:
                break
            seen.add(following.id)
            step = following
        if target.status == "closed":
            end = self._goes_on(target)
            where = (
                f"; it is a duplicate of {target.duplicate_of}: merge into {end.id}"
                if end is not None and end.status != "closed"
                else "; merge into an open ticket"
            )
            raise Conflict(f"ticket {target.id} is closed ({target.resolution}){where}")
        if ticket.status == "closed":
            what = (
                f"as a duplicate of {ticket.duplicate_of}"
                if ticket.duplicate_of
                else f"({ticket.resolution})"
            )
            raise Conflict(f"ticket {ticket.id} is already closed {what}; it is not merged")
        escalation = self._open_escalation(ticket)
        if escalation is not None:
            raise Conflict(
                f"ticket {ticket.id} has escalation {escalation.id} at {escalation.stage}; "
                "merging would close it with the escalation open",
                hint="advance the escalation to resolved first, or merge the other way round",
            )
        if ticket.org != target.org:
            raise Conflict(
                f"ticket {ticket.id} (org {ticket.org}) and ticket {target.id} (org "
                f"{target.org}) belong to different organisations; merging would show "
                f"{target.id}'s thread to another organisation's people"
            )

    @staticmethod
    def _check_cc(ticket: Ticket, users: dict[str, User], names: list[str], why: str) -> None:
        """SPEC §16: a cc is a user who may see the ticket: of the requester's organisation,
        or an agent (exit 2 naming each who is not; exit 3 for one who does not exist)."""
        missing = [n for n in names if n not in users]
        if missing:
            raise NotFound(f"no user {', '.join(missing)} ({why})")
        refused = [
            f"{n} (org {users[n].org})"
            for n in names
            if not users[n].is_agent and users[n].org != ticket.org
        ]
        if refused:
            raise UsageError(
                f"{', '.join(refused)} cannot be cc of ticket {ticket.id}: a cc must be of the "
                f"requester's organisation ({ticket.org}) or an agent; nothing changed"
            )

    def _resolve_assignee(self, value: str | None) -> str | None:
        if value is None or value == "none":
            return None
        if value == "@me":
            return self.actor.username
        user = self.storage.get_user(value)
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
        data = self.storage.get_blob(chosen.sha256)
        if data is None:
            raise NotFound(
                f"the bytes of {name!r} are not in this store (only its metadata was imported)"
            )
        return chosen, data, len(found)

    # -- triggers (SPEC §13; 001) ---------------------------------------------------------------
    def triggers(self) -> list[Trigger]:
        self._agents_only("triggers")
        return list(self._triggers)

    def test_triggers(self, ticket_id: str) -> TriggerOutcome:
        """Which triggers would fire on the ticket as it is now, and what they would change;
        nothing is written."""
        self._agents_only("triggers")
        ticket = self.get_visible_ticket(ticket_id)
        copy = Ticket.from_dict(ticket.to_dict(), validate=False)
        note = "closed: `triggers run` does not change it" if ticket.status == "closed" else ""
        return TriggerOutcome(ticket.id, self._fire_triggers(copy), note=note)

    def run_triggers(self, ticket_id: str) -> TriggerOutcome:
        """Apply the triggers to an existing ticket now (agents), in one atomic change."""
        self._agents_only("triggers run")
        fired: list[TriggerFiring] = []

        def change(ticket: Ticket) -> Ticket | None:
            self._visible_or_not_found(ticket)
            if ticket.status == "closed":
                raise Conflict(f"ticket {ticket.id} is closed; triggers do not change it")
            fired[:] = self._fire_triggers(ticket)
            return ticket if any(f.changes for f in fired) else None

        ticket = self.storage.update_ticket(ticket_id, change)
        return TriggerOutcome(ticket.id, fired, applied=any(f.changes for f in fired))

    def _agents_only(self, what: str) -> None:
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied(
                f"{what} is for agents (triggers are support's routing); you are "
                f"{with_article(actor.role)}"
            )

    def _fire_triggers(self, ticket: Ticket) -> list[TriggerFiring]:
        """Run every trigger once, in file order, on ``ticket`` (changed in place): each one
        that matches the ticket as the earlier ones left it applies its actions, one event
        per changed field with ``detail.trigger``; an assignee opens a `new` ticket."""
        fired = []
        for trigger in self._triggers:
            if not trigger.matches(ticket):
                continue
            firing = TriggerFiring(trigger.name)

            def record(action: str, old: Any, new: Any, firing: TriggerFiring = firing) -> None:
                ticket.events.append(
                    self._event(action, **{"from": old, "to": new}, trigger=firing.trigger)
                )
                firing.changes.append({"action": action, "from": old, "to": new})

            if trigger.group is not None and trigger.group != ticket.group:
                record("group_changed", ticket.group, trigger.group)
                ticket.group = trigger.group
            if trigger.assignee is not None:
                assignee = self._trigger_assignee(trigger, ticket, firing)
                if assignee is not None and assignee != ticket.assignee:
                    record("assigned", ticket.assignee, assignee)
                    ticket.assignee = assignee
                    if ticket.status == "new":
                        record("status_changed", "new", "open")
                        ticket.status = "open"
            if trigger.priority is not None and trigger.priority != ticket.priority:
                record("priority_changed", ticket.priority, trigger.priority)
                ticket.priority = trigger.priority
            if trigger.add_tags:
                tags = merge_tags(ticket.tags, TicketChanges(add_tags=trigger.add_tags))
                if tags != ticket.tags:
                    record("tags_changed", list(ticket.tags), tags)
                    ticket.tags = tags
            if firing.changes:
                ticket.updated_at = ticket.events[-1].at
            fired.append(firing)
        return fired

    def _trigger_assignee(
        self, trigger: Trigger, ticket: Ticket, firing: TriggerFiring
    ) -> str | None:
        """The agent a trigger assigns: a named agent, or for `least-busy` the agent of the
        trigger's group with the fewest new/open/pending tickets assigned (ties: by
        username) — the current assignee stays when already of the group. A group with no
        agent leaves the ticket unassigned (a note says so); a named user who is not an
        agent is a configuration error (exit 2)."""
        name = trigger.assignee
        assert name is not None
        if name != LEAST_BUSY:
            user = self.storage.get_user(name)
            if user is None or not user.is_agent:
                why = "no such user" if user is None else "not an agent"
                raise UsageError(
                    f"trigger {trigger.name}: assignee {name!r} is {why}; tickets are "
                    "assigned to agents",
                    hint="fix [triggers." + trigger.name + "] in the config",
                )
            return name
        group = trigger.group
        agents = sorted(
            u.username for u in self.storage.list_users() if u.is_agent and group in u.groups
        )
        if not agents:
            firing.note = f"no agent in group {group}; left unassigned"
            return None
        if ticket.assignee in agents:
            return ticket.assignee
        load = dict.fromkeys(agents, 0)
        busy = Prefilter(fields={"status": frozenset(BUSY_STATUSES)})
        for row in self.storage.ticket_summaries(busy):
            if (
                row["status"] in BUSY_STATUSES
                and row["assignee"] in load
                and row["id"] != ticket.id
            ):
                load[row["assignee"]] += 1
        return min(agents, key=lambda agent: (load[agent], agent))

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
            for e in self.storage.list_escalations()
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
        esc = self.storage.get_escalation(escalation_id or "")
        if esc is None:
            raise NotFound(f"escalation {escalation_id} not found")
        ticket = self.storage.get_ticket(esc.ticket_id)
        if ticket is None or not self.can_see(actor, ticket):
            raise NotFound(f"escalation {escalation_id} not found")
        return esc

    def create_escalation(
        self, ticket_id: str, description: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        """Agents escalate a ticket: stage `submitted`, ticket status `escalated` (SPEC §3, §9)."""
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied("only agents may escalate tickets")
        check_body(description, what="description")
        expected = self._future_date(expected)

        def change(ticket: Ticket, allocate: Callable[[], str]) -> tuple[Ticket, Escalation]:
            if ticket.status == "closed":
                raise Conflict(f"ticket {ticket.id} is closed; closed tickets are not escalated")
            if ticket.escalation_id:
                current = self.storage.get_escalation(ticket.escalation_id)
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
            ticket.events.append(
                self._event_at(at, "escalated", escalation_id=esc.id, stage="submitted")
            )
            if ticket.status != "escalated":
                ticket.events.append(
                    self._event_at(
                        at, "status_changed", **{"from": ticket.status, "to": "escalated"}
                    )
                )
            ticket.status = "escalated"
            ticket.escalation_id = esc.id
            ticket.updated_at = at
            return ticket, esc

        ticket, esc = self.storage.update_with_escalation(ticket_id, change)
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
        expected = self._future_date(expected)
        esc = self.storage.get_escalation(escalation_id)
        if esc is None:
            raise NotFound(f"escalation {escalation_id} not found")

        def change(ticket: Ticket, allocate: Callable[[], str]) -> tuple[Ticket, Escalation]:
            current = self.storage.get_escalation(escalation_id)
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
                self._event_at(
                    at,
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
                    self._event_at(at, "status_changed", **{"from": "escalated", "to": "open"})
                )
                ticket.status = "open"
            ticket.updated_at = at
            return ticket, current

        ticket, advanced = self.storage.update_with_escalation(esc.ticket_id, change)
        assert advanced is not None
        return ticket, advanced

    # -- proxy login access (SPEC §5) ----------------------------------------------------------
    def proxy_access(self, ticket_id: str) -> list[ProxyEntry]:
        ticket = self.storage.get_ticket(ticket_id)
        if ticket is None or not self.can_see(self.actor, ticket):
            raise NotFound(f"ticket {ticket_id} not found")
        return self._proxy_entries(ticket, self._users(self._proxy_names(ticket)))

    def set_proxy_access(self, ticket_id: str, value: bool | None) -> tuple[ProxyEntry, bool]:
        """Set (or, with None, flip) my own proxy access on a ticket; returns (entry, changed).

        Setting stores an override even when it equals the account default (SPEC §9).
        """
        actor = self.actor
        changed = False

        def change(ticket: Ticket) -> Ticket | None:
            nonlocal changed
            self._visible_or_not_found(ticket)
            if actor.is_agent:
                raise PermissionDenied(
                    "proxy login access is a customer's setting; agents have none of their own"
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

        ticket = self.storage.update_ticket(ticket_id, change)
        entry = ProxyEntry(actor.username, ticket.proxy_access[actor.username], "override")
        return entry, changed

    # -- organisations (SPEC §4, §9; seed 002) ---------------------------------------------
    def org_view(self, org_id: str | None = None) -> OrgView:
        """Admins and agents see the whole org; users its name and brand admins (SPEC §9)."""
        actor = self.actor
        org_id = org_id or actor.org
        if org_id != actor.org and not actor.is_agent:
            raise PermissionDenied("only agents may view another organisation")
        org = self.storage.get_org(org_id)
        if org is None:
            raise NotFound(f"org {org_id} not found")
        members = [u for u in self.storage.list_users() if u.org == org_id]
        if actor.fedramp:  # no brand admin's contact details, anywhere (SPEC §14; 002)
            org, members = _without_admin_contacts(org, members)
        admins = [u for u in members if u.is_admin]
        if actor.role == "user":
            return OrgView(org=org, full=False, users=admins)
        counts = dict.fromkeys(STATUSES, 0)
        ticket_ids = set()
        for row in self.storage.ticket_summaries(Prefilter(fields={"org": frozenset({org_id})})):
            if row["org"] == org_id:
                counts[row["status"]] += 1
                ticket_ids.add(row["id"])
        open_escalations = sorted(
            (
                e
                for e in self.storage.list_escalations()
                if e.ticket_id in ticket_ids and e.stage != "resolved"
            ),
            key=lambda e: e.id,
        )
        # It asks the viewer to act, so it is for the org's brand admins only (SPEC §14).
        due = actor.is_admin and confirm_due(org, self.clock().date())
        return OrgView(org, True, members, counts, open_escalations, confirm_due=due)

    # -- account pages (SPEC §14; seed 002) ---------------------------------------------------
    def me(self) -> MeView:
        actor = self.actor
        org = self.storage.get_org(actor.org) or Org(id=actor.org, name=actor.org)
        if actor.fedramp:
            return MeView(actor, org)
        if actor.role == "user":
            admins = [
                {"username": u.username, "name": u.name, "email": u.email}
                for u in self.storage.list_users()
                if u.org == actor.org and u.is_admin
            ]
            return MeView(actor, org, admins=admins)
        return MeView(actor, org, account_team=dict(org.account_team or {}))

    def set_support_access(self, value: bool) -> tuple[User, bool]:
        if self.actor.is_agent:
            raise PermissionDenied(
                "proxy login access is a customer's setting; agents have none of their own"
            )
        changed = False

        def change(user: User) -> User | None:
            nonlocal changed
            if user.support_access == value:
                return None
            changed = True
            return replace(user, support_access=value)

        self._actor = self.storage.update_user(self.actor.username, change)
        return self._actor, changed

    def _billing_org(self, org_id: str | None) -> Org:
        """The org whose billing contacts the actor may see and change: their own, as one
        of its brand admins (SPEC §14); anyone else exit 4."""
        actor = self.actor
        org_id = org_id or actor.org
        if not actor.is_admin or org_id != actor.org:
            raise PermissionDenied(
                "billing contacts are for the brand admins of the organisation"
                + ("" if actor.is_admin else f"; you are {with_article(actor.role)}")
            )
        org = self.storage.get_org(org_id)
        if org is None:
            raise NotFound(f"org {org_id} not found")
        return org

    def _billing_view(self, org: Org) -> BillingView:
        return BillingView(org, confirm_due(org, self.clock().date()))

    def billing(self, org_id: str | None = None) -> BillingView:
        return self._billing_view(self._billing_org(org_id))

    def set_billing_contact(
        self, kind: str, name: str, email: str, org_id: str | None = None
    ) -> tuple[BillingView, bool]:
        if kind not in BILLING_KINDS:
            raise UsageError(f"invalid contact {kind!r}; valid: {', '.join(BILLING_KINDS)}")
        name, email = check_contact(name, email)
        key = BILLING_KINDS[kind]
        org = self._billing_org(org_id)
        changed = False

        def change(doc: Org) -> Org | None:
            nonlocal changed
            current = (doc.billing or {}).get(key) or {}
            if current.get("name") == name and current.get("email") == email:
                return None
            changed = True
            contact = {"name": name, "email": email, "updated_at": format_ts(self.clock())}
            return replace(doc, billing={**(doc.billing or {}), key: contact})

        org = self.storage.update_org(org.id, change)
        return self._billing_view(org), changed

    def confirm_billing(self, org_id: str | None = None) -> BillingView:
        org = self._billing_org(org_id)
        moment = format_ts(self.clock())

        def change(doc: Org) -> Org:
            return replace(doc, billing={**(doc.billing or {}), "confirmed_at": moment})

        return self._billing_view(self.storage.update_org(org.id, change))

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
            raise PermissionDenied(
                f"tickets sweep is for agents; you are {with_article(actor.role)}"
            )
        return run_sweep(
            rules,
            self._sweep_candidates,
            self._sweep_one,
            dry_run=dry_run,
            progress=progress,
            preview=self._sweep_preview,
        )

    def _sweep_preview(self, ticket_id: str, rule: SweepRule) -> SweepOutcome | None:
        """What a dry run says of a ticket the real sweep would skip (an open escalation)."""
        ticket = self.storage.get_ticket(ticket_id)
        why = self._escalation_keeps(ticket, rule) if ticket is not None else None
        return SweepOutcome(ticket_id, rule.name, rule.action, "skipped", why) if why else None

    def _escalation_keeps(self, ticket: Ticket, rule: SweepRule) -> str | None:
        """Why a sweep leaves the ticket alone: its escalation is open (close and expire
        only; a reminder is still sent)."""
        escalation = None if rule.action == "remind" else self._open_escalation(ticket)
        if escalation is None:
            return None
        return SWEEP_ESCALATED.format(id=escalation.id, stage=escalation.stage)

    def _sweep_candidates(self, rule: SweepRule) -> list[str]:
        """The ids a rule selects, in id order (each is re-checked before it is acted on)."""
        cutoff = format_ts(back(self.clock(), rule.idle))
        prefilter = Prefilter(fields={"status": frozenset(rule.effective_statuses)})
        return sorted(
            (t["id"] for t in self.storage.ticket_summaries(prefilter) if rule.selects(t, cutoff)),
            key=id_sort_key,
        )

    def _sweep_one(self, ticket_id: str, rule: SweepRule) -> SweepOutcome:
        skipped = ""

        def change(ticket: Ticket) -> Ticket | None:
            nonlocal skipped
            cutoff = format_ts(back(self.clock(), rule.idle))
            if not rule.selects(ticket.summary(), cutoff):
                skipped = f"changed since it was selected (now {ticket.status})"
                return None
            kept = self._escalation_keeps(ticket, rule)
            if kept:
                skipped = kept
                return None
            at = format_ts(self.clock())
            if rule.action == "remind":
                last = ticket.messages[-1] if ticket.messages else None
                if last is not None and last.kind == "system" and last.body == REMINDER_BODY:
                    skipped = "already reminded; waiting for the customer"
                    return None
                message = self._post_system(ticket, at, REMINDER_BODY)
                ticket.events.append(
                    self._event_at(at, "replied", message=message.id, reminder=True)
                )
            else:
                resolution = "expired" if rule.action == "expire" else "solved"
                ticket.events.append(
                    self._event_at(
                        at,
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
            self.storage.update_ticket(ticket_id, change)
        except SupportctlError as exc:  # a damaged file too: reported, the sweep goes on
            return sweep_failure(ticket_id, rule, exc)
        if skipped:
            return SweepOutcome(ticket_id, rule.name, rule.action, "skipped", skipped)
        return SweepOutcome(ticket_id, rule.name, rule.action, SWEEP_RESULTS[rule.action])

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
        `tickets list` would show (users: their own only). The window starts on the Monday
        (00:00 UTC) of ``since``'s ISO week; "resolved per week" counts the visible tickets
        resolved in each week, whenever they were created."""
        from supportctl.report import DEFAULT_WINDOW, GROUP_FIELDS, build, week_start

        if by not in GROUP_FIELDS:
            raise UsageError(f"invalid --by {by!r}; valid: {', '.join(GROUP_FIELDS)}")
        if scope not in SCOPES:
            raise UsageError(f"invalid scope {scope!r}; valid scopes: {', '.join(SCOPES)}")
        moment = self.clock()
        requested = since
        until = until or moment
        since = since or back(until, DEFAULT_WINDOW)
        if since > until:
            raise UsageError("--since is after --until")
        since = week_start(since)
        query = TicketQuery(scope=scope if not org else "org", org=org, limit=0)
        actor = self._refuse_fedramp()
        if query.scope == "org" or org:
            self._matcher(actor, query)  # the permission checks of `tickets list`
        low, high = format_ts(since), format_ts(until)
        created, resolved_only = [], []
        for row in self._select(actor, query):
            if low <= row["created_at"] <= high:
                created.append(row)
            elif low <= ((row.get("_sla") or {}).get("res") or "") <= high:
                resolved_only.append(row)
        now_ts = moment.timestamp()
        for row in created + resolved_only:  # a light sla: no due dates, 100,000 rows fast
            row["sla"] = sla_assess(row, row.get("_sla") or {}, self.sla_policy, now_ts)
        return build(
            created,
            since=since,
            until=until,
            by=by,
            scope={"scope": query.scope, "org": org, "user": self.actor.username},
            resolved_elsewhen=resolved_only,
            requested_since=requested,
        )


Recorder = Callable[[str, Any, Any], None]


def _restore_spam(ticket: Ticket, changes: TicketChanges, record: Recorder) -> None:
    """SPEC §3 restore: a closed ticket changes only when it was spam and goes back to open."""
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


def _apply_changes(
    ticket: Ticket, changes: TicketChanges, assignee: str | None, record: Recorder
) -> None:
    """Triage fields in their order (SPEC §9: one event per changed field); assigning a
    `new` ticket opens it."""
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
    if changes.group is not None and (changes.group or None) != ticket.group:
        record("group_changed", ticket.group, changes.group or None)
        ticket.group = changes.group or None
    if changes.add_tags or changes.remove_tags or changes.tags is not None:
        tags = merge_tags(ticket.tags, changes)
        if tags != ticket.tags:
            record("tags_changed", list(ticket.tags), tags)
            ticket.tags = tags


def _apply_edits(
    ticket: Ticket, changes: TicketChanges, cc_users: dict[str, User], record: Recorder
) -> None:
    """SPEC §16 editing, after the triage fields: subject, category, cc (one event each)."""
    if changes.subject is not None and changes.subject.strip() != ticket.subject:
        record("subject_changed", ticket.subject, changes.subject.strip())
        ticket.subject = changes.subject.strip()
    if changes.category is not None and changes.category != ticket.category:
        record("category_changed", ticket.category, changes.category)
        ticket.category = changes.category
    if changes.add_cc or changes.remove_cc or changes.cc is not None:
        cc = merge_cc(ticket.cc, changes, ticket.requester)
        added = [name for name in cc if name not in ticket.cc]
        LocalService._check_cc(ticket, cc_users, added, "--add-cc")
        if cc != ticket.cc:
            record("cc_changed", list(ticket.cc), cc)
            ticket.cc = cc


def _merged_hint(goes_on: Ticket | None) -> str | None:
    """For a merged duplicate, where its conversation continues (its people follow it)."""
    if goes_on is None or goes_on.status == "closed":
        return None
    return (
        f"it was merged into ticket {goes_on.id}, where the conversation continues: "
        f"`supportctl tickets reply {goes_on.id}`"
    )


def _next_message_id(ticket: Ticket) -> str:
    taken = {m.id for m in ticket.messages}
    number = len(ticket.messages) + 1
    while f"m{number}" in taken:
        number += 1
    return f"m{number}"


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


def _wanted_groups(query: TicketQuery, actor: User) -> frozenset[str]:
    """`--group`: the names given, `@mine` standing for the actor's own groups."""
    names = set(query.groups)
    if MY_GROUPS in names:
        names.discard(MY_GROUPS)
        names.update(actor.groups)
    return frozenset(names)


def _due_key(
    due: Callable[[dict[str, Any], dict[str, Any]], float | None], latest_first: bool
) -> Callable[[dict[str, Any]], Any]:
    """`--sort due` (SPEC §16), for an ascending sort (``latest_first``: a descending one):
    the nearest due time of a target not yet met, so breached tickets come first, most
    overdue first; ties by priority (urgent first), then the older ticket, then the id.
    Tickets with no pending target (resolved, closed, excluded, both targets met) come
    last either way."""
    last = 0 if latest_first else 1

    def key(row: dict[str, Any]) -> Any:
        at = due(row, row.get("_sla") or {})
        return (
            last if at is None else 1 - last,
            0.0 if at is None else at,
            -_PRIORITY_RANK[row["priority"]],
            row["created_at"],
            id_sort_key(row["id"]),
        )

    return key


def _without_admin_contacts(org: Org, members: list[User]) -> tuple[Org, list[User]]:
    """The org and its users as a FedRAMP user may see them: no brand admin's email address
    (SPEC §14; 002: "for security reasons"), in the users and in the billing contacts."""
    addresses = {u.email.casefold() for u in members if u.is_admin and u.email}
    members = [replace(u, email=None) if u.is_admin else u for u in members]  # type: ignore[arg-type]
    billing = {
        key: (
            dict(value, email=None)
            if isinstance(value, dict) and (value.get("email") or "").casefold() in addresses
            else value
        )
        for key, value in (org.billing or {}).items()
    }
    return replace(org, billing=billing), members
