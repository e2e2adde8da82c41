"""The PostgreSQL store (SPEC §12): the ``Storage`` interface over one database, plain SQL.

Selected by a ``postgresql://`` (or ``postgres://``) store URL; psycopg 3 is imported only
here, so the json backend and ``--help`` never load it.  Layout (``SCHEMA`` is its version,
kept in ``schema_version``; ``MIGRATIONS`` are the steps that build it, and an older schema
is brought up to date by running the missing steps in one transaction, a newer one is
refused with exit 6 and never touched)::

    schema_version   one row per applied step
    store_meta       key → jsonb (the demo mark)
    counters         next ticket number, next escalation number (row locks: no id twice)
    orgs, users      one document each (users also by org and role)
    tickets          the document and its listing row, and the columns a listing filters,
                     sorts and searches on, indexed (text, text[], the numeric id, the
                     casefolded subject, bodies and notes): ``list_page`` answers a whole
                     listing in one statement
    escalations      one document each, by ticket

Documents are ``json``, not ``jsonb``: jsonb reorders object keys, and the order of a
document's fields (an org's contacts, a ticket's proxy overrides, an event's details) is
part of what every command prints, identical on every backend. What SQL filters and sorts
on lives in plain indexed columns instead.
    blobs            attachment bytes (bytea) by SHA-256
    tokens           API tokens (hashes only)
    idempotency      the record of a POST by its key, written in the transaction of its change

Concurrency: every change is one transaction that locks the rows it reads (``SELECT … FOR
UPDATE``), so no update is lost and a killed process leaves nothing half-written.  A
serialization failure or deadlock is retried a few times before exit 6.  Store-wide
administration (import, demo, tokens) holds a transaction-scoped advisory lock.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Json

from supportctl.errors import NotFound, PermissionDenied, Unavailable, UsageError
from supportctl.models import AttachmentBlob, Escalation, Org, Ticket, User, id_sort_key
from supportctl.storage.base import (
    IDEMPOTENCY_TTL,
    CheckReport,
    DuplicateDocuments,
    ListPage,
    ListRequest,
    Prefilter,
    RequestRecorded,
    Storage,
    TicketFilter,
    TokenRecord,
)
from supportctl.storage.pgurl import host_and_database, is_postgres_url, redact

FIRST_TICKET_ID = 1001
FIRST_ESCALATION_NUMBER = 1001
CONNECT_TIMEOUT = 5  # seconds (SPEC §12)

#: Every connection a command opened: closed at exit, each with libpq's goodbye, so the
#: server logs no "unexpected EOF" even when the process skips its teardown (entry.leave).
_OPEN: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()


@atexit.register
def _close_connections() -> None:
    for conn in list(_OPEN):
        with contextlib.suppress(Exception):
            conn.close()


#: Seconds `GET /health` waits for the database, at most: a load balancer hears 503 well
#: within its own timeout when the database is down or does not answer.
HEALTH_TIMEOUT = 3.0
RETRIES = 5  # attempts of a transaction that hit a serialization failure or a deadlock
_ADMIN_LOCK = 0x5C7_0001  # pg_advisory_xact_lock key of store-wide administration

#: The columns a listing filters on, from a ticket's summary (indexed).
_COLUMNS = (
    "status",
    "priority",
    "type",
    "category",
    "org",
    "requester",
    "assignee",
    "group",
    "created_at",
    "updated_at",
)
_TABLES = (
    "idempotency",
    "tokens",
    "blobs",
    "escalations",
    "tickets",
    "users",
    "orgs",
    "counters",
    "store_meta",
    "schema_version",
)

#: One step of a migration: SQL statements and functions of the migration's cursor, in order.
Step = list["str | Callable[[psycopg.Cursor], None]"]

# The schema's history: step N brings it from version N-1 to N (step 1 creates it). A store
# at an older version runs the steps it lacks, in order, in ONE transaction with their
# version rows, under the store-wide advisory lock: another process opening the store at
# the same moment waits and finds it migrated; a step that fails rolls every step back and
# leaves the store at its old version, as the supportctl that wrote it knows it. Steps
# must therefore be transactional (no CREATE INDEX CONCURRENTLY, no VACUUM). Never edit a
# released step: add the next one.
MIGRATIONS: dict[int, Step] = {
    1: [
        "CREATE TABLE schema_version (version integer PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE store_meta (key text PRIMARY KEY, value jsonb NOT NULL)",
        "CREATE TABLE counters (name text PRIMARY KEY, next bigint NOT NULL)",
        f"INSERT INTO counters VALUES ('ticket', {FIRST_TICKET_ID}), "
        f"('escalation', {FIRST_ESCALATION_NUMBER})",
        "CREATE TABLE orgs (id text PRIMARY KEY, doc json NOT NULL)",
        "CREATE TABLE users (username text PRIMARY KEY, org text NOT NULL, "
        "role text NOT NULL, doc json NOT NULL)",
        "CREATE TABLE tickets ("
        " id text PRIMARY KEY,"
        " num bigint,"  # the numeric id (NULL for others): numeric order
        " doc json NOT NULL,"
        " summary json NOT NULL,"  # the listing row with its SLA marks, keys in order
        " status text NOT NULL, priority text NOT NULL, type text NOT NULL,"
        " category text NOT NULL, org text NOT NULL, requester text NOT NULL,"
        ' assignee text, "group" text, cc text[] NOT NULL, tags text[] NOT NULL,'
        " created_at text NOT NULL, updated_at text NOT NULL)",
        "CREATE INDEX tickets_status ON tickets (status, created_at)",
        "CREATE INDEX tickets_priority ON tickets (priority)",
        "CREATE INDEX tickets_type ON tickets (type)",
        "CREATE INDEX tickets_category ON tickets (category)",
        "CREATE INDEX tickets_org ON tickets (org, created_at)",
        "CREATE INDEX tickets_requester ON tickets (requester)",
        "CREATE INDEX tickets_assignee ON tickets (assignee)",
        'CREATE INDEX tickets_group ON tickets ("group")',
        "CREATE INDEX tickets_cc ON tickets USING gin (cc)",
        "CREATE INDEX tickets_created ON tickets (created_at)",
        "CREATE INDEX tickets_updated ON tickets (updated_at)",
        "CREATE INDEX tickets_num ON tickets (num)",
        "CREATE TABLE escalations (id text PRIMARY KEY, ticket_id text NOT NULL, "
        "num bigint, doc json NOT NULL)",
        "CREATE INDEX escalations_ticket ON escalations (ticket_id)",
        "CREATE TABLE blobs (sha256 text PRIMARY KEY, data bytea NOT NULL)",
        "CREATE TABLE tokens (id text PRIMARY KEY, username text NOT NULL, "
        "sha256 text NOT NULL, created_at text NOT NULL, expires_at text, "
        "position bigserial)",
        "CREATE TABLE idempotency (key text PRIMARY KEY, record json NOT NULL, "
        "stored double precision NOT NULL)",
        "CREATE INDEX idempotency_stored ON idempotency (stored)",
    ],
    # Listings sorted, limited and searched in SQL exactly as the service does in Python:
    # times compared as strings (COLLATE "C": code point order, whatever the database's
    # locale), the id's numeric value, and the casefolded text `--search` looks in
    # (filled by _fill_listing_columns).
    2: [
        "ALTER TABLE tickets ADD COLUMN idkey numeric, ADD COLUMN search_subject text,"
        " ADD COLUMN search_public text, ADD COLUMN search_notes text",
        "DROP INDEX tickets_status, tickets_org, tickets_created, tickets_updated",
        'CREATE INDEX tickets_status_c ON tickets (status, created_at COLLATE "C")',
        'CREATE INDEX tickets_org_c ON tickets (org, created_at COLLATE "C")',
        'CREATE INDEX tickets_created_c ON tickets (created_at COLLATE "C")',
        'CREATE INDEX tickets_updated_c ON tickets (updated_at COLLATE "C")',
        lambda cur: _fill_listing_columns(cur),
    ],
}
#: Indexes `--search` uses when pg_trgm is available (``_try_trigram``).
_TRIGRAM_INDEXES = {
    "tickets_search_subject": "search_subject",
    "tickets_search_public": "search_public",
    "tickets_search_notes": "search_notes",
}
#: Between the message bodies of a search column: a needle without it cannot match across
#: two bodies (a needle with it is searched in Python).
_BODY_SEPARATOR = "\x1f"
#: From this many tickets, an import into an empty store drops and rebuilds the indexes.
_BULK = 1000

#: The schema version this supportctl writes.
SCHEMA = max(MIGRATIONS)


def latest_schema() -> int:
    """The newest version the steps reach (``SCHEMA``, read when asked, so a test can add a
    step), after checking that the steps are numbered 1, 2, … without a gap."""
    latest = max(MIGRATIONS)
    if sorted(MIGRATIONS) != list(range(1, latest + 1)):
        raise AssertionError(f"migration steps out of order: {sorted(MIGRATIONS)}")
    return latest


def _num(ticket_id: str) -> int | None:
    return int(ticket_id) if ticket_id.isdigit() and len(ticket_id) < 19 else None


class PostgresStore(Storage):
    """A store in a PostgreSQL database (``postgresql://…``)."""

    def __init__(self, url: str, *, pool: Any = None, _checked: bool = False) -> None:
        self.url = url
        self.location = redact(url)
        self._pool = pool
        self._conn: psycopg.Connection | None = None  # own connection (no pool)
        self._local = threading.local()  # the connection pinned by this thread, if any
        self._depth = 0
        self._record_next: tuple[str, Callable[[Ticket], dict[str, Any]]] | None = None
        self._guard = threading.Lock()
        self._health = _Probe()  # the health check in flight (shared by a pool's sessions)
        if not _checked:
            self._check_schema()

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Any, *, create: bool = False, checking: bool = False) -> PostgresStore:
        url = _url_of(settings)
        if create:
            return cls.create(url)
        return cls(url)

    @classmethod
    def exists_for(cls, settings: Any) -> bool:
        probe = cls(_url_of(settings), _checked=True)
        try:
            return probe._version() is not None
        finally:
            probe.close()

    @classmethod
    def create(cls, url: str) -> PostgresStore:
        """The store at ``url``, its schema created (or migrated) if need be."""
        store = cls(url, _checked=True)
        store._check_schema(create=True)
        return store

    @classmethod
    def pooled(cls, url: str, *, size: int) -> PostgresStore:
        """A store for a server: a pool of up to ``size`` connections, shared by the
        ``session()`` of every request.

        The database is first reached on a connection of its own, as a command reaches it:
        one that does not answer fails in the 5 s connect timeout (exit 6, naming host and
        database), a missing or newer schema is refused and an older one migrated, before
        the pool opens. A request then waits for a connection of the pool at most the
        connect timeout too (503 when the database went away)."""
        from psycopg_pool import ConnectionPool

        cls(url).close()
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(size, 1),
            kwargs=_connect_kwargs(url),
            timeout=CONNECT_TIMEOUT,
            check=ConnectionPool.check_connection,
            open=False,
            name="supportctl",
        )
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            pool.close()
            raise _unavailable(url, exc) from None
        return cls(url, pool=pool, _checked=True)

    def session(self) -> PostgresStore:
        """Another handle on the same pool (one per request: its own pending record)."""
        store = PostgresStore(self.url, pool=self._pool, _checked=True)
        store._health = self._health
        return store

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def close_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()

    # -- connections and transactions ---------------------------------------------------------
    @property
    def _pinned(self) -> psycopg.Connection | None:
        """The connection of the transaction this thread is inside (``transaction()``, or a
        change under way: what it reads meanwhile, e.g. a trigger's `least-busy` count,
        goes through the change's own connection, never a second one from the pool, which
        a server busy with such changes would wait for in vain). Per thread: a server's
        threads share the store that keeps its idempotency records."""
        return getattr(self._local, "conn", None)

    @_pinned.setter
    def _pinned(self, conn: psycopg.Connection | None) -> None:
        self._local.conn = conn

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.url, **_connect_kwargs(self.url))
        except psycopg.Error as exc:
            raise _unavailable(self.url, exc) from None
        _OPEN.add(conn)
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if self._pinned is not None:
            yield self._pinned
            return
        if self._pool is not None:
            from psycopg_pool import PoolTimeout

            try:
                with self._pool.connection() as conn:
                    yield conn
            except PoolTimeout as exc:
                raise _unavailable(self.url, exc) from None
            return
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        yield self._conn

    def _run(self, work: Callable[[psycopg.Cursor], Any], *, admin: bool = False) -> Any:
        """Run ``work`` in one transaction; retried on serialization failures and deadlocks
        (a bounded number of times, then exit 6). Inside ``transaction()`` it joins it."""
        if self._pinned is not None:
            with self._pinned.transaction(), self._pinned.cursor() as cur:
                return work(cur)
        delay = 0.01
        for attempt in range(RETRIES):
            try:
                with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
                    if admin:
                        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
                    self._pinned = conn
                    try:
                        return work(cur)
                    finally:
                        self._pinned = None
            except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected):
                if attempt == RETRIES - 1:
                    raise Unavailable(
                        f"the database at {self.location} kept reporting conflicting "
                        f"transactions ({RETRIES} attempts); try again"
                    ) from None
                time.sleep(delay * (1 + random.random()))
                delay *= 2
            except pg_errors.UntranslatableCharacter:
                raise UsageError("a document holds a NUL character; nothing written") from None
            except pg_errors.ReadOnlySqlTransaction as exc:
                raise self._read_only(exc) from None
            except psycopg.OperationalError as exc:
                self._forget_connection()
                raise _unavailable(self.url, exc) from None
            except psycopg.errors.InsufficientPrivilege as exc:
                raise self._refused(exc) from None
        raise AssertionError("unreachable")

    def _read(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Rows of one query (outside a transaction block: autocommit)."""
        if self._pinned is not None:
            with self._pinned.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        try:
            with self._connection() as conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        except psycopg.OperationalError as exc:
            self._forget_connection()
            raise _unavailable(self.url, exc) from None
        except psycopg.errors.UndefinedTable:
            raise self._no_store() from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise self._refused(exc) from None

    def _refused(self, exc: BaseException) -> PermissionDenied:
        """The database's role may not do this (its grants, not supportctl's rules)."""
        return PermissionDenied(f"the database at {self.location} refused: {_first_line(exc)}")

    def _forget_connection(self) -> None:
        if self._conn is not None and self._pool is None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return self._transaction()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """The calls inside run in one transaction holding the store-wide admin lock."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._connection() as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
                    self._pinned, self._depth = conn, 1
                    try:
                        yield
                    finally:
                        self._pinned, self._depth = None, 0
            except pg_errors.ReadOnlySqlTransaction as exc:
                raise self._read_only(exc) from None
            except psycopg.OperationalError as exc:
                self._forget_connection()
                raise _unavailable(self.url, exc) from None

    def _read_only(self, exc: BaseException) -> Unavailable:
        """A database that takes no writes (a standby after a failover, or
        default_transaction_read_only): exit 6 (503 from a server), nothing written."""
        return Unavailable(
            f"the database at {self.location} is read-only ({_first_line(exc)}); nothing written",
            hint="point the store URL at the primary server (a standby takes no writes)",
        )

    # -- schema -------------------------------------------------------------------------------
    def _version(self) -> int | None:
        try:
            with self._connection() as conn:
                row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
                if not row or not row[0]:
                    return None
                got = conn.execute("SELECT max(version) FROM schema_version").fetchone()
                return int(got[0]) if got and got[0] is not None else 0
        except psycopg.OperationalError as exc:
            self._forget_connection()
            raise _unavailable(self.url, exc) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise self._refused(exc) from None

    def _no_store(self) -> Unavailable:
        return Unavailable(
            f"no store at {self.location} (the database has no supportctl schema)",
            hint="create one with `supportctl store init` (or `store init --demo`), "
            "or point --store at an existing one",
        )

    def _check_schema(self, *, create: bool = False) -> None:
        """Refuse a newer schema (untouched) and no schema (unless ``create``); bring an older
        one (or none, with ``create``) up to date."""
        version = self._version()
        latest = latest_schema()
        if version is None and not create:
            raise self._no_store()
        if version is not None and version > latest:
            raise self._newer(version)
        if version != latest:
            self._migrate(create=create)

    def _migrate(self, *, create: bool) -> None:
        """Run the steps the schema lacks, in one transaction (see ``MIGRATIONS``)."""
        latest = latest_schema()
        found: list[int] = []

        def work(cur: psycopg.Cursor) -> None:
            # Under the advisory lock: whoever waited for it reads the version again, from
            # pg_class with this statement's snapshot (to_regclass may answer from a
            # catalog cache older than the lock, and miss a schema made meanwhile).
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'schema_version' "
                "AND relnamespace = current_schema()::regnamespace)"
            )
            current = 0
            if cur.fetchone()[0]:
                cur.execute("SELECT coalesce(max(version), 0) FROM schema_version")
                current = int(cur.fetchone()[0])
            elif not create:
                raise self._no_store()
            found.append(current)
            if current > latest:
                raise self._newer(current)
            for version in range(current + 1, latest + 1):
                for action in MIGRATIONS[version]:
                    if callable(action):
                        action(cur)
                    else:
                        cur.execute(action)
                cur.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
            if current < 2:
                self._try_trigram(cur)

        try:
            self._run(work, admin=True)
        except psycopg.Error as exc:  # a step failed: everything rolled back
            start = found[-1] if found else 0
            doing = (
                f"create the schema of the store at {self.location}"
                if start == 0
                else f"migrate the store at {self.location} from schema version {start} to {latest}"
            )
            left = "nothing was created" if start == 0 else f"it is still at version {start}"
            raise Unavailable(
                f"could not {doing}: {_first_line(exc)}; {left}",
                hint="the database was left as it was; fix the cause and run "
                "`supportctl store init` again",
            ) from None

    def _try_trigram(self, cur: psycopg.Cursor) -> None:
        """Trigram indexes for `--search` (subjects and message bodies, casefolded), when
        pg_trgm can be had; without them the same search is a plain scan."""
        cur.execute("DROP INDEX IF EXISTS tickets_subject_trgm")  # schema 1's, on lower()
        cur.execute("SAVEPOINT trgm")
        try:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for name, column in _TRIGRAM_INDEXES.items():
                cur.execute(f"CREATE INDEX {name} ON tickets USING gin ({column} gin_trgm_ops)")
            cur.execute("RELEASE SAVEPOINT trgm")
        except psycopg.Error:
            cur.execute("ROLLBACK TO SAVEPOINT trgm")

    def _newer(self, version: int) -> Unavailable:
        return Unavailable(
            f"the store at {self.location} has schema version {version}, newer than this "
            f"supportctl understands ({latest_schema()}); upgrade supportctl",
            hint="the database was left as it was",
        )

    # -- Storage: directory --------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        rows = self._read("SELECT doc FROM users WHERE username = %s", (username,))
        return User.from_dict(rows[0][0], validate=False) if rows else None

    def list_users(self) -> list[User]:
        rows = self._read("SELECT doc FROM users ORDER BY username")
        return [User.from_dict(r[0], validate=False) for r in rows]

    def get_org(self, org_id: str) -> Org | None:
        rows = self._read("SELECT doc FROM orgs WHERE id = %s", (org_id,))
        return Org.from_dict(rows[0][0], validate=False) if rows else None

    def list_orgs(self) -> list[Org]:
        rows = self._read("SELECT doc FROM orgs ORDER BY id")
        return [Org.from_dict(r[0], validate=False) for r in rows]

    def update_user(self, username: str, change: Callable[[User], User | None]) -> User:
        """Apply ``change`` to the user under its row lock (None: nothing changed)."""
        return self._update_row(
            "SELECT doc FROM users WHERE username = %s FOR UPDATE",
            "UPDATE users SET org = %s, role = %s, doc = %s WHERE username = %s",
            lambda u: (u.org, u.role, Json(u.to_dict()), username),
            f"user {username}",
            username,
            User,
            change,
        )

    def update_org(self, org_id: str, change: Callable[[Org], Org | None]) -> Org:
        """Apply ``change`` to the org under its row lock (None: nothing changed)."""
        return self._update_row(
            "SELECT doc FROM orgs WHERE id = %s FOR UPDATE",
            "UPDATE orgs SET doc = %s WHERE id = %s",
            lambda o: (Json(o.to_dict()), org_id),
            f"org {org_id}",
            org_id,
            Org,
            change,
        )

    def _update_row(
        self,
        select: str,
        update: str,
        values: Callable[[Any], tuple[Any, ...]],
        what: str,
        key: str,
        cls: Any,
        change: Callable[[Any], Any],
    ) -> Any:
        """One user or org document, changed on a copy under its row lock."""

        def work(cur: psycopg.Cursor) -> Any:
            cur.execute(select, (key,))
            row = cur.fetchone()
            if row is None:
                raise NotFound(f"{what} not found")
            current = cls.from_dict(row[0], validate=False)
            changed = change(cls.from_dict(current.to_dict(), validate=False))
            if changed is None:
                return current
            cur.execute(update, values(changed))
            return changed

        return self._run(work)

    def _agents(self, cur: psycopg.Cursor) -> set[str]:
        cur.execute("SELECT username FROM users WHERE role = 'agent'")
        return {r[0] for r in cur.fetchall()}

    # -- Storage: tickets ----------------------------------------------------------------------
    def get_ticket(self, ticket_id: str) -> Ticket | None:
        if not isinstance(ticket_id, str):
            return None
        rows = self._read("SELECT doc FROM tickets WHERE id = %s", (ticket_id,))
        return Ticket.from_dict(rows[0][0], validate=False) if rows else None

    def ticket_summaries(self, prefilter: Prefilter | None = None) -> Iterator[dict[str, Any]]:
        where, params = _where(prefilter)
        rows = self._read(f"SELECT summary FROM tickets{where}", params)
        return (r[0] for r in rows)

    def list_page(self, request: ListRequest) -> ListPage | None:
        """The listing in one statement: filtered, sorted and limited on indexed columns,
        with the count of every match (only when the page is full: else it is the page)."""
        where = _filter_sql(request.where)
        if where is None:
            return None
        clause, params = where
        order = _order_sql(request.sort, request.asc)
        if not request.limit:
            rows = self._read(f"SELECT summary FROM tickets{clause} ORDER BY {order}", params)
            return ListPage(rows=[r[0] for r in rows], total=len(rows))
        rows = self._read(
            f"SELECT summary, (SELECT count(*) FROM tickets{clause}) FROM tickets{clause} "
            f"ORDER BY {order} LIMIT %s",
            [*params, *params, request.limit],
        )
        return ListPage(rows=[r[0] for r in rows], total=rows[0][1] if rows else 0)

    def _lock_ticket(self, cur: psycopg.Cursor, ticket_id: str) -> Ticket:
        cur.execute("SELECT doc FROM tickets WHERE id = %s FOR UPDATE", (ticket_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return Ticket.from_dict(row[0], validate=False)

    def _write_ticket(self, cur: psycopg.Cursor, ticket: Ticket, *, new: bool) -> None:
        values = _ticket_values(ticket, self._agents(cur))
        if new:
            cur.execute(_INSERT_TICKET, values)
        else:
            cur.execute(_UPDATE_TICKET, (*values[1:], values[0]))

    def update_ticket(self, ticket_id: str, change: Callable[[Ticket], Ticket | None]) -> Ticket:
        record = self._take_record()

        def work(cur: psycopg.Cursor) -> Ticket:
            current = self._lock_ticket(cur, ticket_id)
            changed = change(current)
            if changed is None:
                return current
            self._write_ticket(cur, changed, new=False)
            self._put_record(cur, record, changed)
            return changed

        return self._run(work)

    def update_pair(
        self,
        ticket_id: str,
        other_id: str,
        change: Callable[[Ticket, Ticket], tuple[Ticket, Ticket] | None],
    ) -> tuple[Ticket, Ticket]:
        """Two tickets in one transaction, their rows locked in one order (ids ascending,
        numerically), so merges of overlapping pairs never deadlock; the request's record
        (with the first ticket) commits with them."""
        record = self._take_record()

        def work(cur: psycopg.Cursor) -> tuple[Ticket, Ticket]:
            locked = {
                key: self._lock_ticket(cur, key)
                for key in sorted({ticket_id, other_id}, key=id_sort_key)
            }
            first, second = locked[ticket_id], locked[other_id]
            result = change(first, second)
            if result is None:
                return first, second
            for ticket in result:
                self._write_ticket(cur, ticket, new=False)
            self._put_record(cur, record, result[0])
            return result[0], result[1]

        return self._run(work)

    def create_ticket(self, make: Callable[[str], Ticket]) -> Ticket:
        record = self._take_record()

        def work(cur: psycopg.Cursor) -> Ticket:
            number = self._next(cur, "ticket", "SELECT 1 FROM tickets WHERE id = %s", "{}")
            ticket = make(str(number))
            self._write_ticket(cur, ticket, new=True)
            self._put_record(cur, record, ticket)
            return ticket

        return self._run(work)

    def _next(self, cur: psycopg.Cursor, name: str, taken: str, form: str) -> int:
        """The next free number of a counter (its row stays locked until commit)."""
        cur.execute("SELECT next FROM counters WHERE name = %s FOR UPDATE", (name,))
        number = int(cur.fetchone()[0])
        while True:
            cur.execute(taken, (form.format(number),))
            if cur.fetchone() is None:
                break
            number += 1
        cur.execute("UPDATE counters SET next = %s WHERE name = %s", (number + 1, name))
        return number

    def update_with_escalation(
        self,
        ticket_id: str,
        change: Callable[[Ticket, Callable[[], str]], tuple[Ticket, Escalation | None] | None],
    ) -> tuple[Ticket, Escalation | None]:
        record = self._take_record()

        def work(cur: psycopg.Cursor) -> tuple[Ticket, Escalation | None]:
            current = self._lock_ticket(cur, ticket_id)
            if current.escalation_id:
                cur.execute(
                    "SELECT 1 FROM escalations WHERE id = %s FOR UPDATE", (current.escalation_id,)
                )

            def allocate() -> str:
                number = self._next(
                    cur, "escalation", "SELECT 1 FROM escalations WHERE id = %s", "CP-{}"
                )
                return f"CP-{number}"

            result = change(current, allocate)
            if result is None:
                return current, None
            ticket, escalation = result
            self._write_ticket(cur, ticket, new=False)
            if escalation is not None:
                cur.execute(
                    "INSERT INTO escalations (id, ticket_id, num, doc) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET ticket_id = excluded.ticket_id, "
                    "doc = excluded.doc",
                    (
                        escalation.id,
                        escalation.ticket_id,
                        _num(escalation.id.removeprefix("CP-")),
                        Json(escalation.to_dict()),
                    ),
                )
            self._put_record(cur, record, ticket)
            return ticket, escalation

        return self._run(work)

    # -- Storage: attachment bytes ------------------------------------------------------------
    def put_blob(self, sha256: str, data: bytes) -> None:
        self._run(
            lambda cur: cur.execute(
                "INSERT INTO blobs (sha256, data) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (sha256, data),
            )
        )

    def get_blob(self, sha256: str) -> bytes | None:
        rows = self._read("SELECT data FROM blobs WHERE sha256 = %s", (sha256,))
        return bytes(rows[0][0]) if rows else None

    # -- Storage: escalations ------------------------------------------------------------------
    def get_escalation(self, escalation_id: str) -> Escalation | None:
        if not isinstance(escalation_id, str):
            return None
        rows = self._read("SELECT doc FROM escalations WHERE id = %s", (escalation_id,))
        return Escalation.from_dict(rows[0][0], validate=False) if rows else None

    def list_escalations(self) -> list[Escalation]:
        rows = self._read("SELECT doc FROM escalations ORDER BY id")
        return [Escalation.from_dict(r[0], validate=False) for r in rows]

    # -- Storage: whole store -----------------------------------------------------------------
    def import_documents(self, docs: list[tuple[str, Any]]) -> dict[str, int]:
        """All or nothing, in one transaction; tickets arrive by COPY. A bulk load into an
        empty store builds the tickets' secondary indexes once, after the rows are in, and
        then vacuums and analyzes the table (so the first listings read indexes only)."""
        tickets = sum(1 for kind, _ in docs if kind == "ticket")
        counts = self._run(lambda cur: self._import(cur, docs, tickets), admin=True)
        if tickets >= _BULK and self._pinned is None:
            with contextlib.suppress(psycopg.Error), self._connection() as conn:
                conn.execute("VACUUM (ANALYZE) tickets")  # autocommit: outside a transaction
        return counts

    def _import(self, cur: psycopg.Cursor, docs: list[tuple[str, Any]], tickets: int) -> Any:
        rebuild: list[str] = []
        if tickets >= _BULK:
            cur.execute("SELECT NOT EXISTS (SELECT 1 FROM tickets)")
            if cur.fetchone()[0]:
                rebuild = self._drop_secondary_indexes(cur)
        counts = self._import_rows(cur, docs)
        if rebuild:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in rebuild:
                cur.execute(statement)
            cur.execute("ANALYZE tickets")
        return counts

    @staticmethod
    def _drop_secondary_indexes(cur: psycopg.Cursor) -> list[str]:
        """Drop the tickets table's indexes but its key; the statements that recreate them.
        (DROP INDEX locks the table until commit: only done on an empty store.)"""
        cur.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'tickets'::regclass AND NOT x.indisprimary ORDER BY i.relname"
        )
        found = cur.fetchall()
        for name, _ in found:
            cur.execute(f'DROP INDEX "{name}"')
        return [definition for _, definition in found]

    def _import_rows(self, cur: psycopg.Cursor, docs: list[tuple[str, Any]]) -> dict[str, int]:
        cur.execute("SELECT name FROM counters FOR UPDATE")
        duplicates = self._duplicates(cur, docs)
        if duplicates:
            raise DuplicateDocuments(duplicates)
        counts = {"org": 0, "user": 0, "ticket": 0, "escalation": 0, "attachment": 0}
        by_kind: dict[str, list[Any]] = {kind: [] for kind in counts}
        for kind, doc in docs:
            counts[kind] += 1
            by_kind[kind].append(doc)
        if by_kind["org"]:
            cur.executemany(
                "INSERT INTO orgs (id, doc) VALUES (%s, %s)",
                [(o.id, Json(o.to_dict())) for o in by_kind["org"]],
            )
        if by_kind["user"]:
            cur.executemany(
                "INSERT INTO users (username, org, role, doc) VALUES (%s, %s, %s, %s)",
                [(u.username, u.org, u.role, Json(u.to_dict())) for u in by_kind["user"]],
            )
        if by_kind["attachment"]:
            cur.executemany(
                "INSERT INTO blobs (sha256, data) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [(b.sha256, b.data) for b in by_kind["attachment"]],
            )
        if by_kind["ticket"]:
            agents = self._agents(cur)
            with cur.copy(_COPY_TICKETS) as copy:
                for ticket in by_kind["ticket"]:
                    copy.write_row(_ticket_values(ticket, agents, text=True))
        if by_kind["escalation"]:
            with cur.copy("COPY escalations (id, ticket_id, num, doc) FROM STDIN") as copy:
                for esc in by_kind["escalation"]:
                    copy.write_row(
                        (
                            esc.id,
                            esc.ticket_id,
                            _num(esc.id.removeprefix("CP-")),
                            _dumps(esc.to_dict()),
                        )
                    )
        tickets = [n for t in by_kind["ticket"] if (n := _num(t.id)) is not None]
        escalations = [
            n for e in by_kind["escalation"] if (n := _num(e.id.removeprefix("CP-"))) is not None
        ]
        for name, numbers in (("ticket", tickets), ("escalation", escalations)):
            if numbers:
                cur.execute(
                    "UPDATE counters SET next = greatest(next, %s) WHERE name = %s",
                    (max(numbers) + 1, name),
                )
        return counts

    def _duplicates(self, cur: psycopg.Cursor, docs: list[tuple[str, Any]]) -> list[int]:
        """Positions of documents whose id exists already (in the store or earlier in docs)."""
        ids: dict[str, list[str]] = {"ticket": [], "escalation": [], "user": [], "org": []}
        for kind, doc in docs:
            if kind != "attachment":
                ids[kind].append(doc.username if kind == "user" else doc.id)
        seen: dict[str, set[str]] = {}
        for kind, table, column in (
            ("ticket", "tickets", "id"),
            ("escalation", "escalations", "id"),
            ("user", "users", "username"),
            ("org", "orgs", "id"),
        ):
            seen[kind] = set()
            if ids[kind]:
                cur.execute(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)", (ids[kind],))
                seen[kind] = {r[0] for r in cur.fetchall()}
        bad = []
        for position, (kind, doc) in enumerate(docs):
            if kind == "attachment":
                continue
            key = doc.username if kind == "user" else doc.id
            if key in seen[kind]:
                bad.append(position)
            seen[kind].add(key)
        return bad

    def export_documents(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for org in self.list_orgs():
            yield "org", org.to_dict()
        for user in self.list_users():
            yield "user", user.to_dict()
        ids = [r[0] for r in self._read("SELECT id FROM tickets")]
        ids.sort(key=id_sort_key)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = dict(self._read("SELECT id, doc FROM tickets WHERE id = ANY(%s)", (chunk,)))
            for ticket_id in chunk:
                if ticket_id in rows:
                    yield "ticket", Ticket.from_dict(rows[ticket_id], validate=False).to_dict()
        for esc in self.list_escalations():
            yield "escalation", esc.to_dict()
        for (digest,) in self._read("SELECT sha256 FROM blobs ORDER BY sha256"):
            data = self.get_blob(digest)
            if data is not None:
                yield "attachment", AttachmentBlob(digest, data).to_dict()

    def check(self, *, repair: bool = False) -> CheckReport:
        """Every document parses and its derived columns agree with it; the counters are past
        every id. ``repair`` rewrites the derived columns and the counters."""
        report = CheckReport()

        def work(cur: psycopg.Cursor) -> None:
            users, orgs = set(), set()
            for table, key, cls, into in (
                ("orgs", "id", Org, orgs),
                ("users", "username", User, users),
            ):
                cur.execute(f"SELECT {key}, doc FROM {table}")
                for name, doc in cur.fetchall():
                    try:
                        cls.from_dict(doc)
                    except (ValueError, TypeError, KeyError) as exc:
                        report.problems.append(f"{table} {name}: invalid document: {exc}")
                    into.add(name)
            agents = self._agents(cur)
            cur.execute("SELECT id FROM escalations")
            escalations = {r[0] for r in cur.fetchall()}
            cur.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets")
            stale = []
            count = 0
            for stored in cur:
                ticket_id, doc, summary = stored[0], stored[2], stored[3]
                count += 1
                try:
                    ticket = Ticket.from_dict(doc)
                except (ValueError, TypeError, KeyError) as exc:
                    report.problems.append(f"ticket {ticket_id}: invalid document: {exc}")
                    continue
                if ticket.id != ticket_id:
                    report.problems.append(f"ticket {ticket_id}: holds ticket {ticket.id}")
                if ticket.requester not in users:
                    report.problems.append(
                        f"ticket {ticket_id}: requester {ticket.requester!r} is not a user"
                    )
                if ticket.org not in orgs:
                    report.problems.append(f"ticket {ticket_id}: org {ticket.org!r} is not an org")
                if ticket.escalation_id and ticket.escalation_id not in escalations:
                    report.problems.append(
                        f"ticket {ticket_id}: escalation {ticket.escalation_id} does not exist"
                    )
                derived = _ticket_values(ticket, agents, text=True)
                if summary != _row(ticket, agents) or _columns(stored) != _columns(derived):
                    stale.append(ticket)
            if stale:
                if repair:
                    for ticket in stale:
                        self._write_ticket(cur, ticket, new=False)
                    report.repaired.append(f"rebuilt the listing rows of {len(stale)} ticket(s)")
                else:
                    report.problems.append(
                        f"{len(stale)} ticket(s) with a stale listing row "
                        "(repairable: store check --repair)"
                    )
            cur.execute("SELECT max(num) FROM tickets")
            top_ticket = cur.fetchone()[0]
            cur.execute("SELECT max(num) FROM escalations")
            top_escalation = cur.fetchone()[0]
            for name, top in (("ticket", top_ticket), ("escalation", top_escalation)):
                cur.execute("SELECT next FROM counters WHERE name = %s", (name,))
                row = cur.fetchone()
                if row is not None and (top is None or row[0] > top):
                    continue
                value = (top or 0) + 1
                if repair:
                    cur.execute(
                        "INSERT INTO counters VALUES (%s, %s) ON CONFLICT (name) "
                        "DO UPDATE SET next = excluded.next",
                        (name, value),
                    )
                    report.repaired.append(f"set the {name} counter to {value}")
                else:
                    report.problems.append(
                        f"the {name} counter is behind the ids in use "
                        "(repairable: store check --repair)"
                    )
            report.info.append(
                f"{count} tickets, {len(escalations)} escalations, {len(users)} users, "
                f"{len(orgs)} orgs"
            )

        self._run(work, admin=True)
        return report

    # -- store administration -----------------------------------------------------------------
    def is_empty(self) -> bool:
        rows = self._read(
            "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM orgs) "
            "OR EXISTS (SELECT 1 FROM tickets)"
        )
        return not rows[0][0]

    @property
    def is_demo(self) -> bool:
        rows = self._read("SELECT value FROM store_meta WHERE key = 'demo'")
        return bool(rows and rows[0][0])

    def mark_demo(self) -> None:
        self._run(
            lambda cur: cur.execute(
                "INSERT INTO store_meta VALUES ('demo', 'true') "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
        )

    # -- idempotency records ------------------------------------------------------------------
    def get_request(self, key: str) -> dict[str, Any] | None:
        rows = self._read("SELECT record FROM idempotency WHERE key = %s", (key,))
        return rows[0][0] if rows and isinstance(rows[0][0], dict) else None

    def put_request(self, key: str, record: dict[str, Any]) -> None:
        self._run(lambda cur: self._upsert_request(cur, key, record))

    @staticmethod
    def _upsert_request(cur: psycopg.Cursor, key: str, record: dict[str, Any]) -> None:
        cur.execute(
            "INSERT INTO idempotency (key, record, stored) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET record = excluded.record, stored = excluded.stored",
            (key, Json(record), float(record.get("stored", time.time()))),
        )

    def prune_requests(self, older_than: float) -> None:
        self._run(
            lambda cur: cur.execute("DELETE FROM idempotency WHERE stored < %s", (older_than,))
        )

    def record_with_next_change(self, key: str, make: Callable[[Ticket], dict[str, Any]]) -> None:
        self._record_next = (key, make)

    def _take_record(self) -> tuple[str, Callable[[Ticket], dict[str, Any]]] | None:
        record, self._record_next = self._record_next, None
        return record

    def _put_record(
        self,
        cur: psycopg.Cursor,
        record: tuple[str, Callable[[Ticket], dict[str, Any]]] | None,
        ticket: Ticket,
    ) -> None:
        """The request's record, in the transaction of its change: both or neither. When
        another server committed a live record of the same key meanwhile (the client's
        retry raced its first try), RequestRecorded rolls this change back: applied once."""
        if record is not None:
            key, made = record[0], record[1](ticket)
            stored = float(made.get("stored", time.time()))
            cur.execute(
                "INSERT INTO idempotency (key, record, stored) VALUES (%s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET record = excluded.record, "
                "stored = excluded.stored WHERE idempotency.stored <= %s RETURNING 1",
                (key, Json(made), stored, stored - IDEMPOTENCY_TTL),
            )
            if cur.fetchone() is None:
                raise RequestRecorded(key)

    # -- API tokens ---------------------------------------------------------------------------
    def list_tokens(self) -> list[TokenRecord]:
        rows = self._read(
            "SELECT id, username, sha256, created_at, expires_at FROM tokens ORDER BY position"
        )
        return [TokenRecord(*r) for r in rows]

    def save_tokens(self, records: list[TokenRecord]) -> None:
        def work(cur: psycopg.Cursor) -> None:
            cur.execute("DELETE FROM tokens")
            if records:
                cur.executemany(
                    "INSERT INTO tokens (id, username, sha256, created_at, expires_at) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [(r.id, r.user, r.sha256, r.created_at, r.expires_at) for r in records],
                )

        self._run(work)

    # -- health -------------------------------------------------------------------------------
    def ping(self, timeout: float = HEALTH_TIMEOUT) -> None:
        """Return when the database answers, raise Unavailable when it does not within
        ``timeout`` seconds (`GET /health`, for load balancers).

        The query runs in a thread of its own, so that a database that stopped answering
        on a connection already open (a host gone from the network) cannot hold the
        request: the answer is 503 at the deadline all the same. Checks that arrive while
        one is under way share it; once one has outlived its deadline, later checks answer
        503 at once instead of piling up more threads on the silent database."""
        probe = self._health
        with probe.guard:
            if probe.thread is None or not probe.thread.is_alive():
                probe.start(self._probe, timeout)
            thread, outcome, started = probe.thread, probe.outcome, probe.started
        assert thread is not None
        thread.join(max(0.0, started + timeout - time.monotonic()))
        if thread.is_alive():
            waited = time.monotonic() - started
            raise Unavailable(
                f"the database at {self.location} did not answer a health check in {waited:.1f} s"
            )
        if outcome:
            raise outcome[0]

    def _probe(self, timeout: float) -> None:
        sql = "SELECT 1 FROM schema_version LIMIT 1"
        if self._pool is None:
            self._read(sql)
            return
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection(timeout=timeout) as conn:
                conn.execute(sql)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise _unavailable(self.url, exc) from None
        except psycopg.errors.UndefinedTable:
            raise self._no_store() from None


class _Probe:
    """The health check under way (``PostgresStore.ping``): its thread, when it started and
    what it raised."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.thread: threading.Thread | None = None
        self.started = 0.0
        self.outcome: list[BaseException] = []

    def start(self, check: Callable[[float], None], timeout: float) -> None:
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                check(timeout)
            except BaseException as exc:  # noqa: BLE001 (handed to the waiting request)
                outcome.append(exc)

        self.thread = threading.Thread(target=run, name="supportctl-health", daemon=True)
        self.started, self.outcome = time.monotonic(), outcome
        self.thread.start()


# -- helpers ------------------------------------------------------------------------------------
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _dumps(doc: Any) -> str:
    return _encode(doc)


def _row(ticket: Ticket, agents: set[str]) -> dict[str, Any]:
    from supportctl.sla import marks

    row = ticket.summary()
    row["_sla"] = marks(ticket, agents)
    return row


_TICKET_COLUMNS = (
    "id, num, doc, summary, status, priority, type, category, org, requester, assignee, "
    '"group", cc, tags, created_at, updated_at, idkey, search_subject, search_public, '
    "search_notes"
)
_INSERT_TICKET = (
    f"INSERT INTO tickets ({_TICKET_COLUMNS}) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_UPDATE_TICKET = (
    "UPDATE tickets SET num = %s, doc = %s, summary = %s, status = %s, priority = %s, "
    'type = %s, category = %s, org = %s, requester = %s, assignee = %s, "group" = %s, '
    "cc = %s, tags = %s, created_at = %s, updated_at = %s, idkey = %s, "
    "search_subject = %s, search_public = %s, search_notes = %s WHERE id = %s"
)
_COPY_TICKETS = f"COPY tickets ({_TICKET_COLUMNS}) FROM STDIN"


def _ticket_values(ticket: Ticket, agents: set[str], *, text: bool = False) -> tuple[Any, ...]:
    """The row of a ticket (``text``: JSON as text, for COPY)."""
    row = _row(ticket, agents)
    doc = ticket.to_dict()
    return (
        ticket.id,
        _num(ticket.id),
        _dumps(doc) if text else Json(doc),
        _dumps(row) if text else Json(row),
        ticket.status,
        ticket.priority,
        ticket.type,
        ticket.category,
        ticket.org,
        ticket.requester,
        ticket.assignee,
        ticket.group,
        list(ticket.cc),
        list(ticket.tags),
        ticket.created_at,
        ticket.updated_at,
        *_listing_values(ticket),
    )


def _columns(values: Any) -> tuple[Any, ...]:
    """A ticket row's derived columns but the documents (in ``_TICKET_COLUMNS`` order)."""
    return (values[1], *values[4:])


def _listing_values(ticket: Ticket) -> tuple[Any, ...]:
    """The columns listings sort and search on, as the service's Python would compare:
    the id's numeric value (``id_sort_key``) and the casefolded subject, bodies and notes."""
    idkey = None
    if ticket.id.isdigit():
        with contextlib.suppress(ValueError):
            idkey = int(ticket.id)
    public = [m.body.casefold() for m in ticket.messages if m.kind != "note"]
    notes = [m.body.casefold() for m in ticket.messages if m.kind == "note"]
    return (
        idkey,
        ticket.subject.casefold(),
        _BODY_SEPARATOR.join(public),
        _BODY_SEPARATOR.join(notes),
    )


def _fill_listing_columns(cur: psycopg.Cursor) -> None:
    """Schema 2's columns for the tickets a schema 1 store holds, and every listing column
    rewritten from the document (the summary gained ``duplicate_of`` with schema 2); the
    documents themselves are left as they are."""
    cur.execute("SELECT username FROM users WHERE role = 'agent'")
    agents = {r[0] for r in cur.fetchall()}
    cur.execute("SELECT doc FROM tickets")
    rows = []
    for (doc,) in cur.fetchall():
        ticket_id, num, _doc, *columns = _ticket_values(
            Ticket.from_dict(doc, validate=False), agents
        )
        rows.append((num, *columns, ticket_id))
    cur.executemany(_UPDATE_TICKET.replace("doc = %s, ", ""), rows)


#: The columns a ListRequest's ``equals`` may name (anything else: the service filters).
_EQUALS = {
    name: f'"{name}"'
    for name in ("status", "type", "category", "priority", "org", "requester", "assignee", "group")
}
_EQUALS["resolution"] = "(summary->>'resolution')"  # no column of its own: read from the row
_RANK = {
    "priority": "array_position(ARRAY['low','normal','high','urgent']::text[], priority)",
    # the service's status rank: `new` largest … `closed` smallest
    "status": "array_position(ARRAY['closed','resolved','escalated','pending','open','new']"
    "::text[], status)",
}


def _filter_sql(where: TicketFilter) -> tuple[str, list[Any]] | None:
    """``WHERE …`` for the exact conditions, or None when one has no SQL form here."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, values in where.equals:
        if name not in _EQUALS:
            return None
        column = _EQUALS[name]
        known = sorted(v for v in values if v is not None)
        either = []
        if len(known) == 1:  # `=` (not ANY): an index scan then yields created_at's order
            either.append(f"{column} = %s")
            params.append(known[0])
        elif known:
            either.append(f"{column} = ANY(%s)")
            params.append(known)
        if None in values:
            either.append(f"{column} IS NULL")
        clauses.append("(" + " OR ".join(either) + ")" if either else "FALSE")
    if where.involves is not None:
        clauses.append("(requester = %s OR assignee = %s OR cc @> ARRAY[%s]::text[])")
        params.extend([where.involves] * 3)
    if where.tags:
        clauses.append("tags @> %s::text[]")
        params.append(sorted(where.tags))
    for value, test in (
        (where.created_from, 'created_at COLLATE "C" >= %s'),
        (where.created_to, 'created_at COLLATE "C" <= %s'),
        (where.updated_before, 'updated_at COLLATE "C" < %s'),
    ):
        if value is not None:
            clauses.append(test)
            params.append(value)
    if where.search is not None:
        if _BODY_SEPARATOR in where.search:
            return None
        pattern = "%" + _like_escape(where.search) + "%"
        columns = ["search_subject", "search_public"]
        if where.search_notes:
            columns.append("search_notes")
        clauses.append("(" + " OR ".join(f"{c} LIKE %s" for c in columns) + ")")
        params.extend([pattern] * len(columns))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order_sql(sort: str, asc: bool) -> str:
    """``ORDER BY`` of the service's sort keys: (time or rank, …, id_sort_key(id)), where
    non-numeric ids come before numeric ones and compare as strings."""
    way = "ASC" if asc else "DESC"
    keys = []
    if sort in _RANK:
        keys.append(f"{_RANK[sort]} {way}")
    if sort in ("priority", "status", "created"):
        keys.append(f'created_at COLLATE "C" {way}')
    elif sort == "updated":
        keys.append(f'updated_at COLLATE "C" {way}')
    keys.append(f"idkey {way} NULLS {'FIRST' if asc else 'LAST'}")
    keys.append(f'id COLLATE "C" {way}')
    return ", ".join(keys)


def _where(prefilter: Prefilter | None) -> tuple[str, list[Any]]:
    """SQL conditions for a prefilter's necessary conditions (on indexed columns)."""
    if prefilter is None:
        return "", []
    clauses, params = [], []
    for name, values in sorted(prefilter.fields.items()):
        if name in _COLUMNS:
            clauses.append(f'"{name}" = ANY(%s)')
            params.append(sorted(values))
    if prefilter.involves is not None:
        clauses.append("(requester = %s OR assignee = %s OR cc @> ARRAY[%s]::text[])")
        params.extend([prefilter.involves] * 3)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _url_of(settings: Any) -> str:
    url = getattr(settings, "store_url", None) or str(getattr(settings, "store", ""))
    if not is_postgres_url(url):
        raise UsageError(
            "the postgres backend needs a store URL: --store postgresql://USER@HOST/DATABASE",
            hint="set it with --store, SUPPORTCTL_STORE or `supportctl config set store URL`",
        )
    return url


#: TCP settings of every connection, unless the URL sets them: a database host that vanishes
#: from the network (no reset, no answer) is noticed in seconds, not after the kernel's 15
#: minutes of retransmissions. Idle: probes after 10 s, every 5 s, 3 lost ones end it;
#: data unacknowledged for 30 s ends it (then exit 6, or 503 from a server).
_TCP = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # milliseconds
}


def _connect_kwargs(url: str) -> dict[str, Any]:
    import os

    kwargs: dict[str, Any] = {"autocommit": True}
    if "connect_timeout=" not in url and not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    kwargs["application_name"] = "supportctl"
    kwargs.update({k: v for k, v in _TCP.items() if f"{k}=" not in url})
    return kwargs


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _unavailable(url: str, exc: BaseException) -> Unavailable:
    """Exit 6 naming the host and the database, never the password."""
    host, database = host_and_database(url)
    why = _first_line(exc)
    for secret in _secrets(url):
        why = why.replace(secret, "***")
    return Unavailable(
        f"cannot reach the PostgreSQL database {database!r} on {host}: {why}",
        hint="check that the server is up and the URL, PGPASSWORD, ~/.pgpass or PGSERVICE",
    )


def _secrets(url: str) -> list[str]:
    from urllib.parse import parse_qsl, unquote, urlsplit

    found = []
    with contextlib.suppress(ValueError):
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        found += [v for k, v in parse_qsl(parts.query) if k == "password"]
    return [s for s in found if s]
