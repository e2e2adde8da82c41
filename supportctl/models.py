"""The domain documents of SPEC §2 and their JSON form.

JSON field names are the contract.  ``from_dict(..., validate=True)`` checks
every field of untrusted input (imports, HTTP bodies) and raises ``ValueError``
naming the field; the store reads its own files with ``validate=False``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from supportctl.timeutil import normalize_ts

TICKET_TYPES = ("email", "chat", "phone", "call", "web")
CATEGORIES = ("technical", "billing", "general")
STATUSES = ("new", "open", "pending", "escalated", "resolved", "closed")
RESOLUTIONS = ("solved", "spam", "duplicate", "test", "abuse", "chat", "phone", "expired", "other")
PRIORITIES = ("low", "normal", "high", "urgent")
MESSAGE_KINDS = ("email", "chat", "note", "system")
ROLES = ("user", "admin", "agent")
STAGES = ("submitted", "evaluating", "in_engineering", "confirm_resolution", "resolved")
CALL_STATUSES = ("pending", "accepted")
EVENT_ACTIONS = (
    "created",
    "replied",
    "noted",
    "status_changed",
    "priority_changed",
    "assigned",
    "group_changed",
    "tags_changed",
    "escalated",
    "escalation_advanced",
    "proxy_access_changed",
    "closed",
    "feedback",
    "restored",
    "subject_changed",
    "category_changed",
    "cc_changed",
    "merged",
)
# Fields of a ticket kept in the listing index: everything but the thread and the trail.
SUMMARY_EXCLUDED = ("messages", "events")

_ESCALATION_ID = re.compile(r"^CP-[0-9]{1,12}$")
_TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}").fullmatch


# -- small validators ---------------------------------------------------------------------------


def _req(data: dict[str, Any], name: str) -> Any:
    if name not in data:
        raise ValueError(f"missing field {name!r}")
    return data[name]


def _str(value: Any, name: str, *, nullable: bool = False, nonempty: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} must be a string")
    if nonempty and not value.strip():
        raise ValueError(f"field {name!r} must not be empty")
    if "\x00" in value:
        raise ValueError(f"field {name!r} contains a NUL character")
    return value


def _enum(value: Any, name: str, allowed: tuple[str, ...], *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if value not in allowed:
        raise ValueError(f"field {name!r} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _ts(value: Any, name: str, *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    try:
        return normalize_ts(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"field {name!r} must be an RFC 3339 time (got {value!r})") from None


def _str_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"field {name!r} must be a list of strings")
    return list(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"field {name!r} must be true or false")
    return value


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"field {name!r} must be an object")
    return value


# Field names of each document class (less ``data``, plus the extras), computed once: an
# import checks ~1.2 million objects at 100,000 tickets, and ``fields()`` walks the class.
_KNOWN_FIELDS: dict[tuple[type, tuple[str, ...]], frozenset[str]] = {}


def _check_unknown(data: dict[str, Any], cls: type, what: str, extra: tuple[str, ...] = ()) -> None:
    known = _KNOWN_FIELDS.get((cls, extra))
    if known is None:
        known = frozenset(f.name for f in fields(cls) if f.name != "data") | frozenset(extra)
        _KNOWN_FIELDS[cls, extra] = known
    if data.keys() <= known:
        return
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(unknown)}")


# -- documents ----------------------------------------------------------------------------------


@dataclass
class Attachment:
    name: str
    size: int
    sha256: str
    content_type: str

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> Attachment:
        if validate and not (
            # The common case in one expression: every check below passes.
            type(data) is dict
            and data.keys() <= _ATTACHMENT_FIELDS
            and type(name := data.get("name")) is str
            and name.strip()
            and "\x00" not in name
            and type(size := data.get("size")) is int
            and size >= 0
            and type(digest := data.get("sha256")) is str
            and _SHA256_HEX(digest) is not None
            and type(content_type := data.get("content_type")) is str
            and "\x00" not in content_type
        ):
            _obj(data, "attachment")
            _check_unknown(data, cls, "attachment")
            _str(_req(data, "name"), "attachments.name", nonempty=True)
            size = _req(data, "size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValueError("field 'attachments.size' must be a non-negative integer")
            digest = _req(data, "sha256")
            if not isinstance(digest, str) or not _SHA256_HEX(digest):
                raise ValueError("field 'attachments.sha256' must be 64 lowercase hex digits")
            _str(_req(data, "content_type"), "attachments.content_type")
        return cls(data["name"], data["size"], data["sha256"], data["content_type"])


@dataclass
class Message:
    id: str
    kind: str
    author: str
    at: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.kind == "note"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "at": self.at,
            "body": self.body,
            "attachments": [
                {"name": a.name, "size": a.size, "sha256": a.sha256, "content_type": a.content_type}
                for a in self.attachments
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> Message:
        if validate and (
            # The common case in one expression: every check below but the time's passes, so
            # the time's is the only one that can fail (with the error it gives below).
            type(data) is dict
            and data.keys() <= _MESSAGE_FIELDS
            and type(id_ := data.get("id")) is str
            and id_.strip()
            and "\x00" not in id_
            and data.get("kind") in MESSAGE_KINDS
            and type(author := data.get("author")) is str
            and author.strip()
            and "\x00" not in author
            and "at" in data
            and type(body := data.get("body")) is str
            and "\x00" not in body
            and type(attachments := data.get("attachments", [])) is list
        ):
            at = _ts(data["at"], "messages.at")
        elif validate:
            _obj(data, "message")
            _check_unknown(data, cls, "message")
            _str(_req(data, "id"), "messages.id", nonempty=True)
            _enum(_req(data, "kind"), "messages.kind", MESSAGE_KINDS)
            _str(_req(data, "author"), "messages.author", nonempty=True)
            at = _ts(_req(data, "at"), "messages.at")
            _str(_req(data, "body"), "messages.body")
            attachments = data.get("attachments", [])
            if not isinstance(attachments, list):
                raise ValueError("field 'messages.attachments' must be a list")
        else:
            at = data["at"]
            attachments = data.get("attachments", [])
        return cls(
            id=data["id"],
            kind=data["kind"],
            author=data["author"],
            at=at,
            body=data["body"],
            attachments=[Attachment.from_dict(a, validate) for a in attachments],
        )


@dataclass
class Event:
    at: str
    actor: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> Event:
        if validate and (
            # As in Message.from_dict: every check but the time's, in one expression.
            type(data) is dict
            and data.keys() <= _EVENT_FIELDS
            and "at" in data
            and type(actor := data.get("actor")) is str
            and actor.strip()
            and "\x00" not in actor
            and data.get("action") in EVENT_ACTIONS
            and ((detail := data.get("detail")) is None or type(detail) is dict)
        ):
            at = _ts(data["at"], "events.at")
            if detail is None:
                detail = {}
        elif validate:
            _obj(data, "event")
            _check_unknown(data, cls, "event")
            at = _ts(_req(data, "at"), "events.at")
            _str(_req(data, "actor"), "events.actor", nonempty=True)
            _enum(_req(data, "action"), "events.action", EVENT_ACTIONS)
            detail = data.get("detail")
            detail = {} if detail is None else _obj(detail, "events.detail")
        else:
            at, detail = data["at"], data.get("detail") or {}
        return cls(at=at, actor=data["actor"], action=data["action"], detail=detail)


@dataclass(kw_only=True)
class Ticket:
    # Field order is the order of SPEC §2 (and of every JSON document).
    id: str
    subject: str
    type: str
    category: str
    status: str
    resolution: str | None = None
    priority: str
    requester: str
    org: str
    cc: list[str] = field(default_factory=list)
    assignee: str | None = None
    group: str | None = None
    language: str = "en"
    tags: list[str] = field(default_factory=list)
    created_at: str
    updated_at: str
    closed_at: str | None = None
    proxy_access: dict[str, bool] = field(default_factory=dict)
    call: dict[str, Any] | None = None
    escalation_id: str | None = None
    resources: list[dict[str, str]] = field(default_factory=list)
    feedback: dict[str, Any] | None = None
    #: The ticket this one was closed as a duplicate of (`tickets merge`, SPEC §16).
    duplicate_of: str | None = None
    messages: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = self.summary()
        data["messages"] = [m.to_dict() for m in self.messages]
        data["events"] = [
            {"at": e.at, "actor": e.actor, "action": e.action, "detail": dict(e.detail)}
            for e in self.events
        ]
        return data

    def summary(self) -> dict[str, Any]:
        """The listing form: every field but ``messages`` and ``events``.

        Written out rather than ``dataclasses.asdict``, which deep-copies every message only
        for a summary to drop them (it was half the time of a 100,000-ticket import)."""
        return {
            "id": self.id,
            "subject": self.subject,
            "type": self.type,
            "category": self.category,
            "status": self.status,
            "resolution": self.resolution,
            "priority": self.priority,
            "requester": self.requester,
            "org": self.org,
            "cc": list(self.cc),
            "assignee": self.assignee,
            "group": self.group,
            "language": self.language,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "closed_at": self.closed_at,
            "proxy_access": dict(self.proxy_access),
            "call": dict(self.call) if self.call is not None else None,
            "escalation_id": self.escalation_id,
            "resources": [dict(r) for r in self.resources],
            "feedback": dict(self.feedback) if self.feedback is not None else None,
            "duplicate_of": self.duplicate_of,
        }

    def display_subject(self, requester_name: str | None = None) -> str:
        return display_subject(self.subject, self.type, requester_name or self.requester)

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> Ticket:
        if validate:
            return cls(**_validated_ticket(data))
        values = dict(data)
        values["messages"] = [Message.from_dict(m, False) for m in data.get("messages", [])]
        values["events"] = [Event.from_dict(e, False) for e in data.get("events", [])]
        return cls(**values)


def display_subject(subject: str, ticket_type: str, requester: str) -> str:
    """SPEC §2: phone and call tickets with no subject get a derived one (display only)."""
    if subject.strip():
        return subject
    if ticket_type == "phone":
        return f"Phone call – {requester}"
    if ticket_type == "call":
        return f"Conference call – {requester}"
    return "(no subject)"


def _validated_ticket(data: dict[str, Any]) -> dict[str, Any]:
    _obj(data, "ticket")
    _check_unknown(data, Ticket, "ticket")
    out: dict[str, Any] = {}
    out["id"] = _str(_req(data, "id"), "id", nonempty=True)
    if not _TICKET_ID.fullmatch(out["id"]):
        raise ValueError(f"field 'id' must be letters, digits, '.', '_' or '-' (got {out['id']!r})")
    out["subject"] = _str(_req(data, "subject"), "subject")
    out["type"] = _enum(_req(data, "type"), "type", TICKET_TYPES)
    out["category"] = _enum(_req(data, "category"), "category", CATEGORIES)
    out["status"] = _enum(_req(data, "status"), "status", STATUSES)
    out["priority"] = _enum(_req(data, "priority"), "priority", PRIORITIES)
    out["requester"] = _str(_req(data, "requester"), "requester", nonempty=True)
    out["org"] = _str(_req(data, "org"), "org", nonempty=True)
    out["created_at"] = _ts(_req(data, "created_at"), "created_at")
    out["updated_at"] = _ts(_req(data, "updated_at"), "updated_at")
    out["resolution"] = _enum(data.get("resolution"), "resolution", RESOLUTIONS, nullable=True)
    out["cc"] = _str_list(data.get("cc", []), "cc")
    out["assignee"] = _str(data.get("assignee"), "assignee", nullable=True)
    out["group"] = _str(data.get("group"), "group", nullable=True)
    out["language"] = _str(data.get("language", "en"), "language")
    out["tags"] = _str_list(data.get("tags", []), "tags")
    out["closed_at"] = _ts(data.get("closed_at"), "closed_at", nullable=True)
    proxy = _obj(data.get("proxy_access", {}), "proxy_access")
    for user, value in proxy.items():
        _bool(value, f"proxy_access.{user}")
    out["proxy_access"] = dict(proxy)
    call = data.get("call")
    if call is not None:
        _obj(call, "call")
        unknown = sorted(set(call) - {"scheduled_at", "status", "meeting_url", "passcode"})
        if unknown:
            raise ValueError(f"unknown call field(s): {', '.join(unknown)}")
        call = dict(call)
        call["scheduled_at"] = _ts(call.get("scheduled_at"), "call.scheduled_at", nullable=True)
        _enum(call.get("status", "pending"), "call.status", CALL_STATUSES)
        call.setdefault("status", "pending")
        _str(call.get("meeting_url"), "call.meeting_url", nullable=True)
        _str(call.get("passcode"), "call.passcode", nullable=True)
    out["call"] = call
    escalation_id = _str(data.get("escalation_id"), "escalation_id", nullable=True)
    if escalation_id is not None and not _ESCALATION_ID.match(escalation_id):
        raise ValueError(f"field 'escalation_id' must look like CP-1234 (got {escalation_id!r})")
    out["escalation_id"] = escalation_id
    resources = data.get("resources", [])
    if not isinstance(resources, list):
        raise ValueError("field 'resources' must be a list")
    for res in resources:
        _obj(res, "resources")
        unknown = sorted(set(res) - {"title", "url"})
        if unknown:
            raise ValueError(f"unknown resources field(s): {', '.join(unknown)}")
        _str(_req(res, "title"), "resources.title")
        _str(_req(res, "url"), "resources.url")
    out["resources"] = [dict(r) for r in resources]
    feedback = data.get("feedback")
    if feedback is not None:
        _obj(feedback, "feedback")
        rating = _req(feedback, "rating")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise ValueError("field 'feedback.rating' must be an integer from 1 to 5")
        feedback = {
            "rating": rating,
            "comment": _str(feedback.get("comment"), "feedback.comment", nullable=True),
            "at": _ts(_req(feedback, "at"), "feedback.at"),
        }
    out["feedback"] = feedback
    if out["status"] == "closed" and out["resolution"] is None:
        raise ValueError("a closed ticket needs a 'resolution'")
    duplicate_of = _str(data.get("duplicate_of"), "duplicate_of", nullable=True)
    if duplicate_of is not None:
        if not _TICKET_ID.fullmatch(duplicate_of):
            raise ValueError(f"field 'duplicate_of' must be a ticket id (got {duplicate_of!r})")
        if duplicate_of == out["id"]:
            raise ValueError("field 'duplicate_of' names the ticket itself")
        if out["status"] != "closed" or out["resolution"] != "duplicate":
            raise ValueError(
                "field 'duplicate_of' is for tickets closed as duplicate "
                f"(this one is {out['status']}"
                + (f", {out['resolution']})" if out["resolution"] else ")")
            )
    out["duplicate_of"] = duplicate_of
    messages = data.get("messages", [])
    if not isinstance(messages, list):
        raise ValueError("field 'messages' must be a list")
    out["messages"] = [Message.from_dict(m) for m in messages]
    events = data.get("events", [])
    if not isinstance(events, list):
        raise ValueError("field 'events' must be a list")
    out["events"] = [Event.from_dict(e) for e in events]
    return out


@dataclass
class Escalation:
    id: str
    ticket_id: str
    description: str
    stage: str
    created_at: str
    updated_at: str
    timeline: list[dict[str, str]] = field(default_factory=list)
    expected_resolution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> Escalation:
        if not validate:
            return cls(**data)
        _obj(data, "escalation")
        _check_unknown(data, cls, "escalation")
        esc_id = _str(_req(data, "id"), "id", nonempty=True)
        if not _ESCALATION_ID.match(esc_id):
            raise ValueError(f"field 'id' must look like CP-1234 (got {esc_id!r})")
        timeline = data.get("timeline", [])
        if not isinstance(timeline, list):
            raise ValueError("field 'timeline' must be a list")
        clean = []
        for step in timeline:
            _obj(step, "timeline")
            entry = {
                "stage": _enum(_req(step, "stage"), "timeline.stage", STAGES),
                "at": _ts(_req(step, "at"), "timeline.at"),
            }
            if step.get("note") is not None:  # why the step happened ("ticket closed")
                entry["note"] = _str(step["note"], "timeline.note")
            clean.append(entry)
        expected = data.get("expected_resolution")
        if expected is not None:
            _str(expected, "expected_resolution")
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", expected):
                expected = _ts(expected, "expected_resolution")
        return cls(
            id=esc_id,
            ticket_id=_str(_req(data, "ticket_id"), "ticket_id", nonempty=True),
            description=_str(_req(data, "description"), "description"),
            stage=_enum(_req(data, "stage"), "stage", STAGES),
            timeline=clean,
            expected_resolution=expected,
            created_at=_ts(_req(data, "created_at"), "created_at"),
            updated_at=_ts(_req(data, "updated_at"), "updated_at"),
        )


@dataclass
class User:
    username: str
    name: str
    email: str
    org: str
    role: str = "user"
    fedramp: bool = False
    support_access: bool = False
    #: The support teams an agent works in (001); ``[]`` for others and when absent.
    groups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> User:
        if not validate:
            return cls(**data)
        _obj(data, "user")
        _check_unknown(data, cls, "user")
        username = _str(_req(data, "username"), "username", nonempty=True)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}", username):
            raise ValueError(f"field 'username' has characters not allowed (got {username!r})")
        return cls(
            username=username,
            name=_str(data.get("name", username), "name"),
            email=_str(data.get("email", ""), "email"),
            org=_str(_req(data, "org"), "org", nonempty=True),
            role=_enum(data.get("role", "user"), "role", ROLES),
            fedramp=_bool(data.get("fedramp", False), "fedramp"),
            support_access=_bool(data.get("support_access", False), "support_access"),
            groups=_groups(data.get("groups", [])),
        )


def _groups(value: Any) -> list[str]:
    """A user's ``groups``: a list of non-empty group names, each once (in order)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("field 'groups' must be a list of group names (strings)")
    for name in value:
        _str(name, "groups", nonempty=True)
    return list(dict.fromkeys(value))


ACCOUNT_TEAM = ("success_manager", "account_executive", "technical_account_manager")
BILLING_CONTACTS = ("primary_contact", "billing_contact")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def contact(value: Any) -> dict[str, Any] | None:
    """A contact as stored (SPEC §2): ``{name, email, updated_at}`` or None; a bare name
    (what older stores and import lines hold) is a name-only contact."""
    if isinstance(value, str):
        return {"name": value, "email": None, "updated_at": None}
    return value


def _contact(value: Any, name: str) -> dict[str, Any] | None:
    value = contact(value)
    if value is None:
        return None
    _obj(value, name)
    unknown = sorted(set(value) - {"name", "email", "updated_at"})
    if unknown:
        raise ValueError(f"unknown {name} field(s): {', '.join(unknown)}")
    return {
        "name": _str(value.get("name"), f"{name}.name", nonempty=True),
        "email": _str(value.get("email"), f"{name}.email", nullable=True),
        "updated_at": _ts(value.get("updated_at"), f"{name}.updated_at", nullable=True),
    }


def _date(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"field {name!r} must be a date YYYY-MM-DD (got {value!r})")
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"field {name!r} must be a date YYYY-MM-DD (got {value!r})") from None
    return value


@dataclass
class Org:
    id: str
    name: str
    data_center: str = ""
    package: str = ""
    renewal_date: str | None = None
    account_team: dict[str, Any] = field(default_factory=dict)
    billing: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> Org:
        if not validate:
            org = cls(**data)
            # A bare name where a contact belongs (stores before contacts): a contact.
            team = org.account_team or {}
            if any(isinstance(v, str) for v in team.values()):
                org.account_team = {k: contact(v) for k, v in team.items()}
            return org
        _obj(data, "org")
        _check_unknown(data, cls, "org")
        org_id = _str(_req(data, "id"), "id", nonempty=True)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", org_id):
            raise ValueError(f"field 'id' has characters not allowed (got {org_id!r})")
        team = _obj(data.get("account_team", {}), "account_team")
        billing = _obj(data.get("billing", {}), "billing")
        unknown = sorted(set(team) - set(ACCOUNT_TEAM)) + sorted(
            set(billing) - {*BILLING_CONTACTS, "confirmed_at"}
        )
        if unknown:
            raise ValueError(f"unknown account_team/billing field(s): {', '.join(unknown)}")
        return cls(
            id=org_id,
            name=_str(_req(data, "name"), "name", nonempty=True),
            data_center=_str(data.get("data_center", ""), "data_center"),
            package=_str(data.get("package", ""), "package"),
            renewal_date=_date(data.get("renewal_date"), "renewal_date"),
            account_team={
                key: _contact(team.get(key), f"account_team.{key}") for key in ACCOUNT_TEAM
            },
            billing={
                **{key: _contact(billing.get(key), f"billing.{key}") for key in BILLING_CONTACTS},
                "confirmed_at": _ts(
                    billing.get("confirmed_at"), "billing.confirmed_at", nullable=True
                ),
            },
        )


_ATTACHMENT_FIELDS = frozenset(f.name for f in fields(Attachment))
_MESSAGE_FIELDS = frozenset(f.name for f in fields(Message))
_EVENT_FIELDS = frozenset(f.name for f in fields(Event))


def id_sort_key(ticket_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, after any non-numeric ones."""
    return (1, int(ticket_id), "") if ticket_id.isdigit() else (0, 0, ticket_id)


@dataclass
class AttachmentBlob:
    """Attachment bytes in import/export lines (``"kind": "attachment"``), base64-encoded."""

    sha256: str
    data: bytes

    @property
    def id(self) -> str:
        return self.sha256

    def to_dict(self) -> dict[str, Any]:
        import base64

        return {"sha256": self.sha256, "content_base64": base64.b64encode(self.data).decode()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], validate: bool = True) -> AttachmentBlob:
        import base64
        import binascii
        import hashlib

        _obj(data, "attachment")
        _check_unknown(data, cls, "attachment", extra=("content_base64",))
        digest = _req(data, "sha256")
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError("field 'sha256' must be 64 lowercase hex digits")
        encoded = _str(_req(data, "content_base64"), "content_base64")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("field 'content_base64' is not valid base64") from None
        if hashlib.sha256(raw).hexdigest() != digest:
            raise ValueError("the content does not match its 'sha256'")
        return cls(digest, raw)


KINDS: dict[str, type] = {
    "org": Org,
    "user": User,
    "ticket": Ticket,
    "escalation": Escalation,
    "attachment": AttachmentBlob,
}
