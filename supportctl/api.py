"""The service interface: what every implementation offers the command tree and the server.

The command tree (``supportctl.cli``) talks to a ``TicketService`` and to nothing else.
Three implementations exist, none built on another:

- ``supportctl.service.LocalService``: the rules of SPEC §3 over a storage
  (``supportctl.storage``: the json directory, later PostgreSQL);
- ``supportctl.remote.http.HttpService``: the REST API of ``supportctl serve``;
- ``supportctl.remote.rt.RtService``: a Request Tracker's REST2 API.

This module also holds what they share: the query and result types, the pure validators
(attachments, bodies, dates, changes, queries, tag merges) with which the local service and
RT refuse bad input before writing or sending anything (the http client checks attachments
itself and leaves the rest to the server's local service, which gives the same errors), and
the sweep loop.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from supportctl.errors import Conflict, SupportctlError, UsageError
from supportctl.models import (
    CATEGORIES,
    PRIORITIES,
    STAGES,
    STATUSES,
    TICKET_TYPES,
    Attachment,
    Escalation,
    Event,
    Org,
    Ticket,
    User,
)
from supportctl.sla import SLA_FILTERS

# SPEC §3 attachments (000): per message, per file, allowed extensions.
MAX_SUBJECT = 250  # characters
CONNECT_TIMEOUT = 5.0  # seconds a remote backend waits for a connection (SPEC §9)
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
SORT_KEYS = ("created", "updated", "priority", "status", "id", "due")
#: `--group @mine`: any of the acting user's `groups` (SPEC §16's `group` view).
MY_GROUPS = "@mine"
HISTORY_SIZE = 5  # the requester's other tickets `tickets show` ends with, for agents
SCOPES = ("mine", "org")


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
    groups: tuple[str, ...] = ()  # any of; MY_GROUPS = any of the actor's groups (SPEC §16)
    resolutions: tuple[str, ...] = ()  # any of (closed tickets' resolution)


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
    #: For agents (SPEC §13, 001 "inquiry history"): the requester's other tickets, newest
    #: five, as ``{id, subject, status, created_at}``; None where it is not shown (customers,
    #: and backends that do not fetch it).
    history: list[dict[str, Any]] | None = None


@dataclass
class OrgView:
    """What `org view` shows: everything for admins and agents, the admins for users."""

    org: Org
    full: bool
    users: list[User]
    ticket_counts: dict[str, int] = field(default_factory=dict)
    open_escalations: list[Escalation] = field(default_factory=list)
    #: Full view: whether the billing contacts are due for confirmation (SPEC §14).
    confirm_due: bool = False

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
            "confirm_due": self.confirm_due,
        }


# -- account pages (SPEC §14; seed 002) ---------------------------------------------------------

#: Days before the renewal from which brand admins are asked to confirm the billing contacts.
RENEWAL_NOTICE_DAYS = 150
BILLING_KINDS = {"primary": "primary_contact", "billing": "billing_contact"}
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;.]+(\.[^@\s<>,;.]+)+")
FEDRAMP_CONTACTS = (
    "contact details of brand admins are not shown to FedRAMP users (for security reasons); "
    "ask your organisation how to reach them"
)


def confirm_due(org: Org, today: date) -> bool:
    """SPEC §14: the renewal is within RENEWAL_NOTICE_DAYS days and the billing contacts were
    not confirmed since RENEWAL_NOTICE_DAYS days before it."""
    if not org.renewal_date:
        return False
    renewal = date.fromisoformat(org.renewal_date)
    window = timedelta(days=RENEWAL_NOTICE_DAYS)
    if not today <= renewal <= today + window:
        return False
    confirmed = (org.billing or {}).get("confirmed_at")
    return confirmed is None or confirmed[:10] < (renewal - window).isoformat()


def check_contact(name: str, email: str) -> tuple[str, str]:
    """A billing contact as `org billing set` takes it: a name and an address that looks
    like one (exit 2 otherwise)."""
    name, email = (name or "").strip(), (email or "").strip()
    if not name:
        raise UsageError("--name must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in name + email):
        raise UsageError("--name and --email must not contain control characters")
    if len(name) > 200:
        raise UsageError("--name is at most 200 characters")
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise UsageError(
            f"--email {email!r} does not look like an email address (name@example.com)"
        )
    return name, email


@dataclass
class MeView:
    """What `me` shows (SPEC §14): the caller, their org, and who to talk to."""

    user: User
    org: Org
    account_team: dict[str, Any] | None = None  # brand admins and agents
    admins: list[dict[str, Any]] | None = None  # plain users; both None for FedRAMP users

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user.to_dict(),
            "org": {"id": self.org.id, "name": self.org.name, "data_center": self.org.data_center},
            "account_team": self.account_team,
            "admins": self.admins,
        }


@dataclass
class BillingView:
    """What `org billing show` shows: the org's billing contacts and the renewal notice."""

    org: Org
    confirm_due: bool

    def to_dict(self) -> dict[str, Any]:
        billing = self.org.billing or {}
        return {
            "org": self.org.id,
            "renewal_date": self.org.renewal_date,
            "primary_contact": billing.get("primary_contact"),
            "billing_contact": billing.get("billing_contact"),
            "confirmed_at": billing.get("confirmed_at"),
            "confirm_due": self.confirm_due,
        }


SWEEP_ACTIONS = ("close", "remind", "expire")
REMINDER_BODY = (
    "Reminder: this ticket is waiting for your reply. Reply to keep it open; "
    "it may be closed if we do not hear from you."
)
SWEEP_ESCALATED = "has escalation {id} at {stage}; sweeps never close or expire escalated tickets"


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
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """SPEC §15: sweeps never close or expire escalated tickets, and `remind` is for
        pending tickets only (a rule saying otherwise is a usage error, exit 2)."""
        if "escalated" in self.statuses:
            raise UsageError(
                f"sweep rule {self.name}: sweeps never close or expire escalated tickets",
                hint="close them with `supportctl tickets close ID --with-escalation`",
            )
        if self.action == "remind" and set(self.statuses) - {"pending"}:
            others = ", ".join(s for s in self.statuses if s != "pending")
            raise UsageError(
                f"sweep rule {self.name}: `remind` is for pending tickets (waiting for the "
                f"customer), not {others}"
            )

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
            and (not self.groups or ticket["group"] in self.groups)
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
            "groups": list(self.groups),
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
            "exit_code": self.exit_code,
        }


#: Conditions of a trigger (SPEC §13): all must hold; a list means any of its values.
TRIGGER_CONDITIONS = (
    "type",
    "category",
    "priority",
    "language",
    "org",
    "requester",
    "subject_contains",
    "body_contains",
)
#: Its actions. `priority` names a condition, so the action that sets it is `set_priority`.
TRIGGER_ACTIONS = ("group", "assignee", "set_priority", "add_tags")
LEAST_BUSY = "least-busy"
#: The statuses that count as an agent's load for `least-busy`.
BUSY_STATUSES = ("new", "open", "pending")


@dataclass(frozen=True)
class Trigger:
    """One `[triggers.NAME]` table (SPEC §13): when a ticket matches every condition, the
    actions set its group, assignee, priority and tags."""

    name: str
    conditions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, any of these values)
    group: str | None = None
    assignee: str | None = None  # a username or "least-busy"
    priority: str | None = None
    add_tags: tuple[str, ...] = ()

    def matches(self, ticket: Ticket) -> bool:
        """Every condition holds (``*_contains`` case-insensitively, the body being the
        ticket's first message: the request as it was made)."""
        for key, values in self.conditions:
            if key == "subject_contains":
                haystack = ticket.subject.casefold()
            elif key == "body_contains":
                haystack = ticket.messages[0].body.casefold() if ticket.messages else ""
            else:
                if getattr(ticket, key) not in values:
                    return False
                continue
            if not any(v.casefold() in haystack for v in values):
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        """The trigger as `triggers list -o json` and `GET /triggers` show it."""
        return {
            "name": self.name,
            "conditions": {key: list(values) for key, values in self.conditions},
            "actions": {
                key: value
                for key, value in (
                    ("group", self.group),
                    ("assignee", self.assignee),
                    ("priority", self.priority),
                    ("add_tags", list(self.add_tags) or None),
                )
                if value is not None
            },
        }


def trigger_from_table(name: str, table: Any, where: str) -> Trigger:
    """A `[triggers.NAME]` table as a Trigger; UsageError (exit 2) naming the trigger and
    the key for an unknown key, a bad value, or a trigger that does nothing."""
    here = f"{where}: [triggers.{name}]"
    if not isinstance(table, dict):
        raise UsageError(f"{here} must be a table")
    valid = (*TRIGGER_CONDITIONS, *TRIGGER_ACTIONS)
    unknown = [key for key in table if key not in valid]
    if unknown:
        raise UsageError(f"{here}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    allowed = {"type": TICKET_TYPES, "category": CATEGORIES, "priority": PRIORITIES}
    conditions = []
    for key in TRIGGER_CONDITIONS:
        if key not in table:
            continue
        try:
            values = config_strings(key, table[key], allowed.get(key))
        except UsageError as exc:
            raise UsageError(f"{here}: {exc.message}") from None
        conditions.append((key, tuple(values)))

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise UsageError(f"{here}: {key!r} must be a non-empty string")
        return value

    priority = text("set_priority")
    if priority is not None and priority not in PRIORITIES:
        raise UsageError(
            f"{here}: 'set_priority' value {priority!r} is not one of {', '.join(PRIORITIES)}"
        )
    tags = table.get("add_tags", [])
    tags = [tags] if isinstance(tags, str) else tags
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise UsageError(f"{here}: 'add_tags' must be a tag or a list of tags")
    trigger = Trigger(
        name=name,
        conditions=tuple(conditions),
        group=text("group"),
        assignee=text("assignee"),
        priority=priority,
        add_tags=tuple(dict.fromkeys(tags)),
    )
    if trigger.assignee == LEAST_BUSY and trigger.group is None:
        raise UsageError(
            f"{here}: assignee = \"least-busy\" needs a 'group' (the least busy agent of "
            "that group is chosen)"
        )
    if not any(key in table for key in TRIGGER_ACTIONS):
        raise UsageError(f"{here} does nothing: give one of {', '.join(TRIGGER_ACTIONS)}")
    return trigger


@dataclass
class TriggerFiring:
    """A trigger that fires on a ticket and the changes it makes (or would make)."""

    trigger: str
    changes: list[dict[str, Any]] = field(default_factory=list)  # {action, from, to}
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"trigger": self.trigger, "changes": self.changes}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class TriggerOutcome:
    """`triggers test` / `triggers run` for one ticket: which triggers fire, what changes."""

    ticket_id: str
    fired: list[TriggerFiring] = field(default_factory=list)
    applied: bool = False  # run: the changes were written
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket_id,
            "fired": [f.to_dict() for f in self.fired],
            "applied": self.applied,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TriggerOutcome:
        return cls(
            ticket_id=doc["ticket"],
            fired=[
                TriggerFiring(f["trigger"], list(f.get("changes") or []), f.get("note", ""))
                for f in doc.get("fired") or []
            ],
            applied=bool(doc.get("applied")),
            note=doc.get("note") or "",
        )


def config_strings(key: str, raw: Any, allowed: Sequence[str] | None = None) -> list[str]:
    """A configuration value that is one string or a list of them, none blank, each one of
    ``allowed`` when given (a trigger's conditions, a saved view's repeatable flags)."""
    values = [raw] if isinstance(raw, str) else raw
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v.strip() for v in values)
    ):
        raise UsageError(f"{key!r} must be a non-empty string or list of strings")
    for value in values:
        if allowed is not None and value not in allowed:
            raise UsageError(f"{key!r} value {value!r} is not one of {', '.join(allowed)}")
    return values


def trigger_from_dict(doc: dict[str, Any]) -> Trigger:
    """A trigger as ``Trigger.to_dict`` writes it (the REST API's `GET /triggers`)."""
    table = dict(doc.get("conditions") or {})
    actions = dict(doc.get("actions") or {})
    if "priority" in actions:
        actions["set_priority"] = actions.pop("priority")
    table.update(actions)
    return trigger_from_table(doc["name"], table, "the server's triggers")


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
    # SPEC §16 editing: the subject, the category and the cc users.
    subject: str | None = None
    category: str | None = None
    add_cc: tuple[str, ...] = ()
    remove_cc: tuple[str, ...] = ()
    cc: tuple[str, ...] | None = None  # the full new list (REST PATCH), instead of add/remove

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
            and not self.edits
        )

    @property
    def edits(self) -> bool:
        """Whether it edits the subject, category or cc (SPEC §16)."""
        return (
            self.subject is not None
            or self.category is not None
            or bool(self.add_cc)
            or bool(self.remove_cc)
            or self.cc is not None
        )


@dataclass
class MergeResult:
    """`tickets merge` of one ticket (SPEC §16): the duplicate as it is now (closed as
    `duplicate`, ``duplicate_of`` the target) and the target it went into; ``changed`` is
    False when it was already merged there."""

    ticket: Ticket
    target: Ticket
    changed: bool = True


#: The system messages a merge posts on both sides, naming the other (SPEC §16).
MERGED_INTO_BODY = "Merged into ticket {target} as a duplicate; the conversation continues there."
MERGED_FROM_BODY = "Ticket {ticket} was merged into this ticket as a duplicate."


def check_text(value: str, what: str) -> None:
    """Text to be stored must be text: an argument typed in another encoding (Latin-1
    `café`) reaches Python as a lone surrogate, which no store can write (exit 2, not 1)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8; nothing written") from None


def check_subject(subject: Any) -> str:
    """A subject as `tickets create` and `tickets update --subject` take it: not empty, at
    most MAX_SUBJECT characters (exit 2); returned stripped."""
    if not isinstance(subject, str) or not subject.strip():
        raise UsageError("the subject must not be empty")
    check_text(subject, "the subject")
    if len(subject.strip()) > MAX_SUBJECT:
        raise UsageError(
            f"the subject is {len(subject.strip())} characters; at most {MAX_SUBJECT}, "
            "nothing written"
        )
    return subject.strip()


def merge_cc(current: list[str], changes: TicketChanges, requester: str) -> list[str]:
    """The cc users after ``changes``: the full new list, or ``current`` with users removed
    and added (in order, once each); the requester is never a cc of their own ticket."""
    if changes.cc is not None:
        wanted = list(dict.fromkeys(changes.cc))
    else:
        wanted = [u for u in current if u not in changes.remove_cc]
        wanted += [u for u in dict.fromkeys(changes.add_cc) if u not in wanted]
    return [u for u in wanted if u != requester]


def validate_new_ticket(
    subject: str, body: str, type_: str, category: str, priority: str, cc: Any
) -> None:
    """`tickets create` input every backend refuses the same way (exit 2)."""
    check_subject(subject)
    check_body(body)
    for value, allowed, name in (
        (type_, TICKET_TYPES, "type"),
        (category, CATEGORIES, "category"),
        (priority, PRIORITIES, "priority"),
    ):
        if value not in allowed:
            raise UsageError(f"invalid {name} {value!r}; valid: {', '.join(allowed)}")
    if not isinstance(cc, list | tuple) or not all(isinstance(u, str) for u in cc):
        raise UsageError("cc must be a list of usernames")


def actions_failed(ticket_id: str, exc: SupportctlError) -> SupportctlError:
    """A reply was made but the changes meant to follow it were refused: the same error
    (and exit code), saying that the reply stands."""
    exc.message = f"replied to ticket {ticket_id}, but its actions failed: {exc.message}"
    return exc


def validate_changes(changes: TicketChanges) -> None:
    """`tickets update` flags every backend refuses the same way (exit 2)."""
    if changes.empty:
        raise UsageError(
            "nothing to update: give --status, --priority, --assignee, --group, "
            "--add-tag, --remove-tag, --subject, --category, --add-cc or --remove-cc"
        )
    if changes.subject is not None:
        check_subject(changes.subject)
    if isinstance(changes.group, str):
        check_text(changes.group, "the group")
    for tag in (*changes.add_tags, *changes.remove_tags):
        if isinstance(tag, str):
            check_text(tag, "the tag")
    if changes.category is not None and changes.category not in CATEGORIES:
        raise UsageError(f"invalid category {changes.category!r}; valid: {', '.join(CATEGORIES)}")
    for name in (*changes.add_cc, *changes.remove_cc, *(changes.cc or ())):
        if not isinstance(name, str) or not name.strip():
            raise UsageError("a cc user must be a username (not empty)")
    both = sorted(set(changes.add_cc) & set(changes.remove_cc))
    if both:
        raise UsageError(f"--add-cc and --remove-cc both name {', '.join(both)}")
    if changes.status is not None and changes.status not in STATUSES:
        raise UsageError(f"invalid status {changes.status!r}; valid: {', '.join(STATUSES)}")
    if changes.status == "closed":
        raise UsageError("close tickets with `supportctl tickets close` (it records a resolution)")
    if changes.status == "escalated":
        raise UsageError("escalate tickets with `supportctl escalations create`")
    if changes.priority is not None and changes.priority not in PRIORITIES:
        raise UsageError(f"invalid priority {changes.priority!r}; valid: {', '.join(PRIORITIES)}")


def sweep_rule_from_dict(doc: Any) -> SweepRule:
    """A rule as the REST API carries it (``SweepRule.to_dict``); UsageError when malformed."""
    if not isinstance(doc, dict):
        raise UsageError("each sweep rule must be an object")
    known = {"name", "action", "idle_seconds", "statuses", "priorities", "types", "orgs", "groups"}
    unknown = sorted(set(doc) - known)
    if unknown:  # a filter this server does not know would widen the sweep: refused
        raise UsageError(
            f"unknown sweep rule field(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )
    for key in ("statuses", "priorities", "types", "orgs", "groups"):
        value = doc.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            raise UsageError(f"sweep rule field {key!r} must be a list of strings")
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
            groups=tuple(doc.get("groups") or ()),
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
    import hashlib  # here, not at the top: OpenSSL costs every command ~5 ms to import

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


def check_body(body: str, what: str = "body") -> None:
    if not body or not body.strip():
        raise UsageError(f"empty {what}; nothing written")
    if "\x00" in body:
        raise UsageError(f"the {what} contains a NUL character; nothing written")
    check_text(body, f"the {what}")


def check_date(value: str | None) -> str | None:
    """`--expected DATE`: a calendar date, YYYY-MM-DD."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UsageError(f"invalid date {value!r}: use YYYY-MM-DD") from None


def check_url(url: str, example: str) -> None:
    """A backend's base URL: http:// or https://, a host, a valid port (exit 2 with a hint,
    never a crash further down)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        raise UsageError(f"invalid URL {url!r}: {exc}", hint=f"for example {example}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        rest = url.split("://", 1)[-1].lstrip("/")
        raise UsageError(
            f"invalid URL {url!r}: it must start with http:// or https://",
            hint=f"for example --url https://{rest}" if rest else f"for example {example}",
        )
    if any(c.isspace() for c in url) or port == 0:
        raise UsageError(f"invalid URL {url!r}", hint=f"for example {example}")


def with_article(role: str) -> str:
    """ "a user", "an admin", "an agent" — for messages that say who the caller is."""
    return {"user": "a user", "admin": "an admin", "agent": "an agent"}.get(role, role)


def check_query(query: TicketQuery) -> None:
    """`tickets list` values every implementation refuses the same way (exit 2)."""
    if query.scope not in SCOPES:
        raise UsageError(f"invalid scope {query.scope!r}; valid scopes: {', '.join(SCOPES)}")
    if query.sort not in SORT_KEYS:
        raise UsageError(f"invalid sort {query.sort!r}; valid sorts: {', '.join(SORT_KEYS)}")
    if query.limit < 0:
        raise UsageError("--limit must be 0 (all) or a positive number")
    if query.sla is not None and query.sla not in SLA_FILTERS:
        raise UsageError(f"invalid --sla {query.sla!r}; valid: {', '.join(SLA_FILTERS)}")


def merge_tags(current: list[str], changes: TicketChanges) -> list[str]:
    """The tags after ``changes``: the full new list, or ``current`` with tags removed and
    added (in order, once each)."""
    if changes.tags is not None:
        return list(dict.fromkeys(changes.tags))
    tags = [t for t in current if t not in changes.remove_tags]
    tags += [t for t in dict.fromkeys(changes.add_tags) if t not in tags]
    return tags


def unsupported(command: str, backend: str) -> UsageError:
    """SPEC §6: the one message for a command a backend cannot serve (exit 2)."""
    return UsageError(f"`{command}` is not supported by the `{backend}` backend")


def run_sweep(
    rules: list[SweepRule],
    candidates: Callable[[SweepRule], list[str]],
    act: Callable[[str, SweepRule], SweepOutcome],
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    preview: Callable[[str, SweepRule], SweepOutcome | None] | None = None,
) -> list[SweepOutcome]:
    """The sweep loop every implementation shares: each rule's candidates in turn, each one
    acted on by ``act`` (which re-checks it first) or, with ``dry_run``, only reported —
    as skipped where ``preview`` says the real sweep would skip it."""
    outcomes: list[SweepOutcome] = []
    for rule in rules:
        for ticket_id in candidates(rule):
            if dry_run:
                skipped = preview(ticket_id, rule) if preview else None
                outcomes.append(
                    skipped
                    or SweepOutcome(ticket_id, rule.name, rule.action, f"would-{rule.action}")
                )
            else:
                outcomes.append(act(ticket_id, rule))
            if progress:
                progress(1)
    return outcomes


SWEEP_RESULTS = {"close": "closed", "expire": "expired", "remind": "reminded"}


def sweep_failure(ticket_id: str, rule: SweepRule, exc: SupportctlError) -> SweepOutcome:
    """A ticket a sweep could not act on: reported with its error and exit code."""
    return SweepOutcome(
        ticket_id, rule.name, rule.action, "failed", exc.message, int(exc.exit_status)
    )


class TicketService(ABC):
    """What every backend offers the command tree (SPEC §3, §4): one acting user's view of
    the tickets, and the actions they may take.  Implementations raise the exceptions of
    ``supportctl.errors``, so every command exits with the same code on every backend."""

    # -- identity -----------------------------------------------------------------------------
    @property
    @abstractmethod
    def actor(self) -> User:
        """The acting user; PermissionDenied (exit 4) when there is none."""

    def identity_notice(self) -> str | None:
        """A warning when the configured user is not the one who acts (remote backends
        whose credentials decide); None when all is as configured."""
        return None

    def watch_identity(self, warn: Callable[[str], None]) -> None:
        """Have ``warn`` called with the identity notice, if there is one: here, now; a
        remote backend that learns who acts from its first answer calls it then."""
        notice = self.identity_notice()
        if notice:
            warn(notice)

    @abstractmethod
    def require_history_access(self) -> User:
        """The actor, if they may read ticket history (FedRAMP users may not, 000)."""

    # -- reading ------------------------------------------------------------------------------
    @abstractmethod
    def list_tickets(self, query: TicketQuery, *, with_thread: bool = False) -> ListResult:
        """The tickets the query and the actor's visibility select, sorted and cut to
        ``query.limit``; ``with_thread`` gives whole documents (messages and events)."""

    @abstractmethod
    def get_visible_ticket(self, ticket_id: str) -> Ticket:
        """The ticket as the actor may see it; NotFound when it is not theirs to see."""

    @abstractmethod
    def show_ticket(self, ticket_id: str) -> TicketView: ...

    @abstractmethod
    def ticket_json(self, ticket: Ticket) -> dict[str, Any]:
        """A ticket as JSON output shows it: as the actor may see it, with its ``sla``."""

    @abstractmethod
    def attachment(self, ticket_id: str, name: str) -> tuple[Attachment, bytes, int]:
        """The newest attachment called ``name``, its bytes, and how many share the name."""

    def visible_ticket_ids(self) -> list[str]:
        """Every ticket id the actor may see (for shell completion); none for FedRAMP users."""
        if self.actor.fedramp:
            return []
        scopes = ["mine"] if self.actor.role == "user" else ["org", "mine"]
        ids: dict[str, None] = {}
        for scope in scopes:
            result = self.list_tickets(TicketQuery(scope=scope, sort="id", limit=0))
            ids.update(dict.fromkeys(t["id"] for t in result.tickets))
        return list(ids)

    # -- working tickets ----------------------------------------------------------------------
    @abstractmethod
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
    ) -> Ticket: ...

    @abstractmethod
    def reply(
        self,
        ticket_id: str,
        body: str,
        *,
        internal: bool = False,
        attachments: list[NewAttachment] | None = None,
        then: TicketChanges | None = None,
    ) -> Ticket:
        """Reply (or note); ``then`` are changes that follow the reply on the same ticket (a
        template's actions, SPEC §13): one atomic change on local stores; remotes send them
        after the reply, and a failure of theirs is raised with the reply standing
        (``actions_failed``)."""

    @abstractmethod
    def close(
        self,
        ticket_id: str,
        *,
        reason: str | None = None,
        comment: str | None = None,
        with_escalation: bool = False,
    ) -> tuple[Ticket, bool]:
        """Returns (ticket, changed); closing a closed ticket changes nothing, and a ticket
        with an escalation not yet resolved closes only ``with_escalation`` (exit 5)."""

    @abstractmethod
    def feedback(
        self, ticket_id: str, rating: int, comment: str | None = None
    ) -> tuple[Ticket, bool]:
        """Returns (ticket, changed); a second feedback changes nothing."""

    @abstractmethod
    def update(
        self, ticket_id: str, changes: TicketChanges, *, if_match: str | None = None
    ) -> tuple[Ticket, list[Event]]:
        """Returns the ticket and the events this update added (none: nothing changed)."""

    @abstractmethod
    def merge(self, ticket_id: str, into: str) -> MergeResult:
        """Close ``ticket_id`` as a duplicate of ``into`` (agents, SPEC §16): its requester
        and cc join the target's cc, a system message on each side names the other, both
        tickets in one atomic change. Into itself, into a closed ticket or into one that is
        (through its chain) a duplicate of it: Conflict (exit 5). Already merged into
        ``into``: nothing changes (``changed`` False)."""

    # -- triggers (SPEC §13) --------------------------------------------------------------------
    # Not abstract: a backend that does not serve `triggers …` (rt: RT has its own scrips) is
    # refused by the registry before its service is built.
    def triggers(self) -> list[Trigger]:
        """The triggers that route tickets created through this service (agents only)."""
        raise UsageError("triggers are not supported by this backend")

    def test_triggers(self, ticket_id: str) -> TriggerOutcome:
        """Which triggers would fire on the ticket as it is now; writes nothing (agents)."""
        raise UsageError("triggers are not supported by this backend")

    def run_triggers(self, ticket_id: str) -> TriggerOutcome:
        """Apply the triggers to the ticket now, in one change (agents; closed: exit 5)."""
        raise UsageError("triggers are not supported by this backend")

    # -- escalations --------------------------------------------------------------------------
    @abstractmethod
    def list_escalations(
        self, *, scope: str = "mine", stages: tuple[str, ...] = ()
    ) -> list[Escalation]: ...

    @abstractmethod
    def get_escalation(
        self, escalation_id: str | None = None, *, ticket_id: str | None = None
    ) -> Escalation: ...

    @abstractmethod
    def create_escalation(
        self, ticket_id: str, description: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]: ...

    @abstractmethod
    def advance_escalation(
        self, escalation_id: str, to: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]: ...

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

    # -- proxy login access (SPEC §5) ----------------------------------------------------------
    @abstractmethod
    def proxy_access(self, ticket_id: str) -> list[ProxyEntry]: ...

    @abstractmethod
    def set_proxy_access(self, ticket_id: str, value: bool | None) -> tuple[ProxyEntry, bool]:
        """Set (or, with None, flip) the actor's own proxy access; returns (entry, changed)."""

    # -- organisations, sweeps, reports ------------------------------------------------------
    @abstractmethod
    def org_view(self, org_id: str | None = None) -> OrgView: ...

    # -- account pages (SPEC §14): not abstract, a remote without them is refused by the
    # registry before it is built (rt) ---------------------------------------------------------
    def me(self) -> MeView:
        """The caller's profile, org and contacts (`me`)."""
        raise unsupported("me", type(self).__name__)

    def set_support_access(self, value: bool) -> tuple[User, bool]:
        """Set the caller's account-level proxy login default; returns (user, changed)."""
        raise unsupported("me support-access", type(self).__name__)

    def billing(self, org_id: str | None = None) -> BillingView:
        """The org's billing contacts (its brand admins only)."""
        raise unsupported("org billing show", type(self).__name__)

    def set_billing_contact(
        self, kind: str, name: str, email: str, org_id: str | None = None
    ) -> tuple[BillingView, bool]:
        """Set the primary or billing contact (``kind``: primary|billing); (view, changed)."""
        raise unsupported("org billing set", type(self).__name__)

    def confirm_billing(self, org_id: str | None = None) -> BillingView:
        """Record that a brand admin confirmed the billing contacts (``confirmed_at``)."""
        raise unsupported("org billing confirm", type(self).__name__)

    @abstractmethod
    def sweep(
        self,
        rules: list[SweepRule],
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> list[SweepOutcome]: ...

    @abstractmethod
    def report(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        scope: str = "mine",
        org: str | None = None,
        by: str = "priority",
    ) -> dict[str, Any]: ...
