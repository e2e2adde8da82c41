"""The Request Tracker backend (SPEC §11): supportctl over RT 5's REST2 API.

Imported only for ``--backend rt``.  It reuses the http backend's ``HttpClient`` (one
``requests.Session``, timeouts, bounded retries with backoff honouring ``Retry-After``,
``-v`` logging without credentials) and maps RT's answers onto the same exceptions, so
every command exits with the same codes as on the other backends.  RT applies its own
rights; the credential's RT user is the acting user (privileged users act as agents).

The mapping both ways, and what is lost, is documented in ``docs/rt.md``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from supportctl.api import (
    MY_GROUPS,
    REMINDER_BODY,
    SWEEP_RESULTS,
    ListResult,
    MergeResult,
    NewAttachment,
    OrgView,
    ProxyEntry,
    SweepOutcome,
    SweepRule,
    TicketChanges,
    TicketQuery,
    TicketService,
    TicketView,
    actions_failed,
    check_attachments,
    check_body,
    check_query,
    check_url,
    content_type_of,
    merge_cc,
    merge_tags,
    run_sweep,
    sweep_failure,
    unsupported,
    validate_changes,
    validate_new_ticket,
    with_article,
)
from supportctl.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    SupportctlError,
    Unavailable,
    UsageError,
)
from supportctl.models import (
    RESOLUTIONS,
    Attachment,
    Escalation,
    Event,
    Message,
    Ticket,
    User,
)
from supportctl.remote.http import HttpClient
from supportctl.remote.rtlogin import REST_PATH, EarlyLogin, credentials, rest_url
from supportctl.sla import SlaPolicy, evaluate, marks
from supportctl.sla import matches as sla_matches
from supportctl.timeutil import back, format_ts, now, parse_ts

PAGE_SIZE = 100
NOBODY = "Nobody"
UNSET_DATE = "1970-01-01T00:00:00Z"
#: The queue new tickets go to (RT needs one); SUPPORTCTL_RT_QUEUE overrides it.
DEFAULT_QUEUE = "General"
#: A ticket custom field of this name holds supportctl's tags (see docs/rt.md).
TAGS_FIELD = "Tags"

# -- statuses (SPEC §11) ------------------------------------------------------------------------
#: RT status → (supportctl status, resolution).
STATUS_FROM_RT: dict[str, tuple[str, str | None]] = {
    "new": ("new", None),
    "open": ("open", None),
    "stalled": ("pending", None),
    "resolved": ("closed", "solved"),
    "rejected": ("closed", "other"),
    "deleted": ("closed", "other"),
}
#: supportctl status → the RT statuses that read back as it (for TicketSQL).
STATUS_TO_RT: dict[str, tuple[str, ...]] = {
    "new": ("new",),
    "open": ("open",),
    "pending": ("stalled",),
    "escalated": (),  # not an RT concept
    "resolved": (),  # RT has no "answered, not yet final" state
    "closed": ("resolved", "rejected"),
}
#: Close reasons kept as RT `resolved`; every other reason closes as `rejected`.
RESOLVED_REASONS = frozenset({"solved", "chat", "phone"})

# -- priorities ---------------------------------------------------------------------------------
#: Lower bounds of each level on RT's numeric priority: < 25 low, 25–74 normal, 75–99 high,
#: ≥ 100 urgent.  RT's own labels (Low 0, Medium 50, High 100) read as low, normal, urgent.
PRIORITY_THRESHOLDS: tuple[tuple[int, str], ...] = ((100, "urgent"), (75, "high"), (25, "normal"))
#: The number written for each level (each inside its own band).
PRIORITY_TO_RT: dict[str, int] = {"low": 0, "normal": 50, "high": 75, "urgent": 100}


def priority_from_rt(value: Any) -> str:
    """RT's numeric priority (a number or a numeric string; blank = 0) → a level."""
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        return "normal"
    for bound, level in PRIORITY_THRESHOLDS:
        if number >= bound:
            return level
    return "low"


def priority_sql(level: str) -> str:
    """The TicketSQL range of one level."""
    bounds = {level: bound for bound, level in PRIORITY_THRESHOLDS}
    bounds["low"] = None  # type: ignore[assignment]
    order = ["low", "normal", "high", "urgent"]
    i = order.index(level)
    low = bounds[level]
    high = bounds[order[i + 1]] if i + 1 < len(order) else None
    parts = []
    if low is not None:
        parts.append(f"Priority >= {low}")
    if high is not None:
        parts.append(f"Priority < {high}")
    return " AND ".join(parts)


def status_from_rt(status: str) -> tuple[str, str | None]:
    """RT status → (status, resolution); an unknown (custom lifecycle) status reads as open."""
    return STATUS_FROM_RT.get(status, ("open", None))


# -- TicketSQL ----------------------------------------------------------------------------------
def sql_quote(value: str) -> str:
    """A TicketSQL string literal: single quotes, with backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_time(value: datetime) -> str:
    """A TicketSQL date: UTC, in the SQL form RT parses without guessing."""
    return format_ts(value).replace("T", " ").replace("Z", "")


def _any_of(clauses: list[str]) -> str:
    if len(clauses) == 1:
        return clauses[0]
    return "(" + " OR ".join(clauses) + ")"


NOTHING = "id = 0"  # a condition no ticket meets


def ticket_sql(query: TicketQuery, me: str, *, now: datetime) -> str:
    """The TicketSQL of `tickets list` filters (SPEC §4, §9) for acting user ``me``.

    Repeated flags are ORed, different flags ANDed, tags ANDed.  Filters RT cannot hold
    (a type but email, a category but general, an org, statuses escalated/resolved) match
    nothing rather than everything.
    """
    where: list[str] = ["Status != 'deleted'"]
    if query.scope == "mine":
        who = sql_quote(me)
        where.append(f"(Requestor.Name = {who} OR Cc.Name = {who} OR Owner = {who})")
    if query.org:
        where.append(NOTHING)  # RT has no organisations
    if query.statuses:
        rt = [s for status in dict.fromkeys(query.statuses) for s in STATUS_TO_RT[status]]
        where.append(_any_of([f"Status = {sql_quote(s)}" for s in rt]) if rt else NOTHING)
    if query.types and "email" not in query.types:
        where.append(NOTHING)
    if query.categories and "general" not in query.categories:
        where.append(NOTHING)
    if query.priorities:
        ranges = [priority_sql(p) for p in dict.fromkeys(query.priorities)]
        where.append(_any_of([f"({r})" if " AND " in r else r for r in ranges]))
    if query.resolutions:
        rt = [
            s for s, (_st, r) in STATUS_FROM_RT.items() if r in query.resolutions and s != "deleted"
        ]
        where.append(_any_of([f"Status = {sql_quote(s)}" for s in rt]) if rt else NOTHING)
    if query.groups:
        where.append(_any_of([f"Queue = {sql_quote(g)}" for g in dict.fromkeys(query.groups)]))
    if query.assignee is not None:
        owner = {"@me": me, "none": NOBODY}.get(query.assignee, query.assignee)
        where.append(f"Owner = {sql_quote(owner)}")
    if query.requester:
        who = sql_quote(query.requester)
        if "@" in query.requester:  # an email address (RT's user name is often one too)
            where.append(f"(Requestor.Name = {who} OR Requestor.EmailAddress = {who})")
        else:
            where.append(f"Requestor.Name = {who}")
    for tag in dict.fromkeys(query.tags):
        where.append(f"CF.{{{TAGS_FIELD}}} = {sql_quote(tag)}")
    if query.since:
        where.append(f"Created >= {sql_quote(sql_time(query.since))}")
    if query.until:
        where.append(f"Created <= {sql_quote(sql_time(query.until))}")
    if query.idle is not None:
        where.append(f"LastUpdated < {sql_quote(sql_time(now - query.idle))}")
    if query.search:
        text = sql_quote(query.search)
        where.append(f"(Subject LIKE {text} OR Content LIKE {text})")
    return " AND ".join(where)


ORDER_BY = {
    "created": "Created",
    "updated": "LastUpdated",
    "priority": "Priority",
    "status": "Status",
    "id": "id",
}
LIST_FIELDS = (
    "Subject,Status,Queue,Owner,Requestor,Cc,Priority,Created,LastUpdated,Resolved,CustomFields"
)


# -- documents ----------------------------------------------------------------------------------
def _ref(value: Any) -> str | None:
    """The id of an RT reference (``{"id": "root", "type": "user", …}``) or a plain value."""
    if isinstance(value, dict):
        name = value.get("Name") or value.get("id")
        return str(name) if name not in (None, "") else None
    if value in (None, ""):
        return None
    return str(value)


def _refs(value: Any) -> list[str]:
    if isinstance(value, list):
        return [r for r in (_ref(v) for v in value) if r]
    one = _ref(value)
    return [one] if one else []


def _time(value: Any) -> str | None:
    if not value or value == UNSET_DATE:
        return None
    return format_ts(parse_ts(str(value)))


def _tags(doc: dict[str, Any]) -> list[str]:
    for cf in doc.get("CustomFields") or []:
        if isinstance(cf, dict) and cf.get("name") == TAGS_FIELD:
            return [str(v) for v in cf.get("values") or [] if str(v)]
    return []


def ticket_from_rt(doc: dict[str, Any], queue_name: Callable[[str], str] | None = None) -> Ticket:
    """A ticket (without its thread) from an RT ticket document."""
    status, resolution = status_from_rt(str(doc.get("Status", "")))
    requesters = _refs(doc.get("Requestor"))
    owner = _ref(doc.get("Owner"))
    queue = doc.get("Queue")
    group = None
    if isinstance(queue, dict):
        group = queue.get("Name") or (queue_name(str(queue["id"])) if queue_name else None)
        group = group or str(queue.get("id"))
    elif queue not in (None, ""):
        group = str(queue)
    created = _time(doc.get("Created")) or UNSET_DATE
    return Ticket(
        id=str(doc["id"]),
        subject=str(doc.get("Subject") or ""),
        type="email",
        category="general",
        status=status,
        resolution=resolution,
        priority=priority_from_rt(doc.get("Priority")),
        requester=requesters[0] if requesters else NOBODY,
        org="",
        cc=_refs(doc.get("Cc")),
        assignee=None if owner in (None, NOBODY) else owner,
        group=group,
        tags=_tags(doc),
        created_at=created,
        updated_at=_time(doc.get("LastUpdated")) or created,
        closed_at=_time(doc.get("Resolved")) if status == "closed" else None,
    )


MESSAGE_KINDS = {"Create": "email", "Correspond": "email", "Comment": "note"}
#: How files are sent: RT stores binary parts byte for byte, but re-encodes text parts whose
#: charset it guesses (Shift-JIS read as Latin-1, a NUL as UTF-16), so every file goes as this.
FILE_TYPE = "application/octet-stream"


def file_content_type(row: dict[str, Any]) -> str:
    """What a file is: RT's type for files sent some other way (RT's web UI), else the
    type its name says, as on every backend."""
    given = str(row.get("ContentType") or "")
    if given and given != FILE_TYPE:
        return given
    return content_type_of(str(row.get("Filename") or ""))


def thread_from_rt(
    transactions: list[dict[str, Any]],
    attachments: list[dict[str, Any]],
    user_name: Callable[[str], str | None],
    queue_name: Callable[[str], str],
) -> tuple[list[Message], list[Event]]:
    """History transactions → messages (Create/Correspond → email, Comment → note, with
    their file attachments) and events (created, replied, noted, status, owner, queue and
    priority changes).  ``attachments`` are RT attachment rows with ``TransactionId``,
    ``Filename``, ``ContentType``, ``ContentLength``, ``Content`` and, for files, ``sha256``."""
    by_txn: dict[str, list[dict[str, Any]]] = {}
    for a in attachments:
        by_txn.setdefault(str(_ref(a.get("TransactionId"))), []).append(a)
    messages: list[Message] = []
    events: list[Event] = []
    for t in transactions:
        kind = str(t.get("Type", ""))
        at = _time(t.get("Created")) or UNSET_DATE
        actor = _ref(t.get("Creator")) or "RT_System"
        txn_id = str(t["id"])
        field = str(t.get("Field") or "")
        old, new = t.get("OldValue"), t.get("NewValue")
        if kind in MESSAGE_KINDS:
            parts = by_txn.get(txn_id, [])
            bodies = [
                str(p.get("Content") or "")
                for p in parts
                if not p.get("Filename") and str(p.get("ContentType", "")).startswith("text/plain")
            ]
            files = [
                Attachment(
                    name=str(p["Filename"]),
                    size=int(p.get("ContentLength") or 0),
                    sha256=str(p.get("sha256") or ""),
                    content_type=file_content_type(p),
                )
                for p in parts
                if p.get("Filename")
            ]
            messages.append(
                Message(
                    id=txn_id,
                    kind=MESSAGE_KINDS[kind],
                    author=actor,
                    at=at,
                    body=bodies[0].rstrip("\n") if bodies else "",
                    attachments=files,
                )
            )
            action = {"Create": "created", "Correspond": "replied", "Comment": "noted"}[kind]
            detail = {} if kind == "Create" else {"message": txn_id}
            events.append(Event(at=at, actor=actor, action=action, detail=detail))
        elif kind == "Status" or (kind == "Set" and field == "Status"):
            before, _ = status_from_rt(str(old or ""))
            after, resolution = status_from_rt(str(new or ""))
            if after == "closed":
                events.append(
                    Event(
                        at, actor, "closed", {"from": before, "to": after, "resolution": resolution}
                    )
                )
            elif before != after:
                events.append(Event(at, actor, "status_changed", {"from": before, "to": after}))
        elif field == "Owner" and kind in ("Set", "Give", "Take", "Steal", "Untake", "Force"):
            names = [user_name(str(v)) if v not in (None, "") else None for v in (old, new)]
            names = [None if n == NOBODY else n for n in names]
            if names[0] != names[1]:
                events.append(Event(at, actor, "assigned", {"from": names[0], "to": names[1]}))
        elif kind == "Set" and field == "Queue":
            events.append(
                Event(
                    at,
                    actor,
                    "group_changed",
                    {"from": queue_name(str(old)), "to": queue_name(str(new))},
                )
            )
        elif kind == "Set" and field == "Priority":
            before_p, after_p = priority_from_rt(old), priority_from_rt(new)
            if before_p != after_p:
                events.append(
                    Event(at, actor, "priority_changed", {"from": before_p, "to": after_p})
                )
    return messages, events


# -- the client ---------------------------------------------------------------------------------
class RtClient(HttpClient):
    """``HttpClient`` with RT's authentication and RT's error documents.

    With a user and password, RT checks the password on every request that carries it
    (0.3–0.5 s each). So the first request of a command logs in once, as RT's web UI does,
    and the rest ride on that session's cookie; the password still goes along, so that a
    session RT refuses (or one that expired mid-command) falls back to it. RT accepts a
    session's writes only with a ``Referer`` on its own site, which is sent (docs/rt.md)."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None,
        token: str | None,
        login: EarlyLogin | None = None,
        **kw: Any,
    ):
        super().__init__(base_url, None, **kw)
        self._login_with = auth if login is None else None
        self._login: threading.Thread | None = None
        #: A login the registry began before this module was imported (remote/rtlogin.py).
        self._early = login
        if token:
            self.session.headers["Authorization"] = f"token {token}"
        elif auth:
            self.session.auth = auth
            self.session.headers["Referer"] = self.site + "/"

    def start_login(self) -> None:
        """Begin the login now, in the background, while the command gets ready (reads its
        input, checks its arguments); the first request waits for it. The session is not
        touched by anything else until then."""
        if self._login_with is not None and self._login is None:
            self._login = threading.Thread(target=self._log_in, args=self._login_with, daemon=True)
            self._login.start()

    @property
    def site(self) -> str:
        """RT's web root: the REST2 base without ``/REST/2.0``."""
        return (
            self.base_url[: -len(REST_PATH)] if self.base_url.endswith(REST_PATH) else self.base_url
        )

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self._early is not None:
            self._take_over(self._early.wait())
            self._early = None
        elif self._login is not None:
            self._login.join()
            self._login = None
        elif self._login_with is not None:
            self._log_in(*self._login_with)
        return super().request(method, path, **kwargs)

    def _take_over(self, login: EarlyLogin) -> None:
        """The early login's cookies go into the session's jar, as if it had logged in:
        under the host name the jar matches requests against (a name without a dot, such
        as ``localhost``, is NAME.local there; under plain NAME the cookie was never sent)."""
        import http.cookiejar
        import urllib.request

        self._say(login.line)
        _host, domain = http.cookiejar.eff_request_host(urllib.request.Request(login.url))
        for cookie in login.cookies:
            self.session.cookies.set(
                cookie["name"],
                cookie["value"],
                domain=domain,
                path=cookie["path"],
                secure=cookie.get("secure", False),
            )

    def _log_in(self, user: str, password: str) -> None:
        """One password check for the whole command (RT's web login, for its session
        cookie). Best effort: whatever goes wrong, the requests carry the password."""
        self._login_with = None
        from urllib3.util.retry import Retry

        url = self.site + "/NoAuth/Login.html"
        started = time.monotonic()
        # Not retried: when RT cannot be reached, the request itself retries and says so.
        self.adapter.max_retries = Retry(total=0, redirect=False, raise_on_status=False)
        try:
            answer = self.session.post(
                url,
                data={"user": user, "pass": password},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._say(f"POST {url} (RT session) failed: {type(exc).__name__}")
            return
        ms = (time.monotonic() - started) * 1000
        kept = any(c.name.startswith("RT_SID_") for c in self.session.cookies)
        self._say(
            f"POST {url} {answer.status_code} {ms:.0f} ms "
            f"({'RT session' if kept else 'no RT session: the password goes with every request'})"
        )

    def error(self, response: requests.Response) -> SupportctlError:
        status = response.status_code
        try:
            doc = response.json()
            detail = doc.get("message") if isinstance(doc, dict) else None
        except ValueError:
            detail = None
        if status >= 500 or status in (429, 502, 503, 504):
            text = f": {detail}" if detail else ""
            return Unavailable(f"RT at {self.base_url} answered {status}{text}")
        if status == 401:
            return AuthenticationFailed(
                f"RT refused the credentials ({detail or 'Unauthorized'})",
                hint="check the token (an RT auth token, or user:password) and the user",
            )
        cls = {403: PermissionDenied, 404: NotFound, 409: Conflict, 412: Conflict}.get(
            status, UsageError
        )
        return cls(f"RT: {detail or f'answered {status}'}")

    def pages(self, path: str, params: list[tuple[str, str]], per_page: int = PAGE_SIZE):
        """Rows of a REST2 collection, one page fetched at a time (lazily), and the total."""
        page = 1
        while True:
            doc, _ = self.call(
                "GET", path, params=[*params, ("page", str(page)), ("per_page", str(per_page))]
            )
            items = doc.get("items") or []
            yield from ((row, doc.get("total")) for row in items)
            pages = doc.get("pages")
            if not items or (pages is not None and page >= int(float(pages))):
                return
            page += 1


def _ticket_path(ticket_id: str) -> str:
    if not ticket_id.strip():
        raise UsageError("a ticket ID must not be empty")
    if not (ticket_id.strip().isascii() and ticket_id.strip().isdigit()):  # not "²"
        raise NotFound(f"ticket {ticket_id} not found")
    return f"/ticket/{int(ticket_id)}"


def _unsupported(command: str) -> UsageError:
    return unsupported(command, "rt")


def _not_served(command: str) -> NotImplementedError:
    """For the interface's methods RT has no concept for: the registry refuses their
    commands (exit 2) before this service is built, so reaching one is a bug."""
    return NotImplementedError(f"`{command}` is not served by the rt backend (see the registry)")


# -- the service --------------------------------------------------------------------------------
class RtService(TicketService):
    """The service interface over RT REST2: same results, same errors.  Escalations, proxy
    access, feedback, org view and reports are not RT concepts (the registry refuses those
    commands before this is built; the methods refuse too)."""

    def __init__(
        self,
        client: RtClient,
        username: str | None,
        *,
        sla_policy: SlaPolicy | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.client = client
        self.username = username
        self.sla_policy = sla_policy or SlaPolicy()
        self.clock = clock
        self._actor: User | None = None
        self._users: dict[str, str | None] = {}
        self._queues: dict[str, str] = {}
        self.queue = os.environ.get("SUPPORTCTL_RT_QUEUE") or DEFAULT_QUEUE
        #: Tickets returned without their thread (a change's result): `ticket_json` reads
        #: the thread only when JSON is printed. Keyed by id(), holding the object.
        self._threadless: dict[int, Ticket] = {}

    def _without_thread(self, raw: dict[str, Any]) -> Ticket:
        """A change's result for output that needs no thread (a reply prints one line):
        no history or attachment reads unless `ticket_json` is asked for it."""
        # The queue's name only if already known: one-line output never shows it, and
        # `ticket_json` reads the whole ticket again.
        ticket = ticket_from_rt(raw, lambda queue_id: self._queues.get(queue_id, queue_id))
        self._threadless[id(ticket)] = ticket
        return ticket

    # -- identity -----------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        if self._actor is None:
            if not self.username:
                raise PermissionDenied(
                    "the rt backend needs to know the RT user of the token",
                    hint="pass --user NAME, set SUPPORTCTL_USER or `supportctl config set user NAME`",
                )
            doc, _ = self.client.call("GET", f"/user/{quote(self.username, safe='')}")
            self._actor = User(
                username=str(doc.get("Name") or self.username),
                name=str(doc.get("RealName") or doc.get("Name") or self.username),
                email=str(doc.get("EmailAddress") or ""),
                org="",
                role="agent"
                if str(doc.get("Privileged", "0")) in ("1", "True", "true")
                else "user",
            )
        return self._actor

    def require_history_access(self) -> User:
        return self.actor  # RT has no FedRAMP users

    def _user_name(self, user_id: str) -> str | None:
        if user_id not in self._users:
            try:
                doc, _ = self.client.call("GET", f"/user/{quote(user_id, safe='')}")
                self._users[user_id] = str(doc.get("Name") or user_id)
            except (NotFound, PermissionDenied):
                self._users[user_id] = user_id
        return self._users[user_id]

    def _queue_name(self, queue_id: str) -> str:
        if queue_id not in self._queues:
            try:
                doc, _ = self.client.call("GET", f"/queue/{quote(queue_id, safe='')}")
                self._queues[queue_id] = str(doc.get("Name") or queue_id)
            except (NotFound, PermissionDenied):
                self._queues[queue_id] = queue_id
        return self._queues[queue_id]

    # -- reading ------------------------------------------------------------------------------
    def _search(self, sql: str, sort: str = "id", asc: bool = True) -> Iterator[tuple[dict, Any]]:
        params = [
            ("query", sql),
            ("orderby", ORDER_BY[sort]),
            ("order", "ASC" if asc else "DESC"),
            ("fields", LIST_FIELDS),
            ("fields[Queue]", "Name"),
        ]
        return self.client.pages("/tickets", params)

    def list_tickets(self, query: TicketQuery, *, with_thread: bool = False) -> ListResult:
        _check_rt_query(query)
        actor = self.actor
        check_query(query)
        if query.scope == "org" and not actor.is_agent:
            raise PermissionDenied(
                "--scope org is for privileged RT users; you are unprivileged",
                hint="your own tickets are listed with --scope mine (the default)",
            )
        moment = self.clock()
        sql = ticket_sql(query, actor.username, now=moment)
        rows: list[dict[str, Any]] = []
        total = 0
        for doc, reported in self._search(sql, query.sort, query.asc):
            total = int(reported) if reported is not None else total + 1
            ticket = ticket_from_rt(doc, self._queue_name)
            if query.sla is not None:
                ticket = self.get_visible_ticket(ticket.id)
            row = ticket.summary()
            if query.sla is not None and not sla_matches(query.sla, row, self.sla_of(ticket)):
                total -= 1
                continue
            rows.append(row)
            if query.limit and len(rows) >= query.limit:
                break  # lazily: no page past what --limit needs
        if total < len(rows):
            total = len(rows)
        out = []
        for row in rows:
            if with_thread:
                ticket = self.get_visible_ticket(row["id"])
                doc = ticket.to_dict()
                doc["sla"] = self.sla_of(ticket)
            else:
                doc = dict(row)
                doc["sla"] = evaluate(row, {}, self.sla_policy, moment)
            out.append(doc)
        return ListResult(tickets=out, total=total)

    def _raw(self, ticket_id: str) -> dict[str, Any]:
        try:
            doc, _ = self.client.call("GET", _ticket_path(ticket_id))
        except NotFound:
            raise NotFound(f"ticket {ticket_id} not found") from None
        if str(doc.get("Status")) == "deleted":
            raise NotFound(f"ticket {ticket_id} not found")
        return doc

    def _history(self, ticket_id: str) -> list[dict[str, Any]]:
        params = [("fields", "Type,Creator,Created,Field,OldValue,NewValue")]
        return [
            row
            for row, _ in self.client.pages(f"/ticket/{int(ticket_id)}/history", params)
            if row.get("Type") != "EmailRecord"
        ]

    def _attachment_rows(self, ticket_id: str) -> list[dict[str, Any]]:
        params = [("fields", "Filename,ContentType,ContentLength,TransactionId,Content")]
        rows = [
            row for row, _ in self.client.pages(f"/ticket/{int(ticket_id)}/attachments", params)
        ]
        for row in rows:
            if row.get("Filename"):
                data = self._attachment_bytes(str(row["id"]))
                row["sha256"] = hashlib.sha256(data).hexdigest()
                row["ContentLength"] = len(data)
        return rows

    def _attachment_bytes(self, attachment_id: str) -> bytes:
        doc, _ = self.client.call("GET", f"/attachment/{int(attachment_id)}")
        return base64.b64decode(doc.get("Content") or "")

    def get_visible_ticket(self, ticket_id: str) -> Ticket:
        ticket = ticket_from_rt(self._raw(ticket_id), self._queue_name)
        messages, events = thread_from_rt(
            self._history(ticket.id),
            self._attachment_rows(ticket.id),
            self._user_name,
            self._queue_name,
        )
        ticket.messages, ticket.events = messages, events
        return ticket

    def sla_of(self, ticket: Ticket) -> dict[str, Any]:
        """Agents, for the first response: whoever wrote on the ticket but its requesters."""
        customers = {ticket.requester, *ticket.cc}
        agents = {m.author for m in ticket.messages if m.author not in customers}
        return evaluate(ticket.summary(), marks(ticket, agents), self.sla_policy, self.clock())

    def ticket_json(self, ticket: Ticket) -> dict[str, Any]:
        if self._threadless.pop(id(ticket), None) is not None:
            ticket = self.get_visible_ticket(ticket.id)
        doc = ticket.to_dict()
        doc["sla"] = self.sla_of(ticket)
        return doc

    def show_ticket(self, ticket_id: str) -> TicketView:
        ticket = self.get_visible_ticket(ticket_id)
        return TicketView(
            ticket=ticket,
            viewer=self.actor,
            proxy_access=[],
            escalation=None,
            users={},
            sla=self.sla_of(ticket),
        )

    def attachment(self, ticket_id: str, name: str) -> tuple[Attachment, bytes, int]:
        self._raw(ticket_id)
        params = [("fields", "Filename,ContentType,ContentLength,TransactionId")]
        rows = [
            row
            for row, _ in self.client.pages(f"/ticket/{int(ticket_id)}/attachments", params)
            if row.get("Filename")
        ]
        found = [r for r in rows if r["Filename"] == name]
        if not found:
            names = sorted({str(r["Filename"]) for r in rows})
            listing = f"; its attachments: {', '.join(names)}" if names else "; it has none"
            raise NotFound(f"ticket {ticket_id} has no attachment {name!r}{listing}")
        chosen = max(found, key=lambda r: int(r["id"]))
        data = self._attachment_bytes(str(chosen["id"]))
        meta = Attachment(
            name=name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type=file_content_type(chosen),
        )
        return meta, data, len(found)

    # -- working tickets ----------------------------------------------------------------------
    @staticmethod
    def _files(files: list[NewAttachment] | None) -> list[dict[str, str]]:
        check_attachments([(f.name, len(f.data)) for f in files or []])
        return [
            {
                "FileName": f.name,
                "FileType": FILE_TYPE,
                "FileContent": base64.b64encode(f.data).decode("ascii"),
            }
            for f in files or []
        ]

    def create_ticket(
        self,
        *,
        subject: str,
        body: str,
        type_: str = "web",
        category: str = "general",
        priority: str = "normal",
        cc: Any = (),
        attachments: list[NewAttachment] | None = None,
    ) -> Ticket:
        """RT keeps no type or category: they are dropped (docs/rt.md)."""
        actor = self.actor
        validate_new_ticket(subject, body, type_, category, priority, cc)
        payload: dict[str, Any] = {
            "Queue": self.queue,
            "Subject": subject,
            "Requestor": actor.username,
            "Priority": PRIORITY_TO_RT[priority],
            "Content": body,
            "ContentType": "text/plain",
        }
        if cc:
            payload["Cc"] = list(cc)
        files = self._files(attachments)
        if files:
            payload["Attachments"] = files
        doc, _ = self.client.call("POST", "/ticket", json=payload)
        return self._without_thread(self._raw(str(doc["id"])))

    def reply(
        self,
        ticket_id: str,
        body: str,
        *,
        internal: bool = False,
        attachments: list[NewAttachment] | None = None,
        then: TicketChanges | None = None,
    ) -> Ticket:
        """Correspond, or comment with ``internal``; not on closed tickets (SPEC §3). ``then``
        follows as an update (RT has no transaction across the two)."""
        check_body(body)
        if internal and not self.actor.is_agent:
            raise PermissionDenied("internal notes are for agents only")
        files = self._files(attachments)
        raw = self._raw(ticket_id)
        if status_from_rt(str(raw.get("Status", "")))[0] == "closed":
            raise Conflict(
                f"ticket {raw['id']} is closed; open a new ticket and reference {raw['id']}"
            )
        self._message(str(raw["id"]), body, internal=internal, files=files)
        if then is not None and not then.empty:
            try:
                ticket, _ = self.update(str(raw["id"]), then)
            except SupportctlError as exc:
                raise actions_failed(str(raw["id"]), exc) from None
            return ticket
        return self._without_thread(raw)  # as it was just before the reply

    def _message(
        self, ticket_id: str, body: str, *, internal: bool, files: list[dict[str, str]] = ()
    ) -> None:
        payload: dict[str, Any] = {"Content": body, "ContentType": "text/plain"}
        if files:
            payload["Attachments"] = list(files)
        verb = "comment" if internal else "correspond"
        self.client.call("POST", f"/ticket/{int(ticket_id)}/{verb}", json=payload)

    def _set(self, ticket_id: str, fields: dict[str, Any]) -> list[str]:
        doc, _ = self.client.call("PUT", f"/ticket/{int(ticket_id)}", json=fields)
        return [str(m) for m in doc] if isinstance(doc, list) else []

    def close(
        self,
        ticket_id: str,
        *,
        reason: str | None = None,
        comment: str | None = None,
        with_escalation: bool = False,
    ) -> tuple[Ticket, bool]:
        """RT `resolved` (reasons solved, chat, phone) or `rejected` (every other reason).
        RT has no escalations, so ``with_escalation`` changes nothing."""
        if reason is not None:
            if not self.actor.is_agent:
                raise PermissionDenied("--reason is for agents; only they record a resolution")
            if reason not in RESOLUTIONS:
                raise UsageError(f"invalid reason {reason!r}; valid: {', '.join(RESOLUTIONS)}")
        if comment is not None:
            check_body(comment, what="comment")
        raw = self._raw(ticket_id)
        current_id = str(raw["id"])
        if status_from_rt(str(raw.get("Status", "")))[0] == "closed":
            return self._without_thread(raw), False
        if comment:
            self._message(current_id, comment, internal=False)
        target = "resolved" if (reason or "solved") in RESOLVED_REASONS else "rejected"
        messages = self._set(current_id, {"Status": target})
        after = self._raw(current_id)  # RT answers 200 even when it refused: look
        if status_from_rt(str(after.get("Status", "")))[0] != "closed":
            raise PermissionDenied(f"RT did not close ticket {current_id}: {'; '.join(messages)}")
        return self._without_thread(after), True

    def feedback(
        self, ticket_id: str, rating: int, comment: str | None = None
    ) -> tuple[Ticket, bool]:
        raise _not_served("tickets feedback")

    def update(
        self, ticket_id: str, changes: TicketChanges, *, if_match: str | None = None
    ) -> tuple[Ticket, list[Event]]:
        """Status, priority, owner, queue (as group), tags (the `Tags` custom field),
        subject and Cc; RT keeps no category (refused, docs/rt.md)."""
        _check_rt_changes(changes)
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied("only agents (privileged RT users) may update tickets")
        raw = self._raw(ticket_id)
        current = ticket_from_rt(raw, self._queue_name)
        if current.status == "closed":
            raise Conflict(
                f"ticket {current.id} is closed; a closed ticket does not change on RT "
                "(reopen it in RT itself)"
            )
        fields = _rt_fields(raw, current, changes, actor.username)
        if not fields:
            return self._without_thread(raw), []
        messages = self._set(current.id, fields)
        after_raw = self._raw(current.id)
        after = ticket_from_rt(after_raw, self._queue_name)
        self._verify(after, changes, fields, messages)
        return self._without_thread(after_raw), _changes_between(current, after, actor.username)

    @staticmethod
    def _verify(
        ticket: Ticket, changes: TicketChanges, fields: dict[str, Any], said: list[str]
    ) -> None:
        """RT answers 200 with messages even when it refused a field: check the result."""
        failed = []
        if "Priority" in fields and ticket.priority != changes.priority:
            failed.append("priority")
        if "Owner" in fields and (ticket.assignee or NOBODY) != fields["Owner"]:
            failed.append("assignee")
        if "Queue" in fields and ticket.group != fields["Queue"]:
            failed.append("group")
        if changes.status is not None and "Status" in fields and ticket.status != changes.status:
            failed.append("status")
        if "Subject" in fields and ticket.subject != fields["Subject"]:
            failed.append("subject")
        if "Cc" in fields and sorted(ticket.cc) != sorted(fields["Cc"]):
            failed.append("cc")
        if failed:
            raise UsageError(
                f"RT did not change the {', '.join(failed)} of ticket {ticket.id}: "
                + ("; ".join(said) or "no reason given")
            )

    def merge(self, ticket_id: str, into: str) -> MergeResult:
        """RT's own merge (REST2 ``PUT /ticket/{id}`` with ``MergeInto``): RT moves the duplicate's
        history, requestors and Cc into the target, and the duplicate's number then names
        the target (docs/rt.md). Refused as on every backend first: not an agent (exit 4),
        into itself, a closed side or a cycle (exit 5)."""
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied("tickets merge is for agents (privileged RT users)")
        if not ticket_id.strip() or not into.strip():
            raise UsageError("a ticket ID must not be empty")
        if _ticket_path(ticket_id) == _ticket_path(into):  # 7 and 007 are one RT ticket
            raise Conflict(f"ticket {ticket_id} cannot be merged into itself")
        raw, target_raw = self._raw(ticket_id), self._raw(into)
        # RT answers for a merged ticket with the ticket it went into.
        source_id, target_id = str(raw["id"]), str(target_raw["id"])
        source = ticket_from_rt(raw, self._queue_name)
        if source_id == target_id:
            if target_id == str(int(into)):  # already merged into it: nothing to do
                duplicate = replace(
                    ticket_from_rt(raw, self._queue_name),
                    id=str(int(ticket_id)),
                    status="closed",
                    resolution="duplicate",
                    duplicate_of=target_id,
                )
                return MergeResult(duplicate, self._without_thread(target_raw), changed=False)
            raise Conflict(
                f"ticket {into} is already merged into ticket {ticket_id} in RT; merging "
                f"{ticket_id} into it would make a cycle"
            )
        if source_id != str(int(ticket_id)):
            raise Conflict(f"ticket {ticket_id} is already merged into ticket {source_id} in RT")
        if target_id != str(int(into)):
            raise Conflict(
                f"ticket {into} was merged into ticket {target_id} in RT; merge into {target_id}"
            )
        target = ticket_from_rt(target_raw, self._queue_name)
        if target.status == "closed":
            raise Conflict(f"ticket {into} is closed; merge into an open ticket")
        if source.status == "closed":
            raise Conflict(f"ticket {ticket_id} is already closed; it is not merged")
        self.client.call("PUT", f"/ticket/{int(ticket_id)}", json={"MergeInto": int(into)})
        after = self._raw(ticket_id)  # RT answers 200 even when it refused: look
        if str(after["id"]) != target_id:
            raise PermissionDenied(f"RT did not merge ticket {ticket_id} into {into}")
        duplicate = replace(source, status="closed", resolution="duplicate", duplicate_of=target_id)
        return MergeResult(duplicate, self._without_thread(after))

    # -- not RT concepts (SPEC §11) -----------------------------------------------------------
    def list_escalations(
        self, *, scope: str = "mine", stages: tuple[str, ...] = ()
    ) -> list[Escalation]:
        raise _not_served("escalations list")

    def get_escalation(
        self, escalation_id: str | None = None, *, ticket_id: str | None = None
    ) -> Escalation:
        raise _not_served("escalations track")

    def create_escalation(
        self, ticket_id: str, description: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        raise _not_served("escalations create")

    def advance_escalation(
        self, escalation_id: str, to: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        raise _not_served("escalations advance")

    def proxy_access(self, ticket_id: str) -> list[ProxyEntry]:
        raise _not_served("proxy-access show")

    def set_proxy_access(self, ticket_id: str, value: bool | None) -> tuple[ProxyEntry, bool]:
        raise _not_served("proxy-access toggle")

    def org_view(self, org_id: str | None = None) -> OrgView:
        raise _not_served("org view")

    def report(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_served("report")

    # -- sweeps --------------------------------------------------------------------------------
    def sweep(
        self,
        rules: list[SweepRule],
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> list[SweepOutcome]:
        """The shared sweep loop; candidates by TicketSQL, each re-read before it is acted on."""
        actor = self.actor
        if not actor.is_agent:
            raise PermissionDenied(
                f"tickets sweep is for agents; you are {with_article(actor.role)}"
            )
        return run_sweep(
            rules, self._sweep_candidates, self._sweep_one, dry_run=dry_run, progress=progress
        )

    def _sweep_candidates(self, rule: SweepRule) -> list[str]:
        """Select by TicketSQL; ``_sweep_one`` then re-reads each ticket just before acting
        on it, and one changed meanwhile is skipped.  RT has no lock to hold across the two
        (docs/rt.md)."""
        cutoff = format_ts(back(self.clock(), rule.idle))
        query = TicketQuery(
            scope="org",
            statuses=rule.effective_statuses,
            priorities=rule.priorities,
            types=rule.types,
            idle=rule.idle,
        )
        sql = ticket_sql(query, self.actor.username, now=self.clock())
        if rule.orgs:
            sql += f" AND {NOTHING}"
        if rule.groups:
            queues = " OR ".join(f"Queue = {sql_quote(g)}" for g in rule.groups)
            sql += f" AND ({queues})"
        return [
            str(doc["id"])
            for doc, _ in self._search(sql)
            if rule.selects(ticket_from_rt(doc).summary(), cutoff)
        ]

    def _sweep_one(self, ticket_id: str, rule: SweepRule) -> SweepOutcome:
        try:
            ticket = ticket_from_rt(self._raw(ticket_id), self._queue_name)
            cutoff = format_ts(back(self.clock(), rule.idle))
            if not rule.selects(ticket.summary(), cutoff):
                return SweepOutcome(
                    ticket_id,
                    rule.name,
                    rule.action,
                    "skipped",
                    f"changed since it was selected (now {ticket.status})",
                )
            if rule.action == "remind":
                full = self.get_visible_ticket(ticket_id)
                emails = [m for m in full.messages if m.kind != "note"]
                if emails and emails[-1].body.strip() == REMINDER_BODY:
                    return SweepOutcome(
                        ticket_id,
                        rule.name,
                        rule.action,
                        "skipped",
                        "already reminded; waiting for the customer",
                    )
                self._message(ticket_id, REMINDER_BODY, internal=False)
            else:
                status = "rejected" if rule.action == "expire" else "resolved"
                said = self._set(ticket_id, {"Status": status})
                if ticket_from_rt(self._raw(ticket_id)).status != "closed":
                    raise PermissionDenied(f"RT did not close it: {'; '.join(said)}")
        except SupportctlError as exc:
            return sweep_failure(ticket_id, rule, exc)
        return SweepOutcome(ticket_id, rule.name, rule.action, SWEEP_RESULTS[rule.action])


def _changes_between(before: Ticket, after: Ticket, actor: str) -> list[Event]:
    """The events of an update, from the ticket before and after it (in the order every
    backend reports them), without reading RT's history back."""
    events = []
    for action, old, new in (
        ("priority_changed", before.priority, after.priority),
        ("assigned", before.assignee, after.assignee),
        ("status_changed", before.status, after.status),
        ("group_changed", before.group, after.group),
        ("tags_changed", list(before.tags), list(after.tags)),
        ("subject_changed", before.subject, after.subject),
        ("cc_changed", list(before.cc), list(after.cc)),
    ):
        if old != new:
            events.append(Event(after.updated_at, actor, action, {"from": old, "to": new}))
    return events


def _check_rt_query(query: TicketQuery) -> None:
    """`tickets list` flags RT cannot serve, refused before any request (exit 2)."""
    if query.sort == "due":
        raise UsageError(
            unsupported("tickets list --sort due", "rt").message,
            hint="RT cannot order by service-level due time; try --sort priority or --sla",
        )
    if MY_GROUPS in query.groups:
        raise UsageError(
            unsupported("tickets list --group @mine", "rt").message,
            hint="RT users have no support groups here: name the queue, --group QUEUE "
            "(the `group` view uses @mine)",
        )


def _check_rt_changes(changes: TicketChanges) -> None:
    """`tickets update` values RT cannot hold, refused before anything is sent (exit 2)."""
    if changes.status == "escalated":
        raise _unsupported("escalations create")
    validate_changes(changes)
    if changes.status == "resolved":
        raise UsageError(
            "RT has no `resolved` status before `closed`; use `supportctl tickets close`",
        )
    if changes.group == "":
        raise UsageError("an RT ticket is always in a queue: --group needs a queue name")
    if changes.category is not None:
        raise UsageError(
            "RT keeps no category: --category is not supported by the `rt` backend",
            hint="see docs/rt.md (what maps)",
        )


def _rt_fields(
    raw: dict[str, Any], current: Ticket, changes: TicketChanges, me: str
) -> dict[str, Any]:
    """The RT fields to set for ``changes`` (only those that differ); assigning a `new`
    ticket opens it, as on every backend."""
    fields: dict[str, Any] = {}
    if changes.priority is not None and changes.priority != current.priority:
        fields["Priority"] = PRIORITY_TO_RT[changes.priority]
    if changes.assignee is not None:
        owner = {"@me": me, "none": None}.get(changes.assignee, changes.assignee)
        if owner != current.assignee:
            fields["Owner"] = owner or NOBODY
            if current.status == "new" and owner and changes.status is None:
                fields["Status"] = "open"
    if changes.status is not None and changes.status != current.status:
        fields["Status"] = STATUS_TO_RT[changes.status][0]
    if changes.group is not None and changes.group != current.group:
        fields["Queue"] = changes.group
    if changes.add_tags or changes.remove_tags or changes.tags is not None:
        if not any(
            isinstance(cf, dict) and cf.get("name") == TAGS_FIELD
            for cf in raw.get("CustomFields") or []
        ):
            raise UsageError(
                f"tags need a ticket custom field {TAGS_FIELD!r} applied to the queue in RT",
                hint="see docs/rt.md (tags)",
            )
        tags = merge_tags(current.tags, changes)
        if tags != current.tags:
            fields["CustomFields"] = {TAGS_FIELD: tags}
    if changes.subject is not None and changes.subject.strip() != current.subject:
        fields["Subject"] = changes.subject.strip()
    if changes.add_cc or changes.remove_cc or changes.cc is not None:
        cc = merge_cc(current.cc, changes, current.requester)
        if cc != current.cc:
            fields["Cc"] = cc  # RT sets the Cc watchers to exactly this list
    return fields


# -- the registry entry -------------------------------------------------------------------------
def open_service(
    settings: Any, *, sla_policy: SlaPolicy | None = None, login: EarlyLogin | None = None
) -> RtService:
    """The rt backend's service; identity is the credentials' RT user. ``login``: RT's login
    already under way (``rtlogin.open_service``, the registry's factory, starts it)."""
    if not settings.url:
        raise UsageError(
            "the rt backend needs RT's URL",
            hint="pass --url https://rt.example.com, set SUPPORTCTL_URL or "
            "`supportctl config set url …`",
        )
    check_url(settings.url, "--url https://rt.example.com")
    auth, token, username = credentials(settings)
    client = RtClient(
        rest_url(settings.url),
        auth=auth,
        token=token,
        timeout=settings.timeout,
        ca_bundle=settings.ca_bundle,
        verbose=getattr(settings, "verbose", False),
        login=login,
    )
    client.start_login()  # without an early login: RT's check overlaps the command's start
    return RtService(client, username or settings.user, sla_policy=sla_policy)
