"""The http backend (SPEC §7): the REST API through one ``requests.Session``.

Imported only when ``--backend http`` is chosen, so other commands never pay for requests.
``HttpService`` implements ``supportctl.api.TicketService``; the server applies the rules,
and its problem documents become the same exceptions (and exit codes) the json backend
raises, with the server's ``detail`` as the message.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3 import encode_multipart_formdata
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    ProxyError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)
from urllib3.util.retry import Retry

from supportctl import __version__
from supportctl.api import (
    BILLING_KINDS,
    CONNECT_TIMEOUT,
    FEDRAMP_REFUSAL,
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
    TriggerOutcome,
    actions_failed,
    check_attachments,
    check_contact,
    check_query,
    check_url,
    content_type_of,
    merge_cc,
    merge_tags,
    trigger_from_dict,
)
from supportctl.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    SupportctlError,
    Unavailable,
    UsageError,
    error_for_status,
)
from supportctl.models import Attachment, Escalation, Event, Org, Ticket, User
from supportctl.timeutil import format_ts

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRIES = 3
MAX_TOTAL_BACKOFF = 10.0  # seconds of waiting between tries, at most, for one call
OVERALL_DEADLINE = 14.0  # an unreachable server fails well within 15 s (SPEC §9)
PAGE_SIZE = 500
#: The server names the token's user on every authenticated answer (so no GET /me is needed
#: to check a configured user against it).
USER_HEADER = "Supportctl-User"

log = logging.getLogger("supportctl.http")


class _Call:
    """One call's tries, shared by every copy urllib3 makes of the call's ``CallRetry``."""

    def __init__(self, method: str, url: str, now: float) -> None:
        self.method = method
        self.url = url  # as -v shows it: without the query string
        self.started = now  # when the first try began
        self.try_started = now
        self.tries = 0  # tries that ended and were logged
        self.open = True  # a try is under way and not yet logged
        self.waited = 0.0  # seconds slept between tries
        self.timed_out = False  # how the last failed try failed


def _failure(error: Exception) -> tuple[str, bool]:
    """How a failed try is named on -v (requests' names, as users have always seen them),
    and whether it timed out."""
    if isinstance(error, ReadTimeoutError):
        return "ReadTimeout", True
    # A refused connection or a failed name lookup is a subclass of ConnectTimeoutError in
    # urllib3 2; only a socket that timed out is a timeout.
    if isinstance(error, ConnectTimeoutError) and isinstance(error.__cause__, TimeoutError):
        return "ConnectTimeout", True
    if isinstance(error, ProxyError):
        return "ProxyError", False
    return "ConnectionError", False


def _is_tls(error: Exception) -> bool:
    if isinstance(error, ProxyError):
        error = error.original_error
    return isinstance(error, SSLError)


class CallRetry(Retry):
    """urllib3's ``Retry`` with supportctl's rules (docs/api.md, "Client behaviour").

    urllib3 counts the tries (``total``), tells connection errors (nothing was sent) from read
    errors (the request may have arrived; ``read=False`` for PATCH) and retries the statuses
    of ``status_forcelist``.  This adds: TLS errors never retried; the backoff with jitter;
    ``Retry-After`` within a 10 s budget of sleep per call; the 14 s deadline for errors; the
    -v lines; an injectable sleep and clock.  urllib3 makes a new ``Retry`` on every increment
    through ``new``, which carries these extras; ``call`` is the one record all the copies
    made for one call share (budget used, start time, tries).
    """

    def __init__(
        self,
        *args: Any,
        sleeper: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        call: _Call | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sleeper = sleeper
        self.clock = clock
        self.say = say
        self.connect_timeout = connect_timeout
        self.call = call
        self.delay = 0.0  # the wait before the try this Retry is for

    def new(self, **kw: Any) -> Self:
        for name in ("sleeper", "clock", "say", "connect_timeout", "call"):
            kw.setdefault(name, getattr(self, name))
        return super().new(**kw)

    def for_call(self, method: str, url: str) -> CallRetry:
        """A fresh copy for one call. A PATCH is never sent again once it may have reached
        the server: its If-Match would no longer match, and the change may already be made."""
        return self.new(
            call=_Call(method, url, self.clock()),
            read=False if method == "PATCH" else self.read,
        )

    def get_backoff_time(self) -> float:
        """Before retry n: min(0.25 × 2^(n−1), 4) × U[0.5, 1) seconds."""
        n = len(self.history)
        delay = min(self.backoff_factor * 2 ** (n - 1), self.backoff_max)
        return delay * (0.5 + random.random() / 2)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if error is not None and _is_tls(error):
            raise error.with_traceback(_stacktrace)  # not retried: exit 6 at once
        if self.call is None:  # not made by for_call: a call of its own
            self.call = _Call(method or "", url or "", self.clock())
        call = self.call
        self._log(response, error)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        delay = retry._next_delay(response, error)
        if delay is None:  # give up: the last answer is returned, the last error raised
            reason = error or ResponseError(ResponseError.GENERIC_ERROR)
            raise MaxRetryError(_pool, url or "", reason) from error  # type: ignore[arg-type]
        retry.delay = delay
        call.open = True
        return retry

    def _log(self, response: BaseHTTPResponse | None, error: Exception | None) -> None:
        call = self.call
        assert call is not None
        ms = (self.clock() - call.try_started) * 1000
        if error is not None:
            name, call.timed_out = _failure(error)
            text = f"{call.method} {call.url} failed after {ms:.0f} ms: {name}"
        else:
            status = response.status if response is not None else "?"
            text = f"{call.method} {call.url} {status} {ms:.0f} ms"
        if self.say is not None:
            self.say(text)
        call.tries += 1
        call.open = False

    def _next_delay(
        self, response: BaseHTTPResponse | None, error: Exception | None
    ) -> float | None:
        """Seconds to wait before the next try, or None to give up."""
        call = self.call
        assert call is not None
        budget = MAX_TOTAL_BACKOFF - call.waited
        hinted = None
        if response is not None:
            try:
                hinted = self.get_retry_after(response)  # seconds or an HTTP date
            except InvalidHeader:
                hinted = None
        if hinted is not None:
            return float(hinted) if hinted <= budget else None
        if budget <= 0:
            return None
        delay = min(self.get_backoff_time(), budget)
        # Never start a try that could end after the overall deadline (SPEC §9).
        if error is not None and (
            self.clock() - call.started + delay + self.connect_timeout > OVERALL_DEADLINE
        ):
            return None
        return delay

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Called by urllib3 on the Retry of the next try, just before it."""
        self.sleeper(self.delay)
        if self.call is not None:
            self.call.waited += self.delay
            self.call.try_started = self.clock()


def _multipart(data: Any, files: Any) -> tuple[bytes, str]:
    """The form fields, then the files, as one multipart/form-data body: encoded once, so
    every try sends the same bytes (the server fingerprints a POST's body with its key)."""
    fields: list[tuple[str, Any]] = []
    for name, value in data.items() if isinstance(data, dict) else data or ():
        for item in value if isinstance(value, list) else [value]:
            fields.append((name, item if isinstance(item, (str, bytes)) else str(item)))
    fields += files.items() if isinstance(files, dict) else files
    return encode_multipart_formdata(fields)


class HttpClient:
    """One session: timeouts on every call, bounded retries with backoff and jitter (a
    ``CallRetry`` on the session's adapter)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
        verbose: bool = False,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.verbose = verbose
        self.sleep = sleep
        self.clock = clock
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"supportctl/{__version__}"
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.verify = ca_bundle or True
        self.retry = CallRetry(
            total=MAX_RETRIES,
            allowed_methods=None,  # every method; POST carries an Idempotency-Key
            status_forcelist=RETRY_STATUSES,
            raise_on_status=False,  # the last 429/5xx answer is returned, self.error maps it
            backoff_factor=0.25,
            backoff_max=4.0,
            sleeper=sleep,
            clock=clock,
            say=self._say,
            connect_timeout=self.timeout[0],
        )
        self.adapter = HTTPAdapter(max_retries=self.retry)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        #: Called with every answer `call` receives, errors included (HttpService reads who acts).
        self.observe: Callable[[requests.Response], None] | None = None

    def _say(self, text: str) -> None:
        if self.verbose:
            import sys

            print(f"supportctl: {text}", file=sys.stderr, flush=True)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send with retries: connection errors, 429 and 502/503/504, for GET/PUT/PATCH and
        for POST (which always carries an Idempotency-Key, the same on every try)."""
        url = self.base_url + path
        headers = dict(kwargs.pop("headers", None) or {})
        if method == "POST":
            headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
        if "files" in kwargs:
            body, content_type = _multipart(kwargs.pop("data", None), kwargs.pop("files"))
            kwargs["data"] = body
            headers["Content-Type"] = content_type
        retry = self.retry.for_call(method, url)
        call = retry.call
        assert call is not None
        self.adapter.max_retries = retry  # one call at a time: its own record of tries
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.exceptions.SSLError as exc:
            raise Unavailable(f"TLS error talking to {self.base_url}: {exc}") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise UsageError(f"invalid URL {url!r}: {exc}") from None
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ):
            # The answer was cut off (or garbled) mid-body: not retried, as any failure
            # after the answer's head arrived.
            raise Unavailable(
                f"the server at {self.base_url} sent an incomplete answer to {method} {path}",
                hint="try again; if it persists, check the server's log",
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            if call.open:  # failed after urllib3 had handed over the answer (its body)
                ms = (self.clock() - call.try_started) * 1000
                self._say(f"{method} {url} failed after {ms:.0f} ms: {type(exc).__name__}")
                call.tries += 1
                call.timed_out = isinstance(exc, requests.Timeout)
            kind = "timed out" if call.timed_out else "is unreachable"
            raise Unavailable(
                f"the server at {self.base_url} {kind} ({call.tries} tries)",
                hint="check --url and that the server is running",
            ) from None
        if call.open:
            ms = (self.clock() - call.try_started) * 1000
            self._say(f"{method} {url} {response.status_code} {ms:.0f} ms")
        return response

    # -- JSON ---------------------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs: Any) -> tuple[Any, requests.Response]:
        response = self.request(method, path, **kwargs)
        if self.observe is not None:
            self.observe(response)
        if response.status_code >= 400:
            raise self.error(response)
        if response.status_code == 204 or not response.content:
            return None, response
        try:
            return response.json(), response
        except ValueError:
            raise Unavailable(
                f"the server at {self.base_url} sent a response that is not JSON "
                f"(status {response.status_code}, {len(response.content)} bytes)"
            ) from None

    def error(self, response: requests.Response) -> SupportctlError:
        status = response.status_code
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
        except (ValueError, AttributeError):
            problem, detail = {}, None
        if not isinstance(problem, dict):
            problem = {}
        if status >= 500 or status in RETRY_STATUSES:
            text = f": {detail}" if detail else ""
            return Unavailable(f"the server at {self.base_url} answered {status}{text}")
        cls = error_for_status(status, problem.get("exit_code"))
        return cls(detail or f"the server answered {status}", hint=problem.get("hint"))


def _ticket(doc: dict[str, Any], slas: dict[str, Any] | None = None) -> Ticket:
    """A ticket from a response; its computed ``sla`` (SPEC §10) is kept aside in ``slas``."""
    doc = dict(doc)
    sla = doc.pop("sla", None)
    if slas is not None and sla is not None:
        slas[doc["id"]] = sla
    return Ticket.from_dict(doc, validate=False)


class HttpService(TicketService):
    """The service interface over HTTP: same results, same errors; the server's rules."""

    def __init__(self, client: HttpClient, *, expected_user: str | None = None) -> None:
        self.client = client
        self.expected_user = expected_user  # a configured --user, which the token overrides
        self._actor: User | None = None
        self._slas: dict[str, Any] = {}  # ticket id → the sla object the server computed
        self._warn: Callable[[str], None] | None = None  # set while the check is pending
        self._asking = False  # GET /me in flight for the check (servers without the header)
        client.observe = self._observe

    def ticket_json(self, ticket: Ticket) -> dict[str, Any]:
        doc = ticket.to_dict()
        doc["sla"] = self._slas.get(ticket.id)
        return doc

    @property
    def actor(self) -> User:
        if self._actor is None:
            doc, _ = self.client.call("GET", "/me")
            self._actor = User.from_dict(doc, validate=False)
        return self._actor

    def identity_notice(self) -> str | None:
        """Over http the token decides who acts: a configured user who is someone else is
        named in a warning (one GET /me, only when a user is configured)."""
        return self._notice(self.actor.username) if self.expected_user else None

    def _notice(self, token_user: str) -> str | None:
        if token_user == self.expected_user:
            return None
        return (
            f"the configured user {self.expected_user} (--user, SUPPORTCTL_USER or the "
            f"profile) is not the token's user; over http you act as {token_user}"
        )

    def watch_identity(self, warn: Callable[[str], None]) -> None:
        """The same check as ``identity_notice``, without a round trip of its own: the
        token's user comes with the first answer (its Supportctl-User header; errors carry
        it too), and the warning is given then, before that answer is used or reported. A
        server that does not send the header is asked GET /me instead."""
        if self.expected_user:
            self._warn = warn

    def _observe(self, response: requests.Response) -> None:
        if self._warn is None or self._asking:
            return
        token_user = response.headers.get(USER_HEADER)
        if token_user is None:
            # 401: no one's token, nothing to compare. 429 and 5xx (retried already): asking
            # GET /me would only wait through its own retries for the same trouble.
            if response.status_code in (401, 429) or response.status_code >= 500:
                return
            self._asking = True
            try:
                token_user = self.actor.username
            except SupportctlError:
                return  # the answer being handled says what went wrong
            finally:
                self._asking = False
        warn, self._warn = self._warn, None
        notice = self._notice(token_user)
        if notice:
            warn(notice)

    def require_history_access(self) -> User:
        """FedRAMP users are refused before anything is sent (the server refuses too)."""
        if self.actor.fedramp:
            raise PermissionDenied(FEDRAMP_REFUSAL)
        return self.actor

    # -- reading ------------------------------------------------------------------------------
    def list_tickets(self, query: TicketQuery, *, with_thread: bool = False) -> ListResult:
        params: list[tuple[str, str]] = [("scope", query.scope), ("sort", query.sort)]
        if query.asc:
            params.append(("asc", "true"))
        for name, values in (
            ("status", query.statuses),
            ("type", query.types),
            ("category", query.categories),
            ("priority", query.priorities),
            ("resolution", query.resolutions),
            ("group", query.groups),
            ("tag", query.tags),
        ):
            params += [(name, v) for v in values]
        for name, value in (
            ("org", query.org),
            ("assignee", self._assignee(query.assignee)),
            ("requester", query.requester),
            ("search", query.search),
        ):
            if value is not None:
                params.append((name, value))
        if query.since:
            params.append(("since", format_ts(query.since)))
        if query.until:
            params.append(("until", format_ts(query.until)))
        if query.idle is not None:
            params.append(("idle", str(query.idle.total_seconds())))
        if with_thread:
            params.append(("fields", "messages"))
        if query.sla is not None:
            params.append(("sla", query.sla))
        check_query(query)
        rows: list[dict[str, Any]] = []
        total = 0
        cursor = None
        while True:  # lazily: no more pages than --limit needs
            want = PAGE_SIZE if not query.limit else min(PAGE_SIZE, query.limit - len(rows))
            page_params = [*params, ("limit", str(want))]
            if cursor:
                page_params.append(("cursor", cursor))
            doc, _ = self.client.call("GET", "/tickets", params=page_params)
            if self._actor is None and isinstance(doc.get("viewer"), dict):
                self._actor = User.from_dict(doc["viewer"], validate=False)  # no GET /me
            rows += doc["items"]
            total = doc.get("total", len(rows))
            cursor = doc.get("next_cursor")
            if not cursor or (query.limit and len(rows) >= query.limit):
                break
        return ListResult(tickets=rows, total=total)

    def _assignee(self, value: str | None) -> str | None:
        return self.actor.username if value == "@me" else value

    def get_visible_ticket(self, ticket_id: str) -> Ticket:
        if not ticket_id.strip():
            raise UsageError("a ticket ID must not be empty")
        doc, _ = self.client.call("GET", f"/tickets/{quote(ticket_id, safe='')}")
        return _ticket(doc, self._slas)

    def show_ticket(self, ticket_id: str) -> TicketView:
        if not ticket_id.strip():
            raise UsageError("a ticket ID must not be empty")
        doc, _ = self.client.call("GET", f"/tickets/{quote(ticket_id, safe='')}/view")
        return TicketView(
            sla=doc.get("sla") or {},
            ticket=_ticket(doc["ticket"]),
            viewer=self.actor,
            proxy_access=[ProxyEntry(**e) for e in doc["proxy_access"]],
            escalation=Escalation.from_dict(doc["escalation"], validate=False)
            if doc["escalation"]
            else None,
            users={k: User.from_dict(v, validate=False) for k, v in doc["users"].items()},
            history=doc.get("history"),
        )

    def attachment(self, ticket_id: str, name: str) -> tuple[Attachment, bytes, int]:
        path = f"/tickets/{quote(ticket_id, safe='')}/attachments/{quote(name, safe='')}"
        response = self.client.request("GET", path)
        self._observe(response)
        if response.status_code >= 400:
            raise self.client.error(response)
        data = response.content
        meta = Attachment(
            name=name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type=response.headers.get("Content-Type", "application/octet-stream"),
        )
        return meta, data, int(response.headers.get("Attachment-Count", "1"))

    # -- working tickets ----------------------------------------------------------------------
    def _send(self, path: str, fields: dict[str, Any], files: list[NewAttachment] | None) -> Any:
        if files:
            form = {
                k: ("true" if v is True else "false" if v is False else v)
                for k, v in fields.items()
                if v is not None
            }
            if isinstance(form.get("cc"), list):
                form["cc"] = ",".join(form["cc"])
            upload = [("attach", (f.name, f.data, content_type_of(f.name))) for f in files]
            return self.client.call("POST", path, data=form, files=upload)
        return self.client.call("POST", path, json=fields)

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
        fields = {
            "subject": subject,
            "body": body,
            "type": type_,
            "category": category,
            "priority": priority,
            "cc": list(cc),
        }
        self._check_files(attachments)
        doc, _ = self._send("/tickets", fields, attachments)
        return _ticket(doc, self._slas)

    @staticmethod
    def _check_files(files: list[NewAttachment] | None) -> None:
        check_attachments([(f.name, len(f.data)) for f in files or []])

    def reply(
        self,
        ticket_id: str,
        body: str,
        *,
        internal: bool = False,
        attachments: list[NewAttachment] | None = None,
        then: TicketChanges | None = None,
    ) -> Ticket:
        self._check_files(attachments)
        path = f"/tickets/{quote(ticket_id, safe='')}/messages"
        doc, _ = self._send(path, {"body": body, "internal": internal}, attachments)
        ticket = _ticket(doc, self._slas)
        if then is not None and not then.empty:
            try:  # the reply, then a PATCH (SPEC §13); the reply stands if the PATCH fails
                ticket, _ = self.update(ticket.id, then)
            except SupportctlError as exc:
                raise actions_failed(ticket.id, exc) from None
        return ticket

    def close(
        self,
        ticket_id: str,
        *,
        reason: str | None = None,
        comment: str | None = None,
        with_escalation: bool = False,
    ) -> tuple[Ticket, bool]:
        body: dict[str, Any] = {"reason": reason, "comment": comment}
        if with_escalation:
            body["with_escalation"] = True
        doc, response = self.client.call(
            "POST", f"/tickets/{quote(ticket_id, safe='')}/close", json=body
        )
        return _ticket(doc, self._slas), response.headers.get("Supportctl-Changed") != "false"

    def feedback(
        self, ticket_id: str, rating: int, comment: str | None = None
    ) -> tuple[Ticket, bool]:
        doc, response = self.client.call(
            "POST",
            f"/tickets/{quote(ticket_id, safe='')}/feedback",
            json={"rating": rating, "comment": comment},
        )
        return _ticket(doc, self._slas), response.headers.get("Supportctl-Changed") != "false"

    def update(
        self, ticket_id: str, changes: TicketChanges, *, if_match: str | None = None
    ) -> tuple[Ticket, list[Event]]:
        """GET for the ETag (and the tags to add to or remove from), then PATCH with If-Match."""
        path = f"/tickets/{quote(ticket_id, safe='')}"
        current_doc, response = self.client.call("GET", path)
        current = _ticket(current_doc, self._slas)
        body: dict[str, Any] = {}
        if changes.status is not None:
            body["status"] = changes.status
        if changes.priority is not None:
            body["priority"] = changes.priority
        if changes.assignee is not None:
            body["assignee"] = (
                None if changes.assignee == "none" else self._assignee(changes.assignee)
            )
        if changes.group is not None:
            body["group"] = changes.group or None
        if changes.tags is not None:
            body["tags"] = list(changes.tags)
        elif changes.add_tags or changes.remove_tags:
            body["tags"] = merge_tags(current.tags, changes)
        if changes.subject is not None:
            body["subject"] = changes.subject
        if changes.category is not None:
            body["category"] = changes.category
        if changes.cc is not None:
            body["cc"] = list(changes.cc)
        elif changes.add_cc or changes.remove_cc:
            body["cc"] = merge_cc(current.cc, changes, current.requester)
        tag = if_match or response.headers.get("ETag")
        doc, answer = self.client.call(
            "PATCH", path, json=body, headers={"If-Match": tag} if tag else None
        )
        ticket = _ticket(doc, self._slas)
        added = (
            ticket.events[len(current.events) :]
            if answer.headers.get("Supportctl-Changed") == "true"
            else []
        )
        return ticket, added

    def merge(self, ticket_id: str, into: str) -> MergeResult:
        """POST /tickets/{id}/merge: the server changes both tickets in one atomic step."""
        if not ticket_id.strip() or not into.strip():
            raise UsageError("a ticket ID must not be empty")
        doc, response = self.client.call(
            "POST", f"/tickets/{quote(ticket_id, safe='')}/merge", json={"into": into}
        )
        return MergeResult(
            _ticket(doc["ticket"], self._slas),
            _ticket(doc["target"], self._slas),
            changed=_changed(response),
        )

    # -- escalations --------------------------------------------------------------------------
    def list_escalations(
        self, *, scope: str = "mine", stages: tuple[str, ...] = ()
    ) -> list[Escalation]:
        params = [("scope", scope), *[("stage", s) for s in stages]]
        doc, _ = self.client.call("GET", "/escalations", params=params)
        return [Escalation.from_dict(e, validate=False) for e in doc["items"]]

    def get_escalation(
        self, escalation_id: str | None = None, *, ticket_id: str | None = None
    ) -> Escalation:
        if ticket_id is not None:
            ticket = self.get_visible_ticket(ticket_id)
            if not ticket.escalation_id:
                raise NotFound(f"ticket {ticket_id} has no escalation")
            escalation_id = ticket.escalation_id
        doc, _ = self.client.call("GET", f"/escalations/{quote(escalation_id or '', safe='')}")
        return Escalation.from_dict(doc, validate=False)

    def create_escalation(
        self, ticket_id: str, description: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        doc, _ = self.client.call(
            "POST",
            f"/tickets/{quote(ticket_id, safe='')}/escalations",
            json={"description": description, "expected": expected},
        )
        esc = Escalation.from_dict(doc, validate=False)
        return self.get_visible_ticket(esc.ticket_id), esc

    def advance_escalation(
        self, escalation_id: str, to: str, expected: str | None = None
    ) -> tuple[Ticket, Escalation]:
        doc, _ = self.client.call(
            "POST",
            f"/escalations/{quote(escalation_id, safe='')}/advance",
            json={"to": to, "expected": expected},
        )
        esc = Escalation.from_dict(doc, validate=False)
        return self.get_visible_ticket(esc.ticket_id), esc

    # -- reports ------------------------------------------------------------------------------
    def report(
        self,
        *,
        since: Any = None,
        until: Any = None,
        scope: str = "mine",
        org: str | None = None,
        by: str = "priority",
    ) -> dict[str, Any]:
        params = [("scope", scope), ("by", by)]
        if org:
            params.append(("org", org))
        if since is not None:
            params.append(("since", format_ts(since)))
        if until is not None:
            params.append(("until", format_ts(until)))
        doc, _ = self.client.call("GET", "/report", params=params)
        return doc

    # -- sweeps ------------------------------------------------------------------------------
    def sweep(
        self,
        rules: list[SweepRule],
        *,
        dry_run: bool = False,
        progress: Any = None,
    ) -> list[SweepOutcome]:
        """The server sweeps (its re-checks happen under its store's lock)."""
        doc, _ = self.client.call(
            "POST", "/sweep", json={"rules": [r.to_dict() for r in rules], "dry_run": dry_run}
        )
        outcomes = [
            SweepOutcome(
                d["ticket"],
                d["rule"],
                d["action"],
                d["result"],
                d.get("detail", ""),
                d.get("exit_code", 0),
            )
            for d in doc
        ]
        if progress:
            progress(len(outcomes))
        return outcomes

    # -- triggers: the server's (SPEC §13) ------------------------------------------------------
    def triggers(self) -> list[Trigger]:
        doc, _ = self.client.call("GET", "/triggers")
        return [trigger_from_dict(t) for t in doc["items"]]

    def test_triggers(self, ticket_id: str) -> TriggerOutcome:
        if not ticket_id.strip():
            raise UsageError("a ticket ID must not be empty")
        doc, _ = self.client.call("GET", f"/tickets/{quote(ticket_id, safe='')}/triggers")
        return TriggerOutcome.from_dict(doc)

    def run_triggers(self, ticket_id: str) -> TriggerOutcome:
        if not ticket_id.strip():
            raise UsageError("a ticket ID must not be empty")
        doc, _ = self.client.call("POST", f"/tickets/{quote(ticket_id, safe='')}/triggers/run")
        return TriggerOutcome.from_dict(doc)

    # -- proxy access -------------------------------------------------------------------------
    def proxy_access(self, ticket_id: str) -> list[ProxyEntry]:
        doc, _ = self.client.call("GET", f"/tickets/{quote(ticket_id, safe='')}/proxy-access")
        return [ProxyEntry(**e) for e in doc]

    def set_proxy_access(self, ticket_id: str, value: bool | None) -> tuple[ProxyEntry, bool]:
        if value is None:
            mine = [e for e in self.proxy_access(ticket_id) if e.username == self.actor.username]
            value = not mine[0].effective if mine else True
        doc, response = self.client.call(
            "PUT",
            f"/tickets/{quote(ticket_id, safe='')}/proxy-access",
            json={"effective": value},
        )
        return ProxyEntry(**doc), response.headers.get("Supportctl-Changed") != "false"

    # -- organisations ------------------------------------------------------------------------
    def org_view(self, org_id: str | None = None) -> OrgView:
        doc, _ = self.client.call("GET", f"/orgs/{quote(org_id or '@me', safe='@')}")
        if "users" in doc:
            return OrgView(
                org=Org.from_dict(doc["org"], validate=False),
                full=True,
                users=[User.from_dict(u, validate=False) for u in doc["users"]],
                ticket_counts=doc["ticket_counts"],
                open_escalations=[
                    Escalation.from_dict(e, validate=False) for e in doc["open_escalations"]
                ],
                confirm_due=bool(doc.get("confirm_due")),
            )
        org = Org(id=doc["org"]["id"], name=doc["org"]["name"])
        admins = [
            User(username=a["username"], name=a["name"], email=a["email"], org=org.id, role="admin")
            for a in doc["admins"]
        ]
        return OrgView(org=org, full=False, users=admins)

    # -- account pages (SPEC §14) --------------------------------------------------------------
    def me(self) -> MeView:
        doc, _ = self.client.call("GET", "/me/profile")
        org = doc["org"]
        return MeView(
            user=User.from_dict(doc["user"], validate=False),
            org=Org(id=org["id"], name=org["name"], data_center=org.get("data_center") or ""),
            account_team=doc.get("account_team"),
            admins=doc.get("admins"),
        )

    def set_support_access(self, value: bool) -> tuple[User, bool]:
        doc, response = self.client.call(
            "PUT", "/me/support-access", json={"support_access": value}
        )
        return User.from_dict(doc, validate=False), _changed(response)

    @staticmethod
    def _billing_view(doc: dict[str, Any]) -> BillingView:
        org = Org(
            id=doc["org"],
            name=doc["org"],
            renewal_date=doc.get("renewal_date"),
            billing={k: doc.get(k) for k in ("primary_contact", "billing_contact", "confirmed_at")},
        )
        return BillingView(org, bool(doc.get("confirm_due")))

    @staticmethod
    def _org_path(org_id: str | None) -> str:
        return f"/orgs/{quote(org_id or '@me', safe='@')}/billing"

    def billing(self, org_id: str | None = None) -> BillingView:
        doc, _ = self.client.call("GET", self._org_path(org_id))
        return self._billing_view(doc)

    def set_billing_contact(
        self, kind: str, name: str, email: str, org_id: str | None = None
    ) -> tuple[BillingView, bool]:
        if kind not in BILLING_KINDS:
            raise UsageError(f"invalid contact {kind!r}; valid: {', '.join(BILLING_KINDS)}")
        name, email = check_contact(name, email)  # refused before anything is sent
        doc, response = self.client.call(
            "PUT", f"{self._org_path(org_id)}/{kind}", json={"name": name, "email": email}
        )
        return self._billing_view(doc), _changed(response)

    def confirm_billing(self, org_id: str | None = None) -> BillingView:
        doc, _ = self.client.call("POST", f"{self._org_path(org_id)}/confirm")
        return self._billing_view(doc)


def _changed(response: requests.Response) -> bool:
    return response.headers.get("Supportctl-Changed") != "false"


def open_service(settings: Any, *, sla_policy: Any = None) -> HttpService:
    """Registry factory for `--backend http`: identity is the token's user; SLA targets
    are the server's (``sla_policy`` is not used)."""
    if not settings.url:
        raise UsageError(
            "the http backend needs a URL",
            hint="pass --url https://HOST/api/v1, set SUPPORTCTL_URL or `supportctl config set url …`",
        )
    check_url(settings.url, "--url https://HOST/api/v1")
    if not settings.token:
        raise AuthenticationFailed(
            "the http backend needs a token",
            hint="set SUPPORTCTL_TOKEN, or `supportctl config set token …` (or token_env)",
        )
    client = HttpClient(
        settings.url,
        settings.token,
        timeout=settings.timeout,
        ca_bundle=settings.ca_bundle,
        verbose=getattr(settings, "verbose", False),
    )
    return HttpService(client, expected_user=settings.user)
