"""The REST API of SPEC §7 as a WSGI application over a local store (json or PostgreSQL).

Every request runs the same local service as the CLI (``supportctl.service``), as the user
its bearer token belongs to, so the rules of SPEC §3 hold identically over HTTP.  Errors are
RFC 9457 ``application/problem+json`` documents whose ``detail`` is the message the CLI
would print; their status maps one to one to the exit codes of SPEC §8.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request as _WerkzeugRequest

from supportctl.api import NewAttachment, TicketChanges, TicketQuery, sweep_rule_from_dict
from supportctl.errors import (
    AuthenticationFailed,
    ExitStatus,
    SupportctlError,
    Unavailable,
    UsageError,
    http_status,
)
from supportctl.service import LocalService
from supportctl.storage import admin
from supportctl.storage.base import IDEMPOTENCY_TTL, RequestRecorded, Storage
from supportctl.storage.jsonstore import JsonStore
from supportctl.storage.pgurl import is_postgres_url
from supportctl.timeutil import parse_ts

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 10 * 1024 * 1024  # 5 attachments of 500 KiB fit many times over
#: Failed authentications allowed per client address in AUTH_WINDOW seconds (then 429).
AUTH_FAILURES = 10
AUTH_WINDOW = 60
MAX_PAGE = 1000
DEFAULT_PAGE = 100

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HttpError(SupportctlError):
    """An error with its own HTTP status (413, 415, 405…)."""

    def __init__(
        self,
        status: int,
        message: str,
        exit_status: ExitStatus = ExitStatus.USAGE,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.exit_status = exit_status
        self.headers = headers or {}


class Request(_WerkzeugRequest):
    """werkzeug's request (headers, query, body limit, multipart) plus what the API adds:
    the authenticated user, the route's parameters and a POST's idempotency record."""

    # The body limit, checked against Content-Length before anything is read (413); text
    # fields of a form may fill it, and 5 attachments plus a few fields need few parts.
    max_content_length = MAX_BODY_BYTES
    max_form_memory_size = MAX_BODY_BYTES
    max_form_parts = 100

    def __init__(self, environ: dict[str, Any]) -> None:
        super().__init__(environ)
        self.user: str | None = None
        #: (record key, fingerprint, endpoint) while a POST's change should commit its record.
        self.commit_key: tuple[str, str, str] | None = None
        self.params: dict[str, str] = {}

    @property
    def body(self) -> bytes:
        return self.get_data(cache=True)

    @property
    def remote(self) -> str:
        return self.remote_addr or "-"

    def document(self) -> dict[str, Any]:
        """The JSON object the request carries ({} without a body)."""
        if not self.body:
            return {}
        ctype = self.headers.get("Content-Type", "")
        if "json" not in ctype:
            raise HttpError(415, f"expected application/json, got {ctype or 'no content type'}")
        try:
            doc = json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise UsageError("the request body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise UsageError("the request body must be a JSON object")
        return doc

    def fields(self) -> tuple[dict[str, Any], list[NewAttachment]]:
        """JSON, or multipart/form-data with files under ``attach`` (SPEC §7)."""
        if self.mimetype != "multipart/form-data":
            return self.document(), []
        if "attach" in self.form:  # e.g. a file name broken by a line break: not a file
            raise UsageError("form part 'attach' must be a file (with a filename)")
        fields = {name: values[-1] for name, values in self.form.lists()}
        files = [
            NewAttachment(
                (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1], upload.read()
            )
            for _name, upload in self.files.items(multi=True)
        ]
        return fields, files

    def one(self, name: str) -> str | None:
        values = self.args.getlist(name)
        return values[-1] if values else None

    def many(self, name: str) -> tuple[str, ...]:
        """A repeatable, comma-separated query parameter."""
        return tuple(v for value in self.args.getlist(name) for v in value.split(",") if v)


Response = tuple[int, Any, dict[str, str]]
Handler = Callable[["Api", Request], Response]


_LOG_GUARD = threading.Lock()


def _log_line(line: str) -> None:
    """One write per access-log line, so lines of concurrent requests never run together."""
    with _LOG_GUARD:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _lock_timeout() -> float:
    import os

    try:
        return float(os.environ.get("SUPPORTCTL_LOCK_TIMEOUT", "10"))
    except ValueError:
        return 10.0


def _ticket_response(
    service: LocalService, ticket: Any, status: int = 200, **headers: str
) -> Response:
    body = service.ticket_json(ticket)
    if service.actor.fedramp:  # FedRAMP users act, but never read the history back (000)
        body = {k: v for k, v in body.items() if k not in ("messages", "events")}
    return status, body, {"ETag": service.stored_etag(ticket), **headers}


def _changed(flag: bool) -> dict[str, str]:
    return {"Supportctl-Changed": "true" if flag else "false"}


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "off"):
        return value.lower() in ("true", "1", "on")
    raise UsageError(f"{name!r} must be true or false")


def _str_field(doc: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = doc.get(name)
    if value is None:
        if required:
            raise UsageError(f"missing field {name!r}")
        return None
    if not isinstance(value, str):
        raise UsageError(f"field {name!r} must be a string")
    return value


class Api:
    """Routes, authentication, idempotency; one ``LocalService`` per request."""

    def __init__(
        self,
        store_path: Path | str,
        *,
        log: Callable[[str], None] | None = None,
        config_path: Path | str | None = None,
        threads: int = 8,
    ):
        self.log = log or _log_line
        self.lock_timeout = _lock_timeout()
        self.store_url = str(store_path) if is_postgres_url(str(store_path)) else None
        self.store_path = Path(store_path).expanduser() if self.store_url is None else None
        # Fails now, not at the first request, if there is no store. Kept for what the
        # server itself reads and writes: tokens (re-read only when they change) and
        # idempotency records; each request's changes go through its own service.
        self.storage: Storage
        if self.store_url is not None:
            from supportctl.storage.postgres import PostgresStore

            # SPEC §12: one pool of connections, as many as requests served at once.
            self.storage = PostgresStore.pooled(self.store_url, size=threads)
        else:
            self.storage = JsonStore(self.store_path)
        from supportctl.config import ConfigFile
        from supportctl.sla import SlaPolicy

        # The server's own config (`serve --config FILE`, else the one every command reads):
        # its SLA targets apply to every client and its triggers route every ticket created
        # through it (profiles and sweep rules there are the clients' business, so only
        # [sla] and [triggers] are read; a bad trigger stops the server from starting).
        config = ConfigFile.load(Path(config_path) if config_path else None, validate=False)
        self.config_path = config.path
        self.sla_policy = SlaPolicy.from_config(config.data, f"config file {config.path}")
        self.triggers = config.triggers()
        self._key_locks: dict[str, threading.Lock] = {}
        self._auth_failures: dict[str, deque[float]] = {}
        self._auth_guard = threading.Lock()
        self._key_guard = threading.Lock()
        # merge_slashes off: "//tickets" is not redirected, it is not an endpoint (404).
        self.routes = Map(
            [
                Rule(
                    API_PREFIX + re.sub(r"\{(\w+)\}", r"<\1>", pattern),
                    methods=[method],
                    endpoint=handler,
                )
                for method, pattern, handler in ROUTES
            ],
            merge_slashes=False,
        )
        self.storage.prune_requests(time.time() - IDEMPOTENCY_TTL)

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.monotonic()
        request = Request(environ)
        try:
            try:
                status, body, headers = self._dispatch(request)
            except HTTPException as exc:  # werkzeug's: no route, wrong method, body too large
                raise self._http_error(request, exc) from None
        except SupportctlError as exc:
            status, body, headers = self._problem(exc)
        except Exception as exc:  # a bug: log it, answer 500 without details
            traceback.print_exc(file=sys.stderr)
            status, body, headers = self._problem(
                SupportctlError(f"internal error: {type(exc).__name__}")
            )
        if request.user:  # who acted: clients need no GET /me
            headers = {**headers, "Supportctl-User": request.user}
        payload, ctype = self._encode(body, headers.pop("Content-Type", None), status)
        header_list = [("Content-Type", ctype), ("Content-Length", str(len(payload)))]
        header_list += [(k, v) for k, v in headers.items()]
        start_response(f"{status} {STATUS_TEXT.get(status, 'Unknown')}", header_list)
        self._access_log(environ, request, status, len(payload), started)
        # HEAD: the GET's headers (Content-Length included), never its body (RFC 9110 §9.3.2)
        return [b""] if request.method == "HEAD" else [payload]

    def _dispatch(self, request: Request) -> Response:
        request.body  # noqa: B018 -- read now: over the limit is 413 before authentication
        handler, request.params = self.routes.bind_to_environ(request.environ).match()
        if handler in PUBLIC:  # load balancers ask without a token
            return handler(self, request)
        request.user = self._authenticate(request)
        if request.method == "POST" and "Idempotency-Key" in request.headers:
            return self._idempotent(request, handler)
        return handler(self, request)

    @staticmethod
    def _http_error(request: Request, exc: HTTPException) -> HttpError:
        """werkzeug's HTTP exceptions as the API's errors, with the CLI's wording."""
        if isinstance(exc, NotFound):
            hint = (
                ""
                if request.path.startswith(API_PREFIX + "/")
                else f"; the API is under {API_PREFIX}"
            )
            return HttpError(404, f"no such endpoint {request.path}{hint}", ExitStatus.NOT_FOUND)
        if isinstance(exc, MethodNotAllowed):
            allowed = ", ".join(sorted(set(exc.valid_methods or ()) - {"HEAD"}))
            return HttpError(
                405,
                f"{request.method} is not allowed here; use {allowed}",
                headers={"Allow": allowed},
            )
        if exc.code == 413:
            return HttpError(413, f"the request body is over {MAX_BODY_BYTES:,} bytes")
        return HttpError(exc.code or 400, exc.description or exc.name)

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed(
                "authentication required: send Authorization: Bearer TOKEN",
                hint="create a token with `supportctl store token create USER` on the server",
            )
        self._refuse_if_guessing(request.remote)
        try:
            user = admin.authenticate(self.storage, token.strip())
        except AuthenticationFailed:
            self._failed(request.remote)
            raise
        if user is None:
            self._failed(request.remote)
            raise AuthenticationFailed("invalid or revoked token")
        return user

    def _recent_failures(self, address: str, moment: float) -> deque[float]:
        failures = self._auth_failures.setdefault(address, deque())
        while failures and failures[0] <= moment - AUTH_WINDOW:
            failures.popleft()
        return failures

    def _refuse_if_guessing(self, address: str) -> None:
        """After AUTH_FAILURES failed authentications in AUTH_WINDOW seconds from one
        address, 429 with Retry-After until the oldest of them is a minute old."""
        moment = time.monotonic()
        with self._auth_guard:
            failures = self._recent_failures(address, moment)
            if len(failures) < AUTH_FAILURES:
                return
            wait = max(1, math.ceil(failures[0] + AUTH_WINDOW - moment))
        raise HttpError(
            429,
            f"too many failed authentications from {address}; try again in {wait} s",
            ExitStatus.PERMISSION,
            headers={"Retry-After": str(wait)},
        )

    def _failed(self, address: str) -> None:
        moment = time.monotonic()
        with self._auth_guard:
            failures = self._recent_failures(address, moment)
            failures.append(moment)
            count = len(failures)
        self.log(f"{address} authentication failed ({count} in the last {AUTH_WINDOW} s)")

    @property
    def location(self) -> str:
        """The store as it may be shown (a URL without its password)."""
        return self.storage.location

    def open_store(self) -> Storage:
        """A store handle for one request (its own pending idempotency record)."""
        if self.store_path is None:
            return self.storage.session()  # type: ignore[attr-defined]
        return JsonStore(self.store_path, lock_timeout=self.lock_timeout)

    def close(self) -> None:
        """Release the store's connections (a PostgreSQL pool)."""
        closing = getattr(self.storage, "close_pool", None)
        if closing is not None:
            closing()

    def service(self, request: Request) -> LocalService:
        store = self.open_store()
        if request.commit_key is not None:
            # The change this POST makes commits with a record of it, so that a retry after
            # a crash between the two is answered, not applied again.
            key, fingerprint, endpoint = request.commit_key
            store.record_with_next_change(
                key,
                lambda ticket: {
                    "stored": time.time(),
                    "fingerprint": fingerprint,
                    "committed": {"endpoint": endpoint, "ticket": ticket.id},
                },
            )
        return LocalService(store, request.user, sla_policy=self.sla_policy, triggers=self.triggers)

    # -- idempotency (SPEC §7: POST retried only with an Idempotency-Key) ---------------------
    def _idempotent(self, request: Request, handler: Handler) -> Response:
        raw = f"{request.user}\0{request.headers['Idempotency-Key']}".encode()
        key = hashlib.sha256(raw).hexdigest()
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\0" + request.body
        ).hexdigest()
        with self._key_guard:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # the same key twice at once: the second waits and replays the first
            for _ in range(2):
                saved = self.storage.get_request(key)
                if saved and time.time() - saved["stored"] < IDEMPOTENCY_TTL:
                    return self._replay(request, saved, fingerprint)
                if handler.__name__ in COMMITTING_POSTS:
                    request.commit_key = (key, fingerprint, handler.__name__)
                try:
                    status, body, headers = handler(self, request)
                except RequestRecorded:
                    # Another server made this request's change meanwhile (the client's
                    # retry raced its first try); nothing was changed here: answer from
                    # the record it committed.
                    request.commit_key = None
                    continue
                except SupportctlError as exc:
                    status, body, headers = self._problem(exc)
                if status < 500:
                    payload, ctype = self._encode(body, headers.get("Content-Type"), status)
                    record = {
                        "stored": time.time(),
                        "fingerprint": fingerprint,
                        "status": status,
                        "headers": {**headers, "Content-Type": ctype},
                        "body": base64.b64encode(payload).decode(),
                    }
                    # The whole answer, before the client hears of it.
                    self.storage.put_request(key, record)
                    return status, payload, {**headers, "Content-Type": ctype}
                return status, body, headers
        raise Unavailable("this request is being served by another server; try again")

    def _replay(self, request: Request, saved: dict[str, Any], fingerprint: str) -> Response:
        """The answer kept for a request's Idempotency-Key, again."""
        if saved["fingerprint"] != fingerprint:
            raise HttpError(422, "this Idempotency-Key was already used for a different request")
        if "committed" in saved:  # the change was made; its answer was not kept
            status, body, headers = self._answer_again(request, saved["committed"])
        else:
            status, body = saved["status"], base64.b64decode(saved["body"])
            headers = dict(saved["headers"])
        return status, body, {**headers, "Idempotent-Replayed": "true"}

    def _answer_again(self, request: Request, committed: dict[str, Any]) -> Response:
        """The answer of a POST whose change was committed (with its record) but whose
        answer was lost with the process: built again from the ticket as it is now."""
        request.commit_key = None
        service = self.service(request)
        ticket = service.changed_ticket(committed["ticket"])
        endpoint = committed["endpoint"]
        if endpoint in ("create_escalation", "advance_escalation"):
            esc = service.get_escalation(ticket.escalation_id)
            headers = {"Ticket-Status": ticket.status}
            if endpoint == "create_escalation":
                headers["Location"] = f"{API_PREFIX}/escalations/{esc.id}"
                return 201, esc.to_dict(), headers
            return 200, esc.to_dict(), headers
        if endpoint == "create_ticket":
            location = f"{API_PREFIX}/tickets/{ticket.id}"
            return _ticket_response(service, ticket, 201, Location=location)
        if endpoint == "post_message":
            return _ticket_response(service, ticket, 201)
        if endpoint == "merge_ticket":
            from supportctl.api import MergeResult

            target = service.changed_ticket(ticket.duplicate_of or ticket.id)
            return _merge_response(service, MergeResult(ticket, target))
        return _ticket_response(service, ticket, 200, **_changed(True))

    # -- encoding -----------------------------------------------------------------------------
    @staticmethod
    def _problem(exc: SupportctlError) -> Response:
        status = getattr(exc, "status", None) or http_status(exc)
        body = {
            "type": f"https://supportctl.dev/problems/{status}",
            "title": STATUS_TEXT.get(status, "Error"),
            "status": status,
            "detail": exc.message,
            "exit_code": int(exc.exit_status),
        }
        if exc.hint:
            body["hint"] = exc.hint
        headers = {"Content-Type": "application/problem+json"}
        headers.update(getattr(exc, "headers", None) or {})
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="supportctl"'
        return status, body, headers

    @staticmethod
    def _encode(body: Any, ctype: str | None, status: int) -> tuple[bytes, str]:
        if isinstance(body, bytes):
            return body, ctype or "application/octet-stream"
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return data, ctype or "application/json"

    def _access_log(
        self,
        environ: dict[str, Any],
        request: Request,
        status: int,
        size: int,
        started: float,
    ) -> None:
        """One line per request; the query string is kept, the Authorization header never."""
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING")
        target = quote(path) + (f"?{query}" if query else "")
        user = request.user or "-"
        elapsed = (time.monotonic() - started) * 1000
        self.log(
            f'{environ.get("REMOTE_ADDR", "-")} {user} "{environ.get("REQUEST_METHOD", "-")} '
            f'{target}" {status} {size} {elapsed:.1f}ms'
        )


# -- handlers -----------------------------------------------------------------------------------


def get_health(api: Api, request: Request) -> Response:
    """200 `{"status": "ok"}` when the store answers (it opens and its users read), else
    503 problem+json (raised as Unavailable)."""
    store = api.open_store()
    ping = getattr(store, "ping", None)
    if ping is not None:
        ping()  # the database answers
    else:
        store.list_users()
    return 200, {"status": "ok"}, {"Cache-Control": "no-store"}


def get_me(api: Api, request: Request) -> Response:
    return 200, api.service(request).actor.to_dict(), {}


def _query(request: Request) -> TicketQuery:
    def when(name: str) -> Any:
        value = request.one(name)
        if value is None:
            return None
        try:
            return parse_ts(value)
        except ValueError:
            raise UsageError(f"invalid {name} {value!r}: use an RFC 3339 time") from None

    idle = request.one("idle")
    try:
        idle_delta = timedelta(seconds=float(idle)) if idle is not None else None
    except (ValueError, OverflowError):
        raise UsageError(f"invalid idle {idle!r}: use seconds") from None
    if idle_delta is not None and idle_delta < timedelta(0):
        raise UsageError("idle must not be negative")
    return TicketQuery(
        scope=request.one("scope") or "mine",
        org=request.one("org"),
        statuses=request.many("status"),
        types=request.many("type"),
        categories=request.many("category"),
        priorities=request.many("priority"),
        resolutions=request.many("resolution"),
        groups=tuple(request.args.getlist("group")),
        assignee=request.one("assignee"),
        requester=request.one("requester"),
        tags=tuple(request.args.getlist("tag")),
        since=when("since"),
        until=when("until"),
        idle=idle_delta,
        search=request.one("search"),
        sort=request.one("sort") or "created",
        sla=request.one("sla"),
        asc=(request.one("asc") or "false").lower() in ("true", "1"),
        limit=0,
    )


def _page(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.one("limit") or DEFAULT_PAGE)
    except ValueError:
        raise UsageError("limit must be a whole number") from None
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"limit must be from 1 to {MAX_PAGE}")
    cursor = request.one("cursor")
    offset = 0
    if cursor:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])
        except (ValueError, KeyError, TypeError):
            raise UsageError("invalid cursor") from None
    return limit, offset


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def list_tickets(api: Api, request: Request) -> Response:
    limit, offset = _page(request)
    with_thread = "messages" in (request.one("fields") or "").split(",")
    service = api.service(request)
    # only the rows up to this page's end are fetched and kept (the total counts them all)
    result = service.list_tickets(replace(_query(request), limit=max(offset, 0) + limit))
    page = result.tickets[offset : offset + limit]
    if with_thread:
        page = service.with_threads(page)
    end = offset + limit
    return (
        200,
        {
            "items": page,
            "next_cursor": _cursor(end) if end < result.total else None,
            "total": result.total,
            "viewer": service.actor.to_dict(),  # what GET /me says, without a round trip
        },
        {},
    )


def get_ticket(api: Api, request: Request) -> Response:
    service = api.service(request)
    return _ticket_response(service, service.get_visible_ticket(request.params["id"]))


def get_ticket_view(api: Api, request: Request) -> Response:
    service = api.service(request)
    view = service.show_ticket(request.params["id"])
    return (
        200,
        {
            "ticket": view.ticket.to_dict(),
            "proxy_access": [e.to_dict() for e in view.proxy_access],
            "escalation": view.escalation.to_dict() if view.escalation else None,
            "users": {name: user.to_dict() for name, user in view.users.items()},
            "sla": view.sla,
            "history": view.history,  # agents: the requester's other tickets; else null
        },
        {},
    )


def create_ticket(api: Api, request: Request) -> Response:
    fields, files = request.fields()
    unknown = sorted(set(fields) - {"subject", "body", "type", "category", "priority", "cc"})
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)}")
    service = api.service(request)
    cc = fields.get("cc") or []
    if isinstance(cc, str):
        cc = [c for c in cc.split(",") if c]
    ticket = service.create_ticket(
        subject=_str_field(fields, "subject", required=True) or "",
        body=_str_field(fields, "body", required=True) or "",
        type_=_str_field(fields, "type") or "web",
        category=_str_field(fields, "category") or "general",
        priority=_str_field(fields, "priority") or "normal",
        cc=cc,
        attachments=files,
    )
    return _ticket_response(service, ticket, 201, Location=f"{API_PREFIX}/tickets/{ticket.id}")


def patch_ticket(api: Api, request: Request) -> Response:
    doc = request.document()
    fields = ("status", "priority", "assignee", "group", "tags", "subject", "category", "cc")
    unknown = sorted(set(doc) - set(fields))
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)}; PATCH takes {', '.join(fields)}")
    lists = {}
    for name in ("tags", "cc"):
        value = doc.get(name)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(t, str) for t in value)
        ):
            raise UsageError(f"{name!r} must be a list of strings (the full new list)")
        lists[name] = tuple(value) if value is not None else None
    assignee = doc.get("assignee", ...)
    changes = TicketChanges(
        status=_str_field(doc, "status"),
        priority=_str_field(doc, "priority"),
        assignee=None if assignee is ... else ("none" if assignee is None else str(assignee)),
        group=None if "group" not in doc else (_str_field(doc, "group") or ""),
        tags=lists["tags"],
        subject=_str_field(doc, "subject"),
        category=_str_field(doc, "category"),
        cc=lists["cc"],
    )
    service = api.service(request)
    ticket, added = service.update(
        request.params["id"], changes, if_match=request.headers.get("If-Match")
    )
    return _ticket_response(service, ticket, 200, **_changed(bool(added)))


def post_message(api: Api, request: Request) -> Response:
    fields, files = request.fields()
    service = api.service(request)
    internal = _bool(fields.get("internal", False), "internal")
    ticket = service.reply(
        request.params["id"],
        _str_field(fields, "body", required=True) or "",
        internal=internal,
        attachments=files,
    )
    return _ticket_response(service, ticket, 201)


def close_ticket(api: Api, request: Request) -> Response:
    doc = request.document()
    service = api.service(request)
    ticket, changed = service.close(
        request.params["id"],
        reason=_str_field(doc, "reason"),
        comment=_str_field(doc, "comment"),
        with_escalation=_bool(doc.get("with_escalation", False), "with_escalation"),
    )
    return _ticket_response(service, ticket, 200, **_changed(changed))


def _merge_response(service: LocalService, result: Any) -> Response:
    """`{ticket, target}`: the duplicate (the ETag is its) and the ticket it went into."""
    status, body, headers = _ticket_response(
        service, result.ticket, 200, **_changed(result.changed)
    )
    _, target, _ = _ticket_response(service, result.target)
    return status, {"ticket": body, "target": target}, headers


def merge_ticket(api: Api, request: Request) -> Response:
    """SPEC §16: close the ticket as a duplicate of `into`, both in one atomic change."""
    doc = request.document()
    unknown = sorted(set(doc) - {"into"})
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)}; merge takes into")
    service = api.service(request)
    result = service.merge(request.params["id"], _str_field(doc, "into", required=True) or "")
    return _merge_response(service, result)


def post_feedback(api: Api, request: Request) -> Response:
    doc = request.document()
    rating = doc.get("rating")
    service = api.service(request)
    ticket, changed = service.feedback(request.params["id"], rating, _str_field(doc, "comment"))  # type: ignore[arg-type]
    return _ticket_response(service, ticket, 200, **_changed(changed))


def get_proxy(api: Api, request: Request) -> Response:
    entries = api.service(request).proxy_access(request.params["id"])
    return 200, [e.to_dict() for e in entries], {}


def put_proxy(api: Api, request: Request) -> Response:
    doc = request.document()
    if "effective" not in doc:
        raise UsageError("missing field 'effective' (true or false)")
    service = api.service(request)
    entry, changed = service.set_proxy_access(
        request.params["id"], _bool(doc["effective"], "effective")
    )
    return 200, entry.to_dict(), _changed(changed)


def get_attachment(api: Api, request: Request) -> Response:
    service = api.service(request)
    meta, data, count = service.attachment(request.params["id"], request.params["name"])
    return (
        200,
        data,
        {
            "Content-Type": meta.content_type,
            "Attachment-Count": str(count),
            "Attachment-Name": quote(meta.name),
        },
    )


def list_escalations(api: Api, request: Request) -> Response:
    stages = request.many("stage")
    found = api.service(request).list_escalations(
        scope=request.one("scope") or "mine", stages=stages
    )
    return (
        200,
        {"items": [e.to_dict() for e in found], "next_cursor": None, "total": len(found)},
        {},
    )


def get_escalation(api: Api, request: Request) -> Response:
    return 200, api.service(request).get_escalation(request.params["id"]).to_dict(), {}


def create_escalation(api: Api, request: Request) -> Response:
    doc = request.document()
    service = api.service(request)
    ticket, esc = service.create_escalation(
        request.params["id"],
        _str_field(doc, "description", required=True) or "",
        _str_field(doc, "expected"),
    )
    return (
        201,
        esc.to_dict(),
        {"Location": f"{API_PREFIX}/escalations/{esc.id}", "Ticket-Status": ticket.status},
    )


def advance_escalation(api: Api, request: Request) -> Response:
    doc = request.document()
    service = api.service(request)
    ticket, esc = service.advance_escalation(
        request.params["id"],
        _str_field(doc, "to", required=True) or "",
        _str_field(doc, "expected"),
    )
    return 200, esc.to_dict(), {"Ticket-Status": ticket.status}


def post_sweep(api: Api, request: Request) -> Response:
    doc = request.document()
    rules = doc.get("rules")
    if not isinstance(rules, list) or not rules:
        raise UsageError("'rules' must be a non-empty list of sweep rules")
    outcomes = api.service(request).sweep(
        [sweep_rule_from_dict(r) for r in rules],
        dry_run=_bool(doc.get("dry_run", False), "dry_run"),
    )
    return 200, [o.to_dict() for o in outcomes], {}


def list_triggers(api: Api, request: Request) -> Response:
    """The server's triggers, in the order they run (agents)."""
    triggers = api.service(request).triggers()
    return 200, {"items": [t.to_dict() for t in triggers]}, {}


def try_triggers(api: Api, request: Request) -> Response:
    """Which of the server's triggers would fire on the ticket now; writes nothing."""
    outcome = api.service(request).test_triggers(request.params["id"])
    return 200, outcome.to_dict(), {}


def run_triggers(api: Api, request: Request) -> Response:
    """The server's triggers applied to the ticket now, in one change (agents)."""
    outcome = api.service(request).run_triggers(request.params["id"])
    return 200, outcome.to_dict(), _changed(outcome.applied)


def get_report(api: Api, request: Request) -> Response:
    query = _query(request)
    report = api.service(request).report(
        since=query.since,
        until=query.until,
        scope=query.scope,
        org=query.org,
        by=request.one("by") or "priority",
    )
    return 200, report, {}


def get_org(api: Api, request: Request) -> Response:
    org_id = request.params["id"]
    service = api.service(request)
    return 200, service.org_view(None if org_id == "@me" else org_id).to_dict(), {}


# -- account pages (SPEC §14) -------------------------------------------------------------------


def _org_param(request: Request) -> str | None:
    org_id = request.params["id"]
    return None if org_id == "@me" else org_id


def get_me_profile(api: Api, request: Request) -> Response:
    return 200, api.service(request).me().to_dict(), {}


def put_me_support_access(api: Api, request: Request) -> Response:
    doc = request.document()
    if "support_access" not in doc:
        raise UsageError("missing field 'support_access' (true or false)")
    user, changed = api.service(request).set_support_access(
        _bool(doc["support_access"], "support_access")
    )
    return 200, user.to_dict(), _changed(changed)


def get_billing(api: Api, request: Request) -> Response:
    return 200, api.service(request).billing(_org_param(request)).to_dict(), {}


def put_billing_contact(api: Api, request: Request) -> Response:
    doc = request.document()
    view, changed = api.service(request).set_billing_contact(
        request.params["kind"],
        _str_field(doc, "name", required=True) or "",
        _str_field(doc, "email", required=True) or "",
        _org_param(request),
    )
    return 200, view.to_dict(), _changed(changed)


def confirm_billing(api: Api, request: Request) -> Response:
    return 200, api.service(request).confirm_billing(_org_param(request)).to_dict(), {}


#: Endpoints answered without a token.
PUBLIC = frozenset({get_health})

#: POSTs that make one ticket change, committed together with their idempotency record.
COMMITTING_POSTS = frozenset(
    {
        "create_ticket",
        "post_message",
        "close_ticket",
        "post_feedback",
        "create_escalation",
        "advance_escalation",
        "merge_ticket",
    }
)

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/health", get_health),
    ("GET", "/me", get_me),
    ("GET", "/me/profile", get_me_profile),
    ("PUT", "/me/support-access", put_me_support_access),
    ("GET", "/tickets", list_tickets),
    ("POST", "/tickets", create_ticket),
    ("GET", "/tickets/{id}", get_ticket),
    ("PATCH", "/tickets/{id}", patch_ticket),
    ("GET", "/tickets/{id}/view", get_ticket_view),
    ("POST", "/tickets/{id}/messages", post_message),
    ("POST", "/tickets/{id}/close", close_ticket),
    ("POST", "/tickets/{id}/feedback", post_feedback),
    ("POST", "/tickets/{id}/merge", merge_ticket),
    ("GET", "/tickets/{id}/proxy-access", get_proxy),
    ("PUT", "/tickets/{id}/proxy-access", put_proxy),
    ("GET", "/tickets/{id}/attachments/{name}", get_attachment),
    ("POST", "/tickets/{id}/escalations", create_escalation),
    ("GET", "/escalations", list_escalations),
    ("GET", "/escalations/{id}", get_escalation),
    ("POST", "/escalations/{id}/advance", advance_escalation),
    ("GET", "/orgs/{id}", get_org),
    ("GET", "/orgs/{id}/billing", get_billing),
    ("PUT", "/orgs/{id}/billing/{kind}", put_billing_contact),
    ("POST", "/orgs/{id}/billing/confirm", confirm_billing),
    ("POST", "/sweep", post_sweep),
    ("GET", "/report", get_report),
    ("GET", "/triggers", list_triggers),
    ("GET", "/tickets/{id}/triggers", try_triggers),
    ("POST", "/tickets/{id}/triggers/run", run_triggers),
]


def create_app(store_path: Path | str, **kwargs: Any) -> Api:
    """The WSGI application for a store; host it under any WSGI server."""
    return Api(store_path, **kwargs)
